import Glibc
import OutpostTestKit

/// The value at `fraction` (0…1) of `values` by the nearest-rank method; nil when empty.
func percentile(_ values: [Double], _ fraction: Double) -> Double? {
  guard !values.isEmpty else { return nil }
  let sorted = values.sorted()
  let rank = Int((fraction * Double(sorted.count)).rounded(.up))
  return sorted[max(0, min(sorted.count - 1, rank - 1))]
}

/// Everything measured, printed as the Markdown that goes into docs/benchmarks.md.
struct Report {
  let options: Options
  let loadBefore: String
  var loadAfter = ""
  var sos: SOSLatencyResult?
  var ingest: [IngestFigures] = []
  var baselines: [BaselineFigures] = []

  init(options: Options, loadBefore: String) {
    self.options = options
    self.loadBefore = loadBefore
  }

  /// Milliseconds from the press to `step` of each press that got there.
  private func spans(_ timings: [PressTiming], _ step: KeyPath<PressTiming, UInt64?>) -> [Double] {
    timings.compactMap { timing in
      guard timing.problem == nil, let at = timing[keyPath: step] else { return nil }
      return Double(at - timing.startedAt) / 1000
    }
  }

  private func ms(_ value: Double?) -> String {
    value.map { fixed($0, 1) + " ms" } ?? "n/a"
  }

  /// Prints the report; returns whether every bar measured was met.
  func print() -> Bool {
    var passed = true
    var lines: [String] = []
    let commit =
      (try? runChild("/usr/bin/git", ["rev-parse", "--short=12", "HEAD"]))?.output
      .trimmingSuffixNewline() ?? "?"
    lines.append(
      "Measured \(MeasuredOn.dateUTC()) on \(MeasuredOn.kernel()), \(MeasuredOn.cores()) cores; "
        + "commit \(commit); load average \(loadBefore) before, \(loadAfter) after.")
    lines.append("")
    lines.append("| figure | measured | bar | result |")
    lines.append("| --- | --- | --- | --- |")
    var notes: [String] = []
    if let sos {
      let idleDelivered = spans(sos.idle, \.delivered)
      let idleAcknowledged = spans(sos.idle, \.acknowledged)
      let drainDelivered = spans(sos.draining, \.delivered)
      let drainAcknowledged = spans(sos.draining, \.acknowledged)
      let idleP99 = percentile(idleDelivered, 0.99)
      let idleAckP99 = percentile(idleAcknowledged, 0.99)
      func row(_ name: String, _ values: [Double], judgedAgainst idle: Double?) {
        let p50 = percentile(values, 0.5)
        let p99 = percentile(values, 0.99)
        let measured =
          "p50 \(ms(p50)), p99 \(ms(p99)), max \(ms(values.max())) (n = \(values.count))"
        guard let idle else {
          lines.append("| \(name) | \(measured) | reported (the drain's bar is 2× this p99) | — |")
          return
        }
        let limit = min(50, 2 * idle)
        let ok = p99.map { $0 <= limit } ?? false
        if !ok { passed = false }
        lines.append(
          "| \(name) | \(measured) | p99 ≤ 50 ms and ≤ 2 × idle p99 (≤ \(fixed(limit, 1)) ms) | \(ok ? "PASS" : "FAIL") |"
        )
      }
      row("SOS press → *delivered* on the box, idle link", idleDelivered, judgedAgainst: nil)
      row(
        "SOS press → *delivered* on the box, while \(options.backlog) records drain",
        drainDelivered, judgedAgainst: idleP99)
      row(
        "SOS press → *acknowledged* by the officer, on the box, idle link", idleAcknowledged,
        judgedAgainst: nil)
      row(
        "SOS press → *acknowledged* by the officer, on the box, while \(options.backlog) records drain",
        drainAcknowledged, judgedAgainst: idleAckP99)
      let recorded = spans(sos.idle, \.recorded)
      lines.append(
        "| SOS press → *recorded* (fsynced in the box's journal), idle link | p50 \(ms(percentile(recorded, 0.5))), p99 \(ms(percentile(recorded, 0.99))) | reported | — |"
      )
      let problems = (sos.idle + sos.draining).compactMap(\.problem)
      if !problems.isEmpty {
        passed = false
        notes.append(
          "SOS presses that failed or joined an incident: \(problems.count), the first: \(problems[0])"
        )
      }
      let drained = sos.drains.map { cycle in
        "\(fixed(Double(cycle.records) / (Double(cycle.drainMicros) / 1e6), 0)) records/s "
          + "(\(fixed(Double(cycle.drainMicros) / 1e6, 2)) s after the first record arrived "
          + "\(fixed(Double(cycle.connectMicros) / 1e6, 2)) s from the start, "
          + "\(cycle.presses) presses)"
      }
      notes.append(
        "Drains: \(sos.drains.count) of \(options.backlog) position records each, from a "
          + "\(sos.journalBytes >> 20) MiB journal: " + drained.joined(separator: "; ")
          + ". Presses after a drain had ended (not counted): \(sos.afterDrain). "
          + "Incidents the officer acknowledged: \(sos.officerAcks).")
    }
    for figures in ingest {
      let rate = figures.perSecond
      var bar = "reported"
      var verdict = "—"
      if figures.store == "SQLite" {
        bar = "≥ 20,000 records/s"
        verdict = rate >= 20_000 ? "PASS" : "FAIL"
        if rate < 20_000 { passed = false }
      }
      var measured =
        "\(fixed(rate, 0)) records/s (\(figures.records) records in \(fixed(Double(figures.micros) / 1e6, 2)) s)"
      if let baseline = baselines.first(where: { $0.name.hasPrefix(figures.store + ": the store") })
      {
        measured +=
          "; \(fixed(100 * rate / baseline.perSecond, 0)) % of the store's in-process ingest"
      }
      lines.append(
        "| station ingest, \(figures.boxes) boxes on TLS, durable, \(figures.store) | \(measured) | \(bar) | \(verdict) |"
      )
      notes.append(
        "\(figures.store) run: \(figures.boxes) boxes connected in "
          + "\(fixed(Double(figures.connectMicros) / 1e6, 2)) s; during the ingest the station "
          + "used \(fixed(figures.stationCPUms / 1000, 2)) s of CPU, the load generator "
          + "\(fixed(figures.generatorCPUms / 1000, 2)) s.")
    }
    for baseline in baselines {
      lines.append(
        "| baseline: \(baseline.name), \(baseline.recordsPerTransaction) records a transaction | \(fixed(baseline.perSecond, 0)) records/s (\(baseline.records) records in \(fixed(Double(baseline.micros) / 1e6, 2)) s) | reported | — |"
      )
    }
    lines.append("")
    for note in notes { lines.append("- " + note) }
    Swift.print(lines.joined(separator: "\n"))
    return passed
  }
}
