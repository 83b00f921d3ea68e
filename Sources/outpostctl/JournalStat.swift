import ArgumentParser
import OutpostControl
import OutpostCore
import OutpostJournal

/// `outpostctl journal stat`: the journal's counts, cursors, capacity, gaps and damage.
struct JournalStat: ParsableCommand {
  /// Names and help, including the JSON keys scripts rely on.
  static let configuration = CommandConfiguration(
    commandName: "stat",
    abstract: "Print the journal's counts, cursors, capacity, gaps and quarantined bytes.",
    discussion: """
      With --json, one object with these keys: path, epoch (hex string), records, \
      records_by_priority {alarm,normal,bulk}, pending, pending_by_priority \
      {alarm,normal,bulk}, oldest_pending_seq (null when nothing is pending), \
      oldest_pending_time, lowest_seq, highest_seq, next_seq, ack_floor, \
      acknowledged_ranges, tail, head, durable_head, capacity_bytes, used_bytes, ring_bytes, \
      file_bytes, gap_records, dropped_unacknowledged, quarantined_bytes, \
      quarantined_regions, relocated_records, recoveries, generation. Cursors are logical \
      byte offsets (position plus laps times the ring size).

      The journal is opened read-only. Exit status: 0; 1 when reading fails part way; 2 when \
      the file cannot be opened as a journal.
      """
  )

  /// `--file`.
  @OptionGroup var journal: JournalSourceOption

  /// `--json`: one JSON object instead of readable lines.
  @Flag(help: "Print one JSON object.")
  var json = false

  /// Opens the journal read-only and prints its statistics.
  func run() throws {
    guard let file = journal.file else {
      let (status, _) = try askAgent(
        ControlRequest(command: "journal-stat", json: json), socket: journal.control)
      if status != 0 { throw ExitCode(status) }
      return
    }
    try reportingFailure { () throws(CommandFailure) in
      let ring = try JournalFile.openForInspection(path: file)
      let statistics: JournalStatistics
      do {
        statistics = try ring.statistics()
      } catch {
        throw CommandFailure(error, path: file)
      }
      StandardStream.output.write(
        (json ? JournalReport.json(statistics) : JournalReport.readable(statistics)) + "\n")
    }
  }
}
