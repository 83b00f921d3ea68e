import BenchSupport
import Logging
import OutpostJournal

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// `journal-bench`: durable records/s of the Outpost journal, raw `pwrite`+`fdatasync` and
/// SQLite WAL at several batch sizes, with the product brief's bars checked on the same run.
@main
enum JournalBench {
  static func main() {
    let options: Options
    do {
      options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
    } catch {
      if let message = error.message {
        printError("journal-bench: \(message)\n\n\(Options.usage)")
        exit(2)
      }
      print(Options.usage)
      exit(0)
    }
    do {
      let passed = try run(options)
      exit(options.check && !passed ? 1 : 0)
    } catch {
      printError("journal-bench: \(error)")
      exit(1)
    }
  }

  /// Runs every case and prints the report; returns whether every bar passed.
  static func run(_ options: Options) throws -> Bool {
    let workDirectory = try WorkDirectory(parent: options.directory)
    defer { workDirectory.remove() }
    let machine = Machine.describe(directory: workDirectory.path)
    if machine.fileSystem.isMemoryBacked {
      printError(
        "journal-bench: warning: \(workDirectory.path) is on \(machine.fileSystem.type), in "
          + "memory; fdatasync reaches no disk and the numbers say nothing about one. Use --dir.")
    }
    var logger = Logger(label: "outpost.journal") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning

    var results = Results(batchSizes: options.batchSizes, rounds: options.rounds)
    var sqliteSettings = ""
    var journalNotes: [String] = []
    let kinds = options.contenders
    for batchSize in options.batchSizes {
      let workload = Workload(batchSize: batchSize)
      // Every contender keeps its file across the rounds, so a long run laps the journal's ring
      // and measures its steady state; the rounds interleave the contenders, each round starting
      // with a different one, so disk warm-up and background load spread over all of them.
      var contenders: [(kind: ContenderKind, contender: any Contender)] = []
      defer {
        for entry in contenders { try? entry.contender.finish() }
      }
      for kind in kinds {
        let path = workDirectory.path + "/\(kind)-\(batchSize)"
        switch kind {
        case .journal:
          contenders.append(
            (
              kind,
              try JournalContender(
                path: path + ".journal", fileSize: options.fileSize, workload: workload,
                prefill: options.prefill, logger: logger)
            ))
        case .raw:
          contenders.append(
            (
              kind,
              try RawContender(
                path: path + ".raw", fileSize: options.fileSize, batch: workload.framed)
            ))
        case .rawBodies:
          contenders.append(
            (
              kind,
              try RawContender(
                path: path + ".raw-bodies", fileSize: options.fileSize,
                batch: workload.concatenated)
            ))
        case .sqlite:
          let sqlite = try SQLiteContender(path: path + ".sqlite", workload: workload)
          sqliteSettings = sqlite.settings
          contenders.append((kind, sqlite))
        }
      }
      for round in 0..<options.rounds {
        // The disk's flush latency on a shared virtual machine changes by an order of magnitude
        // from one second to the next, so the contenders take turns in short slices (each round
        // starting with a different one) until each has run for its time: every contender sees
        // the same mix of fast and slow periods.
        var totals = [Sample](repeating: Sample(records: 0, seconds: 0), count: contenders.count)
        var finished = [Bool](repeating: false, count: contenders.count)
        var turn = round
        while finished.contains(false) {
          let index = turn % contenders.count
          turn += 1
          guard !finished[index] else { continue }
          let sample = try measure(
            contenders[index].contender, batchSize: batchSize,
            seconds: min(options.sliceSeconds, options.seconds - totals[index].seconds),
            cap: options.recordCap.map { $0 - totals[index].records })
          totals[index].records += sample.records
          totals[index].seconds += sample.seconds
          finished[index] =
            totals[index].seconds >= options.seconds
            || totals[index].records >= (options.recordCap ?? Int.max)
        }
        for (index, entry) in contenders.enumerated() {
          let total = totals[index]
          results.add(total, kind: entry.kind, batchSize: batchSize)
          printError(
            "batch \(batchSize) round \(round + 1)/\(options.rounds) \(entry.kind): "
              + "\(total.records) records in \(fixed(total.seconds, 2)) s = "
              + "\(fixed(total.recordsPerSecond, 0)) rec/s")
        }
      }
      for case let (_, journal as JournalContender) in contenders {
        journalNotes.append("batch \(batchSize): " + (try journal.summary()))
      }
    }

    let report = Report(
      options: options, machine: machine, sqliteSettings: sqliteSettings,
      journalNotes: journalNotes, results: results)
    print(report.text, terminator: "")
    return report.allPassed
  }

  /// Writes durable batches until the time or the record cap is reached.
  static func measure(
    _ contender: any Contender, batchSize: Int, seconds: Double, cap: Int?
  ) throws -> Sample {
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start + .seconds(seconds)
    var records = 0
    var now = start
    repeat {
      try contender.writeDurableBatch()
      records += batchSize
      now = clock.now
    } while now < deadline && records < (cap ?? Int.max)
    let (whole, attoseconds) = start.duration(to: now).components
    return Sample(records: records, seconds: Double(whole) + Double(attoseconds) * 1e-18)
  }
}

/// A fresh directory for one run's files, removed again at the end.
struct WorkDirectory {
  let path: String
  /// `./.bench-tmp` when this run created it, so it can be removed again if left empty.
  let createdParent: String?

  init(parent: String?) throws {
    var base = parent ?? ".bench-tmp"
    var createdParent: String?
    if parent == nil, mkdir(base, 0o700) == 0 { createdParent = base }
    if let resolved = realpath(base, nil) {
      base = String(cString: resolved)
      free(resolved)
    }
    let path = base + "/journal-bench-\(getpid())"
    guard mkdir(path, 0o700) == 0 else {
      throw SystemCallError(call: "mkdir", path: path, code: errno)
    }
    self.path = path
    self.createdParent = createdParent
  }

  /// Removes the directory (every contender has already removed its files) and `./.bench-tmp`
  /// if this run created it.
  func remove() {
    rmdir(path)
    if let createdParent { rmdir(createdParent) }
  }
}

func printError(_ text: String) {
  var line = text + "\n"
  line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
