import ArgumentParser
import Logging
import OutpostControl
import OutpostJournal

/// The `--file` option of `journal append`.
struct JournalFileOption: ParsableArguments {
  /// Path of the journal file.
  @Option(help: ArgumentHelp("The journal file.", valueName: "path"))
  var file: String
}

/// Where `journal stat|dump|verify` find the journal: a file (`--file`), or the running
/// agent's (through its control socket) when no file is named.
struct JournalSourceOption: ParsableArguments {
  /// Path of the journal file; nil asks the running agent.
  @Option(
    help: ArgumentHelp(
      "The journal file (default: ask the running agent about its journal).", valueName: "path"))
  var file: String?

  @OptionGroup var control: ControlSocketOption
}

/// Sends a journal command to the running agent and prints its `line` replies; returns the
/// exit status the agent asked for, and the journal's path when it handed one over.
func askAgent(_ request: ControlRequest, socket: ControlSocketOption) throws -> (
  status: Int32, path: String?
) {
  var output = LineWriter(.output)
  var status: Int32 = 0
  var path: String?
  try reportingFailure { () throws(CommandFailure) in
    try ControlClient(path: socket.path).send(request) { reply throws(CommandFailure) in
      switch reply.event {
      case "error": throw CommandFailure(message: reply.message ?? "refused")
      case "line": output.line(reply.text ?? "")
      case "exit": status = reply.code ?? 0
      case "journal": path = reply.text
      default: break
      }
      return true
    }
  }
  output.flush()
  return (status, path)
}

/// Why a command stopped: a message for the operator and the exit status that tells scripts
/// what kind of trouble it was.
struct CommandFailure: Error {
  /// One or more lines for standard error, without the `outpostctl:` prefix.
  var message: String
  /// The process exit status.
  var status: Int32

  /// Exit status when the file cannot be opened as a journal at all (not a journal, a newer
  /// format, a size mismatch, missing or unreadable).
  static let cannotOpen: Int32 = 2

  /// A failure for `error`, which happened on the journal at `path`. Journal messages already
  /// say what to do; the path is added where they do not name it.
  init(_ error: any Error, path: String, status: Int32 = 1) {
    let text = "\(error)"
    message = text.contains(path) ? text : "\(path): \(text)"
    self.status = status
  }

  /// A failure with a message of its own.
  init(message: String, status: Int32 = 1) {
    self.message = message
    self.status = status
  }
}

/// Opening journals the way the inspection commands need them.
enum JournalFile {
  /// The journal's own log lines (recovery notices, quarantined damage) go to standard error,
  /// warnings and worse only: standard output belongs to the command's result.
  static let logger: Logger = {
    var logger = Logger(label: "outpostctl.journal") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    return logger
  }()

  /// Opens the journal at `path` read-only: recovery runs in memory and nothing is written, so
  /// inspecting the journal of a running agent never disturbs it.
  ///
  /// - Throws: ``CommandFailure`` with status ``CommandFailure/cannotOpen`` when the file is
  ///   missing, unreadable, not a journal, of a newer format or of the wrong size.
  static func openForInspection(path: String) throws(CommandFailure) -> RingJournal {
    do {
      return try RingJournal.open(
        storage: FileStorage(path: path, readOnly: true), path: path, readOnly: true,
        logger: logger)
    } catch {
      throw CommandFailure(error, path: path, status: CommandFailure.cannotOpen)
    }
  }
}

/// Runs a command's work and returns its result, or turns a ``CommandFailure`` into a message
/// on standard error and the failure's exit status.
@discardableResult
func reportingFailure<Result>(_ work: () throws(CommandFailure) -> Result) throws -> Result {
  do {
    return try work()
  } catch {
    StandardStream.error.write("outpostctl: \(error.message)\n")
    throw ExitCode(error.status)
  }
}
