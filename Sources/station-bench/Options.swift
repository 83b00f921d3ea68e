/// Command-line options of `station-bench`.
struct Options {
  /// The directory holding release builds of `outpostd` and `outpost-station`.
  var binaries = ""
  /// Where the scratch directory goes (on the disk to measure); a fresh one is made in it.
  var scratchParent = ".build-station-bench/scratch"
  /// SOS presses on the idle link, and at least as many during backlog drains.
  var presses = 1000
  /// Records the box's journal holds when each drain starts.
  var backlog = 100_000
  /// Pause between one press's acknowledgement and the next press.
  var pressGapMs = 5
  /// The box's `uplink.backlog_share_percent` (nil: the agent's default).
  var backlogSharePercent: Int?
  /// Simulated boxes of the ingest run.
  var boxes = 1000
  /// Batches each simulated box sends, and records in each.
  var batchesPerBox = 4
  var recordsPerBatch = 64
  /// `postgres://…` of a server for the PostgreSQL ingest row; none: the row is skipped.
  var postgres: String?
  var runSOS = true
  var runIngest = true
  /// Exit with status 1 when a bar fails.
  var check = false
  /// Keep the scratch directory (stores, journals, daemons' logs) after a passing run too.
  var keep = false

  static let usage = """
    usage: station-bench --bin DIR [--dir DIR] [--presses N] [--backlog N] [--gap-ms MS]
                         [--backlog-share PERCENT]
                         [--boxes N] [--batches N] [--records N] [--postgres URL]
                         [--only sos|ingest] [--check] [--keep]

    SOS latency through real outpostd and outpost-station processes on loopback (TLS 1.3,
    SQLite store), and station ingest from simulated boxes, against in-process baselines.

      --bin DIR       release products directory with outpostd and outpost-station
      --dir DIR       where the scratch directory is made (default .build-station-bench/scratch); on the
                      disk to measure, not tmpfs
      --presses N     presses on the idle link, and at least N during drains (default 1000)
      --backlog N     records in the box's journal at the start of each drain (default 100000)
      --gap-ms MS     pause after each press is acknowledged (default 5)
      --backlog-share PERCENT
                      the box's uplink.backlog_share_percent, 5 to 100 (default: the agent's, 50)
      --boxes N       simulated boxes in the ingest run (default 1000)
      --batches N     batches each box sends (default 4)
      --records N     records per batch (default 64, at most 256)
      --postgres URL  postgres://user:password@host:port/database for the PostgreSQL row
      --only KIND     run only the SOS latency or only the ingest part
      --check         exit with status 1 if a bar fails
      --keep          keep the scratch directory (stores, journals, the daemons' logs)
    """

  /// Parses `arguments` (without the program name).
  static func parse(_ arguments: [String]) throws(UsageError) -> Options {
    var options = Options()
    var rest = arguments[...]
    func value(_ flag: String) throws(UsageError) -> String {
      guard let next = rest.popFirst() else { throw UsageError("\(flag) needs a value") }
      return next
    }
    func number(_ flag: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int {
      let text = try value(flag)
      guard let n = Int(text), range.contains(n) else {
        throw UsageError(
          "\(flag) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \(text)"
        )
      }
      return n
    }
    while let flag = rest.popFirst() {
      switch flag {
      case "--bin": options.binaries = try value(flag)
      case "--dir": options.scratchParent = try value(flag)
      case "--presses": options.presses = try number(flag, 1...1_000_000)
      case "--backlog": options.backlog = try number(flag, 0...10_000_000)
      case "--gap-ms": options.pressGapMs = try number(flag, 0...10_000)
      case "--backlog-share": options.backlogSharePercent = try number(flag, 5...100)
      case "--boxes": options.boxes = try number(flag, 1...20_000)
      case "--batches": options.batchesPerBox = try number(flag, 1...10_000)
      case "--records": options.recordsPerBatch = try number(flag, 1...256)
      case "--postgres": options.postgres = try value(flag)
      case "--only":
        switch try value(flag) {
        case "sos": options.runIngest = false
        case "ingest": options.runSOS = false
        case let other: throw UsageError("--only must be sos or ingest, not \(other)")
        }
      case "--check": options.check = true
      case "--keep": options.keep = true
      case "-h", "--help": throw UsageError(nil)
      default: throw UsageError("unknown option \(flag)")
      }
    }
    guard !options.binaries.isEmpty else { throw UsageError("--bin DIR is required") }
    return options
  }
}

/// A command line that cannot be used; `message` nil asks for the usage text alone.
struct UsageError: Error {
  var message: String?
  init(_ message: String?) { self.message = message }
}
