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
      guard timing.problem == nil, let at = timing[keyPath: step], at >= timing.startedAt else {
        return nil
      }
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
      let idleAckBack = spans(sos.idle, \.ackedAtBox)
      let drainAckBack = spans(sos.draining, \.ackedAtBox)
      let idleDelivered = spans(sos.idle, \.delivered)
      let idleAcknowledged = spans(sos.idle, \.acknowledged)
      let drainDelivered = spans(sos.draining, \.delivered)
      let drainAcknowledged = spans(sos.draining, \.acknowledged)
      let idleP99 = percentile(idleAckBack, 0.99)
      let drainP99 = percentile(drainAckBack, 0.99)
      func measured(_ values: [Double]) -> String {
        "p50 \(ms(percentile(values, 0.5))), p99 \(ms(percentile(values, 0.99))), "
          + "max \(ms(values.max())) (n = \(values.count))"
      }
      func verdict(_ ok: Bool) -> String {
        if !ok { passed = false }
        return ok ? "PASS" : "**FAIL**"
      }
      let backlog = options.backlog
      let enough = drainAckBack.count >= options.presses
      lines.append(
        "| SOS press → station commit → its ack back on the box, idle link | \(measured(idleAckBack)) | the reference for 2× | — |"
      )
      lines.append(
        "| SOS press → station commit → its ack back on the box, while \(backlog) records drain | \(measured(drainAckBack)) | p99 ≤ 50 ms | \(verdict(drainP99.map { $0 <= 50 } ?? false)) |"
      )
      let twice = idleP99.map { 2 * $0 }
      lines.append(
        "| the same, against the idle link of this run | p99 \(ms(drainP99)) = \(idleP99.flatMap { idle in drainP99.map { fixed($0 / idle, 2) } } ?? "?") × idle p99 | p99 ≤ 2 × idle p99 (≤ \(ms(twice))) | \(verdict(drainP99.flatMap { p99 in twice.map { p99 <= $0 } } ?? false)) |"
      )
      lines.append(
        "| presses counted while draining | \(drainAckBack.count) in \(sos.drains.count) drains | ≥ \(options.presses) | \(verdict(enough)) |"
      )
      lines.append(
        "| SOS press → *delivered* reported to `outpostctl` (after *recorded*: the box's own fsync too), idle link | \(measured(idleDelivered)) | reported | — |"
      )
      lines.append(
        "| SOS press → *delivered* reported to `outpostctl`, while \(backlog) records drain | \(measured(drainDelivered)) | reported | — |"
      )
      lines.append(
        "| SOS press → *acknowledged* by the officer, on the box, idle link | \(measured(idleAcknowledged)) | reported (not the bar: includes the benchmark officer's 2-ms look at the store) | — |"
      )
      lines.append(
        "| SOS press → *acknowledged* by the officer, on the box, while \(backlog) records drain | \(measured(drainAcknowledged)) | reported | — |"
      )
      let recorded = spans(sos.idle, \.recorded)
      lines.append(
        "| SOS press → *recorded* (fsynced in the box's journal), idle link | p50 \(ms(percentile(recorded, 0.5))), p99 \(ms(percentile(recorded, 0.99))) | reported | — |"
      )
      let drainRecorded = spans(sos.draining, \.recorded)
      lines.append(
        "| SOS press → *recorded*, while \(backlog) records drain | p50 \(ms(percentile(drainRecorded, 0.5))), p99 \(ms(percentile(drainRecorded, 0.99))) | reported | — |"
      )
      let problems = (sos.idle + sos.draining).compactMap(\.problem)
      if !problems.isEmpty {
        passed = false
        notes.append(
          "SOS presses that failed or joined an incident: \(problems.count), the first: \(problems[0])"
        )
      }
      if let short = sos.shortBecause {
        notes.append("The drain cycles stopped short of \(options.presses) presses: \(short).")
      }
      let drains = sos.drains
      if !drains.isEmpty {
        let seconds = drains.map { Double($0.drainMicros) / 1e6 }
        let rates = drains.map { Double($0.records) / (Double($0.drainMicros) / 1e6) }
        let connects = drains.map { Double($0.connectMicros) / 1e6 }
        let stored = drains.reduce(0) { $0 + $1.stored }
        let appended = drains.reduce(0) { $0 + $1.records }
        let leftOver = drains.reduce(0) { $0 + $1.leftOver }
        let overwritten = drains.reduce(0) { $0 + $1.overwritten }
        let killed = drains.filter(\.boxKilled).count
        let before = drains.reduce(0) { $0 + $1.pressesBefore }
        let after = drains.reduce(0) { $0 + $1.pressesAfter }
        func spread(_ values: [Double], _ digits: Int) -> String {
          "\(fixed(values.min() ?? 0, digits)) / \(fixed(percentile(values, 0.5) ?? 0, digits)) / \(fixed(values.max() ?? 0, digits))"
        }
        let drained = stored == appended && leftOver == 0 && overwritten == 0 && killed == 0
        if !drained { passed = false }
        lines.append(
          "| backlog drained | \(stored) of \(appended) backlog records stored at the station in \(drains.count) drains; \(overwritten) overwritten in the box's journal, \(leftOver) left over between drains, box killed at \(killed) stops | every record, none overwritten or left over | \(drained ? "PASS" : "**FAIL**") |"
        )
        lines.append(
          "| drain rate (station commits of the backlog, first to last), min / median / max | \(spread(rates, 0)) records/s; \(spread(seconds, 2)) s a drain | reported | — |"
        )
        notes.append(
          "Drains: \(drains.count) of \(backlog) position records each, from a "
            + "\(sos.journalBytes >> 20) MiB journal, the box stopped, filled and started again "
            + "each time. From the box's start to the first backlog record committed: "
            + "\(spread(connects, 2)) s (min / median / max). Presses per drain: "
            + "\(spread(drains.map { Double($0.presses) }, 0)); presses made while the box was "
            + "still connecting (before the first backlog record was committed): \(before), "
            + "after the last: \(after) (neither counted). A press counts when it started "
            + "between the station's commit of the drain's first and last backlog record "
            + "(`received_at_ms`). Incidents the officer acknowledged: \(sos.officerAcks).")
      }
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
