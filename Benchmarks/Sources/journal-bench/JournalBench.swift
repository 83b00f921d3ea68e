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
    let kinds = options.contenders
    for round in 0..<options.rounds {
      for batchSize in options.batchSizes {
        let workload = Workload(batchSize: batchSize)
        // Each round starts with a different contender, so none always runs on a warm disk.
        for step in 0..<kinds.count {
          let kind = kinds[(step + round) % kinds.count]
          let path = workDirectory.path + "/\(kind)-\(batchSize)-\(round)"
          let contender: any Contender
          switch kind {
          case .journal:
            contender = try JournalContender(
              path: path + ".journal", fileSize: options.fileSize, workload: workload,
              logger: logger)
          case .raw:
            contender = try RawContender(
              path: path + ".raw", fileSize: options.fileSize, workload: workload)
          case .sqlite:
            let sqlite = try SQLiteContender(path: path + ".sqlite", workload: workload)
            sqliteSettings = sqlite.settings
            contender = sqlite
          }
          let sample: Sample
          do {
            sample = try measure(
              contender, batchSize: batchSize, seconds: options.seconds, cap: options.recordCap)
          } catch {
            try? contender.finish()
            throw error
          }
          try contender.finish()
          results.add(sample, kind: kind, batchSize: batchSize)
          printError(
            "round \(round + 1)/\(options.rounds) batch \(batchSize) \(kind): "
              + "\(sample.records) records in \(fixed(sample.seconds, 2)) s = "
              + "\(fixed(sample.recordsPerSecond, 0)) rec/s")
        }
      }
    }

    let report = Report(
      options: options, machine: machine, sqliteSettings: sqliteSettings, results: results)
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
