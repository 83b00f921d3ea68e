import OutpostTestKit
import Testing

/// One line of `outpostctl journal dump --json`.
struct DumpedRecord {
  /// `seq`.
  var seq: UInt64
  /// `kind`, such as "test".
  var kind: String
  /// `priority`: "alarm", "normal" or "bulk".
  var priority: String
  /// `time.wall_ms`.
  var wallMs: Int64
  /// `time.clock_trusted`.
  var clockTrusted: Bool
  /// `time.boot`.
  var boot: UInt64
  /// `time.since_boot_ms`.
  var sinceBootMs: UInt64
  /// `body`: the body in hex, as printed.
  var body: String
  /// `acknowledged`.
  var acknowledged: Bool

  /// Reads one dump line; nil when a member is missing, of the wrong type, or unexpected.
  init?(line: String) {
    guard let json = JSONValue(parsing: line), let members = json.members,
      Set(members.keys) == ["seq", "kind", "priority", "time", "body", "acknowledged"],
      let time = json["time"], let timeMembers = time.members,
      Set(timeMembers.keys) == ["wall_ms", "clock_trusted", "boot", "since_boot_ms"],
      let seq = json["seq"]?.uint64, let kind = json["kind"]?.string,
      let priority = json["priority"]?.string, let body = json["body"]?.string,
      let acknowledged = json["acknowledged"]?.bool, let wallMs = time["wall_ms"]?.int64,
      let clockTrusted = time["clock_trusted"]?.bool, let boot = time["boot"]?.uint64,
      let sinceBootMs = time["since_boot_ms"]?.uint64
    else { return nil }
    self.seq = seq
    self.kind = kind
    self.priority = priority
    self.wallMs = wallMs
    self.clockTrusted = clockTrusted
    self.boot = boot
    self.sinceBootMs = sinceBootMs
    self.body = body
    self.acknowledged = acknowledged
  }

  /// The body's length in bytes.
  var bodyCount: Int { body.utf8.count / 2 }
}

/// Running the inspection commands and reading what they print.
enum JournalInspection {
  /// `journal dump --json`, every line parsed.
  ///
  /// - Throws: when the command fails or a line does not parse.
  static func dump(_ file: String) throws -> [DumpedRecord] {
    let result = try Outpostctl.run(["journal", "dump", "--file", file, "--json"])
    guard result.ending == .exited(0) else {
      throw SpawnError(
        "dump of \(file) ended with \(result.ending): \(result.errorOutput)", errno: 0)
    }
    return try result.lines.map { line in
      guard let record = DumpedRecord(line: line) else {
        throw SpawnError("dump line does not parse: \(line)", errno: 0)
      }
      return record
    }
  }

  /// `journal stat --json`, parsed.
  static func stat(_ file: String) throws -> JSONValue {
    let result = try Outpostctl.run(["journal", "stat", "--file", file, "--json"])
    guard result.ending == .exited(0), result.lines.count == 1,
      let json = JSONValue(parsing: result.lines[0])
    else {
      throw SpawnError(
        "stat of \(file) ended with \(result.ending): \(result.output) \(result.errorOutput)",
        errno: 0)
    }
    return json
  }

  /// `journal verify`.
  static func verify(_ file: String) throws -> ChildResult {
    try Outpostctl.run(["journal", "verify", "--file", file])
  }
}
