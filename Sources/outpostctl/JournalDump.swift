import ArgumentParser
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
  @OptionGroup var journal: JournalFileOption

  /// `--json`: one JSON object per record instead of readable lines.
  @Flag(help: "Print one JSON object per line.")
  var json = false

  /// Opens the journal read-only and prints its records.
  func run() throws {
    try reportingFailure { () throws(CommandFailure) in
      let ring = try JournalFile.openForInspection(path: journal.file)
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
        throw CommandFailure(error, path: journal.file)
      }
      output.flush()
    }
  }
}

/// How records and their times are printed.
enum RecordText {
  /// The record as one JSON object; see `outpostctl journal dump --help`.
  static func json(_ record: Record, acknowledged: Bool) -> String {
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
  static func timeJSON(_ time: RecordTime) -> JSONObject {
    var object = JSONObject()
    object.add("wall_ms", time.wallMs)
    object.add("clock_trusted", time.clockTrusted)
    object.add("boot", UInt64(time.boot))
    object.add("since_boot_ms", time.sinceBootMs)
    return object
  }

  /// The record for people: number, priority, kind, time, state, then the body (decoded for
  /// kinds this version knows, else in hex).
  static func readable(_ record: Record, acknowledged: Bool) -> String {
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
  static func readable(_ time: RecordTime) -> String {
    let trust = time.clockTrusted ? "trusted" : "untrusted"
    let seconds = time.sinceBootMs / 1000
    let millis = time.sinceBootMs % 1000
    return "\(UTCTime.iso8601(ms: time.wallMs)) \(trust) boot \(time.boot) "
      + "+\(seconds).\(UTCTime.padded(millis, width: 3))s"
  }
}
