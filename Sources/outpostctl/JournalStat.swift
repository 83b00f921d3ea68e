import ArgumentParser
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
  @OptionGroup var journal: JournalFileOption

  /// `--json`: one JSON object instead of readable lines.
  @Flag(help: "Print one JSON object.")
  var json = false

  /// Opens the journal read-only and prints its statistics.
  func run() throws {
    try reportingFailure { () throws(CommandFailure) in
      let ring = try JournalFile.openForInspection(path: journal.file)
      let statistics: JournalStatistics
      do {
        statistics = try ring.statistics()
      } catch {
        throw CommandFailure(error, path: journal.file)
      }
      StandardStream.output.write(
        (json ? Self.json(statistics) : Self.readable(statistics)) + "\n")
    }
  }

  /// The statistics as one JSON object; keys as in the command's discussion.
  static func json(_ s: JournalStatistics) -> String {
    var object = JSONObject()
    object.add("path", s.path)
    object.add("epoch", String(s.epoch, radix: 16))
    object.add("records", s.records)
    object.add("records_by_priority", byPriority(s.recordsByPriority))
    object.add("pending", s.pending)
    object.add("pending_by_priority", byPriority(s.pendingByPriority))
    object.add("oldest_pending_seq", s.oldestPendingSeq)
    object.add("oldest_pending_time", s.oldestPendingTime.map(RecordText.timeJSON))
    object.add("lowest_seq", s.lowestSeq)
    object.add("highest_seq", s.highestSeq)
    object.add("next_seq", s.nextSeq)
    object.add("ack_floor", s.ackFloor)
    object.add("acknowledged_ranges", UInt64(s.acknowledgedRanges))
    object.add("tail", s.tail)
    object.add("head", s.head)
    object.add("durable_head", s.durableHead)
    object.add("capacity_bytes", s.capacityBytes)
    object.add("used_bytes", s.usedBytes)
    object.add("ring_bytes", s.ringBytes)
    object.add("file_bytes", s.fileBytes)
    object.add("gap_records", s.gapRecords)
    object.add("dropped_unacknowledged", s.droppedUnacknowledged)
    object.add("quarantined_bytes", s.quarantinedBytes)
    object.add("quarantined_regions", s.quarantinedRegions)
    object.add("relocated_records", s.relocatedRecords)
    object.add("recoveries", s.recoveries)
    object.add("generation", s.generation)
    return object.json
  }

  private static func byPriority(_ counts: [UInt64]) -> JSONObject {
    var object = JSONObject()
    for priority in Priority.allCases {
      object.add(priority.description, counts[Int(priority.rawValue)])
    }
    return object
  }

  /// The statistics for people: one labelled line per subject, values aligned.
  static func readable(_ s: JournalStatistics) -> String {
    func split(_ counts: [UInt64]) -> String {
      Priority.allCases.map { "\($0) \(counts[Int($0.rawValue)])" }.joined(separator: ", ")
    }
    let percent = s.capacityBytes == 0 ? 0 : s.usedBytes * 1000 / s.capacityBytes
    var oldest = "nothing pending"
    if let seq = s.oldestPendingSeq {
      oldest = "seq \(seq)"
      if let time = s.oldestPendingTime { oldest += ", " + RecordText.readable(time) }
    }
    var seqs = "next \(s.nextSeq)"
    if let low = s.lowestSeq, let high = s.highestSeq { seqs += ", live \(low)...\(high)" }
    let acknowledged =
      "ack floor \(s.ackFloor) (nothing below it pending), \(s.acknowledgedRanges) ranges kept"
    let rows: [(String, String)] = [
      ("journal", s.path),
      ("epoch", String(s.epoch, radix: 16)),
      (
        "size",
        "\(s.fileBytes) bytes in the file, ring \(s.ringBytes), capacity \(s.capacityBytes)"
      ),
      ("used", "\(s.usedBytes) bytes (\(percent / 10).\(percent % 10)% of capacity)"),
      ("records", "\(s.records) (\(split(s.recordsByPriority)))"),
      ("pending", "\(s.pending) (\(split(s.pendingByPriority)))"),
      ("oldest pending", oldest),
      ("sequence numbers", seqs),
      ("acknowledged", acknowledged),
      ("cursors", "tail \(s.tail), head \(s.head), durable head \(s.durableHead)"),
      (
        "gaps",
        "\(s.gapRecords) gap records for \(s.droppedUnacknowledged) overwritten unacknowledged records"
      ),
      ("quarantined", "\(s.quarantinedBytes) bytes in \(s.quarantinedRegions) damaged regions"),
      ("relocated", "\(s.relocatedRecords) records moved to make room"),
      ("recoveries", "\(s.recoveries) opens that found records after the last checkpoint"),
      ("generation", "\(s.generation) checkpoints"),
    ]
    let width = rows.map(\.0.count).max() ?? 0
    return rows.map { label, value in
      label + String(repeating: " ", count: width - label.count + 2) + value
    }.joined(separator: "\n")
  }
}
