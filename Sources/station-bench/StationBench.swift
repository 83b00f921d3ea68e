import Foundation
import Glibc
import Logging
import OutpostStore
import OutpostTestKit

/// `station-bench`: the station's bars of the brief, measured end to end.
///
/// 1. SOS latency: `sos --wait acknowledged` on the agent's control socket (what `outpostctl`
///    sends), through the real `outpostd` and `outpost-station` on loopback; on an idle link,
///    and while a 100,000-record backlog drains from the box's journal.
/// 2. Station ingest: 1,000 simulated boxes on real TLS connections, records acknowledged
///    after commit, on SQLite and on PostgreSQL, beside in-process baselines of the same rows.
@main
struct StationBench {
  static func main() async {
    let options: Options
    do {
      options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
    } catch {
      if let message = error.message { printError("station-bench: \(message)") }
      printError(Options.usage)
      exit(error.message == nil ? 0 : 64)
    }
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = .warning
      return handler
    }
    let logger = Logger(label: "station-bench")
    try? FileManager.default.createDirectory(
      atPath: options.scratchParent, withIntermediateDirectories: true)
    let scratch = TemporaryDirectoryIn(options.scratchParent)
    var report = Report(options: options, loadBefore: loadAverage())
    do {
      if options.runSOS {
        let directory = scratch.path + "/sos"
        mkdir(directory, 0o755)
        status(
          "SOS latency: \(options.presses) presses idle, then during drains of \(options.backlog) records"
        )
        report.sos = try await SOSLatencyBench(
          options: options, directory: directory, logger: logger
        ).run()
      }
      if options.runIngest {
        let bench = IngestBench(options: options, directory: scratch.path, logger: logger)
        status("ingest: raw SQLite baseline")
        report.baselines.append(try bench.rawSQLiteBaseline())
        status("ingest: the store's SQLite ingest in-process")
        report.baselines.append(try await bench.storeBaseline(.sqlite, tag: "sqlite"))
        status("ingest: \(options.boxes) boxes to the station on SQLite")
        report.ingest.append(try await bench.station(.sqlite, tag: "sqlite"))
        if let url = options.postgres {
          guard let configuration = PostgresStationStore.Configuration(url: url) else {
            throw BenchError("--postgres \(url): not postgres://user:password@host:port/db")
          }
          status("ingest: the store's PostgreSQL ingest in-process")
          report.baselines.append(
            try await bench.storeBaseline(.postgresql(configuration), tag: "postgresql"))
          status("ingest: \(options.boxes) boxes to the station on PostgreSQL")
          report.ingest.append(try await bench.station(.postgresql(configuration), tag: "pg"))
        }
      }
    } catch {
      printError("station-bench: \(error)")
      printError("station-bench: logs kept in \(scratch.path)")
      scratch.keep = true
      exit(1)
    }
    report.loadAfter = loadAverage()
    let passed = report.print()
    if options.keep {
      scratch.keep = true
      printError("station-bench: scratch directory kept: \(scratch.path)")
    } else {
      scratch.remove()
    }
    if options.check && !passed { exit(1) }
  }
}

/// A fresh directory under `parent`, removed with everything in it at the end unless kept.
final class TemporaryDirectoryIn {
  let path: String
  var keep = false

  init(_ parent: String) {
    var template = Array("\(parent)/station-bench-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp in \(parent): \(String(cString: strerror(errno)))")
    var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    path = String(cString: realpath(made!, &resolved) ?? made!)
  }

  /// Removes the directory now, unless kept.
  func remove() {
    if !keep { TemporaryDirectory.remove(path) }
    keep = true
  }

  deinit {
    remove()
  }
}

func printError(_ text: String) {
  let bytes = Array((text + "\n").utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Progress, on standard error (the report goes to standard output).
func status(_ text: String) {
  printError("station-bench: \(text)")
}

/// The 1-, 5- and 15-minute load averages.
func loadAverage() -> String {
  guard let text = try? FileBytes.readText("/proc/loadavg") else { return "?" }
  return text.split(separator: " ").prefix(3).joined(separator: " ")
}
