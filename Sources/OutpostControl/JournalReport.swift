import OutpostCore
import OutpostJournal

/// The journal's statistics and verification as `outpostctl journal stat|verify` print them,
/// shared by the commands that open a file and by the agent answering on its control socket, so
/// both print the same.
public enum JournalReport {
  /// The statistics as one JSON object; keys as in the command's discussion.
  public static func json(_ s: JournalStatistics) -> String {
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
  public static func readable(_ s: JournalStatistics) -> String {
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

  /// The summary line, then one line per problem found.
  public static func verifyLines(_ report: VerifyReport, path: String) -> [String] {
    let counts =
      "\(report.records) records (\(report.gapRecords) gap records, "
      + "\(report.unknownKinds) of unknown kinds)"
    guard !report.isClean else { return ["\(path): clean: \(counts)"] }
    let damagedBytes = report.damagedRegions.reduce(0) { $0 + $1.count }
    var lines = [
      "\(path): DAMAGED: \(counts); \(report.damagedRegions.count) damaged regions "
        + "(\(damagedBytes) bytes), \(report.duplicateSeqs.count) duplicate sequence numbers, "
        + "\(report.undecodableBodies.count) undecodable bodies"
    ]
    for region in report.damagedRegions {
      lines.append(
        "  damaged region: bytes \(region.lowerBound)..<\(region.upperBound) (\(region.count) bytes)"
      )
    }
    for seq in report.duplicateSeqs {
      lines.append("  duplicate sequence number: \(seq)")
    }
    for seq in report.undecodableBodies {
      lines.append("  undecodable body: sequence number \(seq)")
    }
    return lines
  }
}

/// How records and their times are printed.
public enum RecordText {
  /// The record as one JSON object; see `outpostctl journal dump --help`.
  public static func json(_ record: Record, acknowledged: Bool) -> String {
    var object = JSONObject()
    object.add("seq", record.seq)
    object.add("kind", record.kind.description)
    object.add("priority", record.priority.description)
    object.add("time", timeJSON(record.time))
    object.add("body", Hex.encode(record.body))
    object.add("acknowledged", acknowledged)
    return object.json
  }

  /// A record time as a JSON object with snake_case keys.
  public static func timeJSON(_ time: RecordTime) -> JSONObject {
    var object = JSONObject()
    object.add("wall_ms", time.wallMs)
    object.add("clock_trusted", time.clockTrusted)
    object.add("boot", UInt64(time.boot))
    object.add("since_boot_ms", time.sinceBootMs)
    return object
  }

  /// The record for people: number, priority, kind, time, state, then the body (decoded for
  /// kinds this version knows, else in hex).
  public static func readable(_ record: Record, acknowledged: Bool) -> String {
    let priority = record.priority.description
    var line = "\(record.seq)  \(priority)\(String(repeating: " ", count: 6 - priority.count))  "
    line += "\(record.kind)  \(readable(record.time))  "
    line += acknowledged ? "acknowledged" : "pending"
    switch record.kind {
    case .test, .unknown:
      line += "  \(record.body.count) bytes \(Hex.encode(record.body))"
    default:
      do {
        line += "  \(try record.decodedBody())"
      } catch {
        line += "  undecodable body (\(error)): \(Hex.encode(record.body))"
      }
    }
    return line
  }

  /// `2025-06-01T12:00:00.123Z untrusted boot 3 +3600.125s`: the wall-clock time in UTC,
  /// whether it was trusted, and the boot and time since boot it can be corrected by.
  public static func readable(_ time: RecordTime) -> String {
    let trust = time.clockTrusted ? "trusted" : "untrusted"
    let seconds = time.sinceBootMs / 1000
    let millis = time.sinceBootMs % 1000
    return "\(UTCTime.iso8601(ms: time.wallMs)) \(trust) boot \(time.boot) "
      + "+\(seconds).\(UTCTime.padded(millis, width: 3))s"
  }
}
