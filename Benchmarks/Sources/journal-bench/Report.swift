import BenchSupport
import OutpostCore

/// One case: how many records were made durable in how long.
struct Sample {
  var records: Int
  var seconds: Double
  var recordsPerSecond: Double { Double(records) / seconds }
}

/// Every sample of a run, by batch size and contender.
struct Results {
  let batchSizes: [Int]
  let rounds: Int
  private var samples: [Int: [ContenderKind: [Sample]]] = [:]

  init(batchSizes: [Int], rounds: Int) {
    self.batchSizes = batchSizes
    self.rounds = rounds
  }

  mutating func add(_ sample: Sample, kind: ContenderKind, batchSize: Int) {
    samples[batchSize, default: [:]][kind, default: []].append(sample)
  }

  func samples(_ kind: ContenderKind, batchSize: Int) -> [Sample] {
    samples[batchSize]?[kind] ?? []
  }

  /// The median records/s over the rounds (the mean of the middle two for an even count).
  func median(_ kind: ContenderKind, batchSize: Int) -> Double {
    let rates = samples(kind, batchSize: batchSize).map(\.recordsPerSecond).sorted()
    guard !rates.isEmpty else { return .nan }
    let mid = rates.count / 2
    return rates.count % 2 == 1 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2
  }
}

/// The bars from the product brief: the journal reaches this fraction of raw records/s.
func requiredVersusRaw(batchSize: Int) -> Double {
  batchSize >= 256 ? 0.70 : 0.50
}

/// The Markdown report.
struct Report {
  let options: Options
  let machine: Machine
  let sqliteSettings: String
  let journalNotes: [String]
  let results: Results

  struct Row {
    var batchSize: Int
    var journal: Double
    var raw: Double
    var rawBodies: Double
    var sqlite: Double
    var versusRaw: Double { journal / raw }
    var versusSQLite: Double { journal / sqlite }
    var rawBar: Double { requiredVersusRaw(batchSize: batchSize) }
    var passesRaw: Bool { versusRaw >= rawBar }
    var passesSQLite: Bool { journal > sqlite }
  }

  var rows: [Row] {
    results.batchSizes.map { batch in
      Row(
        batchSize: batch, journal: results.median(.journal, batchSize: batch),
        raw: results.median(.raw, batchSize: batch),
        rawBodies: results.median(.rawBodies, batchSize: batch),
        sqlite: results.median(.sqlite, batchSize: batch))
    }
  }

  var allPassed: Bool { rows.allSatisfy { $0.passesRaw && $0.passesSQLite } }

  var text: String {
    let body = Workload.bodyLength
    let frame = JournalContender.framedBytesPerRecord
    var out = "## Journal durable append\n\n"
    out += "- date: \(machine.dateUTC)\n"
    out += "- machine: \(machine.cores) cores"
    if let cpu = machine.cpuModel { out += " (\(cpu))" }
    out += ", \(machine.kernel)\n"
    out += "- file system: \(machine.fileSystem.summary)\n"
    out +=
      "- records: \(body)-byte bodies; the journal frames each in \(frame) bytes "
      + "(\(JournalFrame.headerLength)-byte header + \(body) body + "
      + "\(JournalFrame.trailerLength)-byte trailer, padded to \(JournalFrame.alignment)); "
      + "raw writes those same framed bytes, raw-bodies only the \(body) body bytes; "
      + "MB/s counts body bytes (1 MB = 10^6 bytes)\n"
    out +=
      "- durable batch: journal `append(contentsOf:durable: true)` + acknowledge; raw one "
      + "`pwrite` + `fdatasync`; SQLite one transaction of INSERTs\n"
    if !sqliteSettings.isEmpty { out += "- \(sqliteSettings), through GRDB\n" }
    var perCase = "\(fixed(options.seconds, 1)) s"
    if let cap = options.recordCap { perCase += " or \(cap) records" }
    out +=
      "- \(results.rounds) rounds per batch size, each running every contender for \(perCase) "
      + "in turns of \(fixed(options.sliceSeconds * 1000, 0)) ms (rotating which goes first); "
      + "median of the rounds shown; each contender keeps its file across the rounds; "
      + "journal and raw files \(options.fileSize >> 20) MiB, preallocated and zero-filled; "
      + (options.prefill
        ? "the journal's ring lapped once with acknowledged records before measuring "
          + "(steady state: every append finds the ring full)\n\n"
        : "the journal starts empty (--no-prefill)\n\n")

    if options.contenders.count < ContenderKind.allCases.count {
      out += "Only \(options.contenders.map(String.init(describing:)).joined(separator: ", ")) "
      out += "ran (--only): no bars judged.\n"
    } else {
      out += table
    }
    out += "\nRecords/s of each round, in the order run:\n\n"
    out += "| batch | contender |"
    out += (1...results.rounds).map { " round \($0) |" }.joined() + "\n"
    out += "| ---: | --- |" + String(repeating: " ---: |", count: results.rounds) + "\n"
    for batch in results.batchSizes {
      for kind in options.contenders {
        let rates = results.samples(kind, batchSize: batch).map {
          fixed($0.recordsPerSecond, 0)
        }
        out += "| \(batch) | \(kind) | " + rates.joined(separator: " | ") + " |\n"
      }
    }
    if !journalNotes.isEmpty {
      out += "\nThe journal after each batch size's rounds:\n\n"
      out += journalNotes.map { "- \($0)\n" }.joined()
    }
    return out
  }

  /// The main table with the bars, and the verdict.
  private var table: String {
    var out = "| batch | journal rec/s | journal MB/s | raw rec/s | raw MB/s | SQLite rec/s "
    out += "| SQLite MB/s | journal/raw | journal/SQLite | bar | raw-bodies rec/s "
    out += "| journal/raw-bodies |\n"
    out += "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |\n"
    for row in rows {
      var failures: [String] = []
      if !row.passesRaw { failures.append("< \(fixed(row.rawBar * 100, 0))% of raw") }
      if !row.passesSQLite { failures.append("not faster than SQLite") }
      let verdict =
        failures.isEmpty
        ? "PASS (≥ \(fixed(row.rawBar * 100, 0))% raw, > SQLite)"
        : "FAIL (" + failures.joined(separator: "; ") + ")"
      let cells = [
        String(row.batchSize),
        fixed(row.journal, 0), megabytes(row.journal),
        fixed(row.raw, 0), megabytes(row.raw),
        fixed(row.sqlite, 0), megabytes(row.sqlite),
        fixed(row.versusRaw * 100, 0) + "%", fixed(row.versusSQLite, 2) + "×",
        verdict, fixed(row.rawBodies, 0), fixed(row.journal / row.rawBodies * 100, 0) + "%",
      ]
      out += "| " + cells.joined(separator: " | ") + " |\n"
    }
    let failed = rows.reduce(0) { $0 + ($1.passesRaw ? 0 : 1) + ($1.passesSQLite ? 0 : 1) }
    out +=
      failed == 0
      ? "\nAll \(2 * rows.count) bars pass.\n"
      : "\n\(failed) of \(2 * rows.count) bars FAIL.\n"
    return out
  }

  private func megabytes(_ recordsPerSecond: Double) -> String {
    fixed(recordsPerSecond * Double(Workload.bodyLength) / 1e6, 2)
  }
}
