import ArgumentParser
import OutpostControl
import OutpostCore

/// `--wait` and `--timeout` of the trigger commands, and printing how far the record got.
struct ProgressOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Wait until the record is delivered (stored at the station) or acknowledged (by an officer).",
      valueName: "delivered|acknowledged"))
  var wait: String?

  @Option(help: ArgumentHelp("Longest wait, in seconds.", valueName: "seconds"))
  var timeout = 60

  @Flag(help: "Print one JSON object per step instead of readable lines.")
  var json = false

  func validate() throws {
    if let wait, wait != "delivered", wait != "acknowledged" {
      throw ValidationError("--wait must be delivered or acknowledged")
    }
    guard (0...86_400).contains(timeout) else {
      throw ValidationError("--timeout must be from 0 to 86400 seconds")
    }
  }
}

/// Sends a trigger and prints each step: `recorded`, then, with --wait, `delivered` and
/// `acknowledged`. Exit status: 0 when the record got as far as asked; 1 when the agent refused
/// or the journal failed; 3 when the agent could not be reached; 4 when --wait timed out (the
/// record is still recorded, and the box keeps sending it).
func runTrigger(_ request: ControlRequest, socket: ControlSocketOption, options: ProgressOptions)
  throws
{
  var request = request
  request.wait = options.wait
  request.timeoutMs = options.timeout * 1000
  var status: Int32 = 0
  var output = LineWriter(.output)
  try reportingFailure { () throws(CommandFailure) in
    try ControlClient(path: socket.path).send(request) { reply throws(CommandFailure) in
      switch reply.event {
      case "error":
        throw CommandFailure(message: reply.message ?? "the agent refused the request")
      case "timeout":
        output.line(options.json ? reply.line() : "timeout: \(reply.message ?? "")")
        status = 4
        return false
      default:
        output.line(options.json ? reply.line() : readable(reply))
        output.flush()
        return true
      }
    }
  }
  output.flush()
  if status != 0 { throw ExitCode(status) }
}

/// `recorded: sos seq 42, incident 42, 1 press`.
private func readable(_ reply: ControlReply) -> String {
  var line = "\(reply.event): \(reply.kind ?? "record")"
  if let seq = reply.seq { line += " seq \(seq)" }
  if let incident = reply.incident { line += ", incident \(incident)" }
  if let presses = reply.presses { line += ", \(presses) press\(presses == 1 ? "" : "es")" }
  if reply.event == "joined" { line += " (joined the open incident; counted into its next record)" }
  if let officer = reply.text { line += ", by \(officer)" }
  if let note = reply.message { line += ": \(note)" }
  return line
}

/// `outpostctl sos`.
struct SOSCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sos",
    abstract: "Call for help, exactly as the help button does.",
    discussion: """
      Prints "recorded: sos seq N, incident I, P presses" once the SOS is durable in the \
      journal (fsynced), or "joined: …" when it joined the incident already open; with --wait, \
      a line for each further step. Exit status: 0; 1 refused or journal failure; 3 agent \
      not reachable; 4 --wait timed out.
      """)
  @OptionGroup var socket: ControlSocketOption
  @OptionGroup var progress: ProgressOptions

  func run() throws {
    try runTrigger(ControlRequest(command: "sos"), socket: socket, options: progress)
  }
}

/// `outpostctl checkin`.
struct CheckInCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "checkin",
    abstract: "Record a check-in: the household's, or a person's with --who.")
  @Option(help: ArgumentHelp("The card or person id checking in.", valueName: "id"))
  var who: String?
  @OptionGroup var socket: ControlSocketOption
  @OptionGroup var progress: ProgressOptions

  func run() throws {
    try runTrigger(ControlRequest(command: "checkin", who: who), socket: socket, options: progress)
  }
}

/// `outpostctl cancel`.
struct CancelCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cancel",
    abstract: "Cancel the last SOS (recorded as its own record).")
  @OptionGroup var socket: ControlSocketOption
  @OptionGroup var progress: ProgressOptions

  func run() throws {
    try runTrigger(ControlRequest(command: "cancel"), socket: socket, options: progress)
  }
}

/// `outpostctl report CATEGORY`.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Report a sighting.",
    discussion: "CATEGORY is one of: "
      + ReportCategory.allCases.map(\.description).joined(separator: ", ") + ".")
  @Argument(help: "The sighting's category.")
  var category: String
  @OptionGroup var socket: ControlSocketOption
  @OptionGroup var progress: ProgressOptions

  func validate() throws {
    guard ReportCategory(name: category) != nil else {
      throw ValidationError(
        "unknown category \"\(category)\"; valid: "
          + ReportCategory.allCases.map(\.description).joined(separator: ", "))
    }
  }

  func run() throws {
    try runTrigger(
      ControlRequest(command: "report", category: category), socket: socket, options: progress)
  }
}

/// `outpostctl status`.
struct StatusCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show the agent's journal counts, pending records, link and last alarm.",
    discussion: """
      With --json, one object with keys device, status_line, pending, oldest_pending_seq, \
      oldest_pending_age_s, link, clock_trusted, position, last_alarm, last_recorded, sources, \
      journal (as `journal stat --json`). last_alarm.progress is recorded, delivered, \
      acknowledged or cancelled. Exit status: 0; 3 when the agent cannot be reached.
      """)
  @OptionGroup var socket: ControlSocketOption
  @Flag(help: "Print one JSON object.")
  var json = false

  func run() throws {
    var output = LineWriter(.output)
    try reportingFailure { () throws(CommandFailure) in
      try ControlClient(path: socket.path).send(ControlRequest(command: "status", json: json)) {
        reply throws(CommandFailure) in
        if reply.event == "error" { throw CommandFailure(message: reply.message ?? "refused") }
        if reply.event == "status", let status = reply.status { output.line(status) }
        if reply.event == "line", let text = reply.text { output.line(text) }
        return true
      }
    }
    output.flush()
  }
}
