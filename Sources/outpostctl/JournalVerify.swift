import ArgumentParser
import OutpostControl
import OutpostJournal

/// `outpostctl journal verify`: checks every frame of the live region.
struct JournalVerify: ParsableCommand {
  /// Names, help and exit statuses.
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check every record of the journal; exit 0 only when it is clean.",
    discussion: """
      Prints a one-line summary, then on failure one line per damaged region, duplicate \
      sequence number and undecodable body. Damaged regions are logical byte ranges of the \
      ring (position plus laps times the ring size).

      The journal is opened read-only. Exit status: 0 when clean; 1 when damage was found or \
      reading failed; 2 when the file cannot be opened as a journal (not a journal, a newer \
      format, a size mismatch, missing or unreadable).
      """
  )

  /// `--file`.
  @OptionGroup var journal: JournalSourceOption

  /// Opens the journal read-only, verifies it and reports.
  func run() throws {
    guard let path = journal.file else {
      let (status, _) = try askAgent(
        ControlRequest(command: "journal-verify"), socket: journal.control)
      if status != 0 { throw ExitCode(status) }
      return
    }
    let report = try reportingFailure { () throws(CommandFailure) in
      let ring = try JournalFile.openForInspection(path: path)
      do {
        return try ring.verify()
      } catch {
        throw CommandFailure(error, path: path)
      }
    }
    var output = LineWriter(.output)
    for line in JournalReport.verifyLines(report, path: path) {
      output.line(line)
    }
    output.flush()
    if !report.isClean { throw ExitCode(1) }
  }
}
