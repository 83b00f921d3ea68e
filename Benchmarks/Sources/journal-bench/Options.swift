#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Command-line options of `journal-bench`.
struct Options {
  /// Where the benchmark files go; `nil` means a fresh directory under `./.bench-tmp/`.
  var directory: String?
  /// Seconds each case (contender × batch size × round) runs for at most.
  var seconds = 3.0
  /// Records each case writes at most; `nil` for no cap.
  var recordCap: Int?
  /// Rounds; in each, every contender runs for `seconds`, the contenders taking turns in slices
  /// of `sliceSeconds`, starting with a different one each round.
  var rounds = 3
  /// Seconds a contender runs before the next one takes its turn.
  var sliceSeconds = 0.1
  /// Batch sizes, in records per durable write.
  var batchSizes = [1, 16, 256]
  /// Bytes of the journal file and of the raw baseline's file.
  var fileSize: UInt64 = 64 << 20
  /// Lap the journal's ring once with acknowledged records before measuring it.
  var prefill = true
  /// Exit with status 1 when any bar fails.
  var check = false
  /// Contenders to run; fewer than all (for profiling one with strace or perf) gives no bars.
  var contenders = ContenderKind.allCases

  static let usage = """
    usage: journal-bench [--dir DIR] [--seconds S] [--records N] [--rounds R]
                         [--slice-ms MS] [--batches 1,16,256] [--file-mib M]
                         [--no-prefill] [--check]
                         [--only journal|raw|raw-bodies|sqlite]

    Measures durable appends of 64-byte records: the Outpost journal, raw pwrite+fdatasync of
    the same bytes in the same batches, and SQLite in WAL mode with synchronous=FULL (GRDB).

      --dir DIR        directory for the test files, on the disk to measure
                       (default: a new directory under ./.bench-tmp/, removed afterwards)
      --seconds S      seconds each contender runs per round and batch size (default 3)
      --records N      at most N records per contender, round and batch size
      --rounds R       rounds per batch size; the median is reported (default 3)
      --slice-ms MS    the contenders take turns every MS milliseconds, so that all see the
                       same disk conditions (default 100)
      --batches LIST   comma-separated batch sizes (default 1,16,256)
      --file-mib M     size of the journal file and the raw file in MiB (default 64)
      --no-prefill     measure a fresh journal; by default its ring is first lapped once with
                       acknowledged records, so that the measurement sees the steady state of
                       a box that has been recording for a while (the cleaner at work)
      --check          exit with status 1 if any bar fails
      --only KIND      run one contender only (for profiling); no bars are judged
    """

  /// Parses `arguments` (without the program name).
  static func parse(_ arguments: [String]) throws(UsageError) -> Options {
    var options = Options()
    var rest = arguments[...]
    func value(for flag: String) throws(UsageError) -> String {
      guard let next = rest.popFirst() else { throw UsageError("\(flag) needs a value") }
      return next
    }
    while let flag = rest.popFirst() {
      switch flag {
      case "--dir":
        options.directory = try value(for: flag)
      case "--seconds":
        let text = try value(for: flag)
        guard let seconds = Double(text), seconds > 0 else {
          throw UsageError("--seconds wants a positive number, not \(text)")
        }
        options.seconds = seconds
      case "--slice-ms":
        options.sliceSeconds = Double(try positive(try value(for: flag), flag)) / 1000
      case "--records":
        options.recordCap = try positive(try value(for: flag), flag)
      case "--rounds":
        options.rounds = try positive(try value(for: flag), flag)
      case "--batches":
        let text = try value(for: flag)
        var sizes: [Int] = []
        for part in text.split(separator: ",") {
          sizes.append(try positive(String(part), flag))
        }
        guard !sizes.isEmpty else { throw UsageError("--batches wants a list like 1,16,256") }
        options.batchSizes = sizes
      case "--file-mib":
        options.fileSize = UInt64(try positive(try value(for: flag), flag)) << 20
      case "--no-prefill":
        options.prefill = false
      case "--check":
        options.check = true
      case "--only":
        let name = try value(for: flag)
        guard let kind = ContenderKind.allCases.first(where: { "\($0)".lowercased() == name })
        else { throw UsageError("--only wants journal, raw, raw-bodies or sqlite, not \(name)") }
        options.contenders = [kind]
      case "-h", "--help":
        throw UsageError(nil)
      default:
        throw UsageError("unknown option \(flag)")
      }
    }
    if options.check && options.contenders.count < ContenderKind.allCases.count {
      throw UsageError("--check needs every contender; drop --only")
    }
    return options
  }

  private static func positive(_ text: String, _ flag: String) throws(UsageError) -> Int {
    guard let n = Int(text), n > 0 else {
      throw UsageError("\(flag) wants a positive integer, not \(text)")
    }
    return n
  }
}

/// A bad command line; `message` is `nil` for `--help`.
struct UsageError: Error {
  var message: String?
  init(_ message: String?) { self.message = message }
}
