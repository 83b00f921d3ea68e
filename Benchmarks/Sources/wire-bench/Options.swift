import WireWorkload

/// Command-line options of `wire-bench`.
struct Options {
  /// The NMEA log of the real track; nil for the default next to the repository.
  var nmeaPath: String?
  /// Points of the synthetic track and its seed.
  var points = 1000
  var seed = SyntheticTrack.defaultSeed
  /// Timed runs per operation (the median is reported) and the length of one run.
  var runs = 7
  var runSeconds = 0.3
  var speed = true
  /// Count allocations only (needs the malloc interposer preloaded).
  var allocationsOnly = false
  /// Exit with status 1 when a bar fails.
  var check = false
  /// Print the SOS's bytes in every encoding.
  var hex = false

  static let usage = """
    usage: wire-bench [--nmea PATH] [--points N] [--seed S] [--runs R] [--run-ms MS]
                      [--sizes-only] [--hex] [--allocations] [--check]

    Prints the wire sizes of an SOS and of batched GPS tracks in Outpost's protocol, beside
    Teltonika Codec 8 and JT/T 808 for the same records, then the codec's speed on a mixed
    256-record batch.

      --nmea PATH     NMEA 0183 log of a real track (default: ../shared/testdata/nmea/
                      beidou-bd.log from the repository root)
      --points N      points of the synthetic track (default 1000)
      --seed S        seed of the synthetic track (default the fixed one)
      --runs R        timed runs per operation; the median is reported (default 7)
      --run-ms MS     length of one timed run (default 300)
      --sizes-only    skip the speed measurements
      --hex           also print the SOS's bytes in every encoding, to check them by hand
      --allocations   count allocations per batch and per record instead; needs ordo-one's
                      malloc interposer preloaded (make wire-bench does this):
                      LD_PRELOAD=Benchmarks/.build/release/libMallocInterposerSwift.so
      --check         exit with status 1 if a bar fails
    """

  static func parse(_ arguments: [String]) throws(BenchError) -> Options {
    var options = Options()
    var rest = arguments[...]
    func value(_ flag: String) throws(BenchError) -> String {
      guard let next = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
      return next
    }
    func positive(_ flag: String) throws(BenchError) -> Int {
      let text = try value(flag)
      guard let n = Int(text), n > 0 else {
        throw BenchError("\(flag) wants a positive integer, not \(text)")
      }
      return n
    }
    while let flag = rest.popFirst() {
      switch flag {
      case "--nmea": options.nmeaPath = try value(flag)
      case "--points": options.points = try positive(flag)
      case "--seed":
        let text = try value(flag)
        guard let seed = UInt64(text) else { throw BenchError("--seed wants an integer") }
        options.seed = seed
      case "--runs": options.runs = try positive(flag)
      case "--run-ms": options.runSeconds = Double(try positive(flag)) / 1000
      case "--sizes-only": options.speed = false
      case "--hex": options.hex = true
      case "--allocations": options.allocationsOnly = true
      case "--check": options.check = true
      case "-h", "--help": throw BenchError("")
      default: throw BenchError("unknown option \(flag)")
      }
    }
    return options
  }
}
