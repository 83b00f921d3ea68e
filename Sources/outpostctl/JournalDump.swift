import ArgumentParser
import OutpostControl
import OutpostCore
import OutpostJournal

/// `outpostctl journal dump`: every live record, one line each, in ring order.
struct JournalDump: ParsableCommand {
  /// Names and help.
  static let configuration = CommandConfiguration(
    commandName: "dump",
    abstract: "Print every live record, one per line.",
    discussion: """
      Records come in ring order: append order, except that records the journal moved while \
      reclaiming space come again after newer ones, with their original number and time. \
      Damaged bytes are skipped, never printed. With --json each line is an object:

        {"seq":N,"kind":"test","priority":"alarm","time":{"wall_ms":N,"clock_trusted":false,\
      "boot":N,"since_boot_ms":N},"body":"<hex>","acknowledged":false}

      The journal is opened read-only. Exit status: 0; 1 when reading fails part way; 2 when \
      the file cannot be opened as a journal.
      """
  )

  /// `--file`.
  @OptionGroup var journal: JournalSourceOption

  /// `--json`: one JSON object per record instead of readable lines.
  @Flag(help: "Print one JSON object per line.")
  var json = false

  /// Opens the journal read-only and prints its records.
  func run() throws {
    var file = journal.file
    if file == nil {
      // The agent makes everything durable and checkpoints its acknowledgements, then hands
      // over its journal's path; the records are read from the file as for --file.
      file = try askAgent(ControlRequest(command: "journal-dump"), socket: journal.control).path
    }
    guard let file else { throw ExitCode(1) }
    try reportingFailure { () throws(CommandFailure) in
      let ring = try JournalFile.openForInspection(path: file)
      var output = LineWriter(.output)
      do {
        try ring.forEachRecord { record in
          let acknowledged = ring.isAcknowledged(record.seq)
          output.line(
            json
              ? RecordText.json(record, acknowledged: acknowledged)
              : RecordText.readable(record, acknowledged: acknowledged))
          return true
        }
      } catch {
        output.flush()
        throw CommandFailure(error, path: file)
      }
      output.flush()
    }
  }
}
