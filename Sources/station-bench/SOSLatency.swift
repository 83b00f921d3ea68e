import GRDB
import Glibc
import Logging
import OutpostCore
import OutpostJournal
import OutpostStore
import OutpostTestKit
import Synchronization

/// What the SOS latency run measured.
struct SOSLatencyResult {
  /// Presses on the idle link.
  var idle: [PressTiming] = []
  /// Presses made while a backlog was draining: started between the station's commit of the
  /// cycle's first backlog record and of its last.
  var draining: [PressTiming] = []
  var drains: [DrainCycle] = []
  /// Why the drain cycles stopped before `--presses` presses were counted, if they did.
  var shortBecause: String?
  /// Incidents the officer acknowledged, and how long after the press each was (µs, from the
  /// store's poll that saw it to the control-socket reply).
  var officerAcks = 0
  var journalBytes: UInt64 = 0
}

/// One fill-and-drain cycle.
struct DrainCycle {
  /// Backlog records appended to the box's journal while it was stopped.
  var records: Int
  /// Of them, the records the station holds at the end of the cycle (all of them, or the
  /// cycle is reported as a failure).
  var stored: Int
  /// Records the box's journal held unacknowledged before the backlog was appended (left over
  /// from earlier cycles: should be none).
  var leftOver: UInt64
  /// Unacknowledged records the journal overwrote while the backlog was appended.
  var overwritten: UInt64
  /// µs from starting the box to the station's commit of the first backlog record.
  var connectMicros: UInt64
  /// µs from the station's commit of the first backlog record to that of the last (the
  /// station's `received_at_ms`, so to the millisecond).
  var drainMicros: UInt64
  /// Presses counted (started within the drain), and presses made before the first backlog
  /// record was stored (the box still connecting) or after the last.
  var presses: Int
  var pressesBefore: Int
  var pressesAfter: Int
  /// The box did not stop within 20 s of SIGTERM before this cycle and was killed.
  var boxKilled: Bool
}

/// SOS presses through the real box and station: `outpostd` with its journal and uplink,
/// `outpost-station` with its SQLite store, TLS 1.3 on loopback, and an officer in this process
/// who acknowledges each new incident through the store and the station's control socket, as
/// `outpost-station incident ack` does.
struct SOSLatencyBench {
  let options: Options
  let directory: String
  let logger: Logger

  static let device = "bench-box"
  static let journalSize: UInt64 = 32 << 20

  func run() async throws -> SOSLatencyResult {
    let stationBinary = options.binaries + "/outpost-station"
    let agentBinary = options.binaries + "/outpostd"
    for binary in [stationBinary, agentBinary] where access(binary, X_OK) != 0 {
      throw BenchError("\(binary) is missing: build it first (swift build -c release)")
    }
    let stationState = directory + "/station"
    let stationRun = directory + "/station-run"
    let stationConfig = directory + "/station.toml"
    try writeFile(
      stationConfig,
      """
      [station]
      name = "bench-station"
      state_dir = "\(stationState)"
      run_dir = "\(stationRun)"
      listen = ["127.0.0.1:0"]

      [escalation]
      after_s = 0

      """)
    _ = try await runChecked(stationBinary, ["ca", "init", "--config", stationConfig])
    let station = try Daemon(
      binary: stationBinary, arguments: ["run", "--config", stationConfig],
      logPath: directory + "/station.log")
    let ready = try await station.start()
    do {
      return try await measure(
        station: station, ready: ready, stationBinary: stationBinary, agentBinary: agentBinary,
        stationConfig: stationConfig)
    } catch {
      await station.stop()
      throw error
    }
  }

  private func measure(
    station: Daemon, ready: String, stationBinary: String, agentBinary: String,
    stationConfig: String
  ) async throws -> SOSLatencyResult {
    let stationState = directory + "/station"
    let stationRun = directory + "/station-run"
    let boxState = directory + "/box"
    let boxRun = directory + "/box-run"
    guard let address = listeningAddress(in: ready) else {
      throw BenchError("no loopback address in the station's READY status: \(ready)")
    }
    let bundle = directory + "/\(Self.device).json"
    _ = try await runChecked(
      stationBinary,
      [
        "device", "add", Self.device, "--bundle", bundle, "--station", address, "--config",
        stationConfig,
      ])
    let agentConfig = directory + "/agent.toml"
    try writeFile(
      agentConfig,
      """
      [agent]
      device = "\(Self.device)"
      state_dir = "\(boxState)"
      run_dir = "\(boxRun)"

      [journal]
      size = \(Self.journalSize)

      [alarm]
      # Every press opens an incident of its own (each is cancelled before the next, too).
      join_window_s = 0

      [control]
      group = ""

      [uplink]
      enrollment = "\(bundle)"
      \(options.backlogSharePercent.map { "backlog_share_percent = \($0)" } ?? "")

      """)
    let box = try Daemon(
      binary: agentBinary, arguments: ["--config", agentConfig],
      logPath: directory + "/box.log")
    let store = try SQLiteStationStore(
      path: stationState + "/station.db", logger: logger, busyTimeoutMs: 30_000)
    guard let device = try await store.device(named: Self.device) else {
      throw BenchError("the station does not know \(Self.device)")
    }
    let officer = Officer(store: store, controlSocket: stationRun + "/control.sock")
    let officerTask = Task { await officer.run() }
    do {
      var result = try await presses(
        box: box, store: store, deviceID: device.id, boxState: boxState, boxRun: boxRun)
      officerTask.cancel()
      await officerTask.value
      result.officerAcks = officer.acknowledged
      await box.stop()
      await station.stop()
      try? await store.close()
      return result
    } catch {
      officerTask.cancel()
      await box.stop()
      await station.stop()
      try? await store.close()
      throw error
    }
  }

  private func presses(
    box: Daemon, store: SQLiteStationStore, deviceID: Int64, boxState: String, boxRun: String
  ) async throws -> SOSLatencyResult {
    let boxSocket = boxRun + "/control.sock"
    var result = SOSLatencyResult()
    result.journalBytes = Self.journalSize

    // Idle link: the box connected, nothing queued; a few presses to warm up first.
    _ = try await box.start()
    let gap = options.pressGapMs
    let presses = options.presses
    let warmUp = try await onOwnThread { () -> [PressTiming] in
      (0..<20).map { _ in pressAndCancel(socket: boxSocket, timeoutMs: 30_000) }
    }
    if let failed = warmUp.first(where: { $0.problem != nil }) {
      throw BenchError("warm-up press failed: \(failed.problem!); logs in \(directory)")
    }
    result.idle = try await onOwnThread { () -> [PressTiming] in
      (0..<presses).map { _ in
        let timing = pressAndCancel(socket: boxSocket, timeoutMs: 10_000)
        if gap > 0 { usleep(UInt32(gap) * 1000) }
        return timing
      }
    }

    // Draining: the box is stopped, its journal filled with position records as if it had
    // been offline, and started again; presses start as soon as its control socket answers
    // and go on until the station holds the last backlog record. Which presses fell inside
    // the drain is decided afterwards from the station's own commit times of the backlog.
    let stationDB = try Self.readOnly(path: directory + "/station/station.db")
    // Every counted press, for looking at where in a drain the slow ones fall (kept with the
    // scratch directory under --keep): drain, µs from the drain's first commit to the press,
    // and the press's spans in µs.
    var pressLog = ["drain,at_us,ack_back_us,recorded_us,delivered_us"]
    defer {
      try? writeFile(directory + "/presses-draining.csv", pressLog.joined(separator: "\n") + "\n")
    }
    let deadline = monotonicMs() + Self.drainBudgetMs
    while result.draining.count < presses {
      guard monotonicMs() < deadline else {
        result.shortBecause = "the \(Self.drainBudgetMs / 1000)-s budget for drain cycles ran out"
        break
      }
      guard result.drains.count < Self.maxDrainCycles else {
        result.shortBecause = "\(Self.maxDrainCycles) drain cycles ran"
        break
      }
      let stoppedByItself = await box.stop()
      let fill = try fillJournal(path: boxState + "/journal", count: options.backlog)
      let clockOffset = wallMicros() &- monotonicMicros()
      let started = monotonicMicros()
      _ = try await box.start(waitingForReady: false)
      let drained = DrainEnd()
      let watcher = Task {
        while !Task.isCancelled {
          let ranges = try? await store.storedRanges(
            deviceID: deviceID, epoch: fill.epoch, from: fill.last, limit: 1)
          if let first = ranges?.first, first.contains(fill.last) {
            drained.set(monotonicMicros())
            return
          }
          try? await Task.sleep(for: .milliseconds(20))
        }
      }
      let cycleDeadline = monotonicMs() + Self.cycleLimitMs
      let timings = try await onOwnThread { () -> [PressTiming] in
        // The control socket answers shortly after the start; presses made while the box
        // connects are not counted below.
        while true {
          if let fd = connectUnix(boxSocket) {
            close(fd)
            break
          }
          guard monotonicMs() < cycleDeadline else { return [] }
          usleep(1000)
        }
        var timings: [PressTiming] = []
        while drained.value == nil && monotonicMs() < cycleDeadline {
          timings.append(pressAndCancel(socket: boxSocket, timeoutMs: 10_000))
          if gap > 0 { usleep(UInt32(gap) * 1000) }
        }
        return timings
      }
      watcher.cancel()
      _ = try await box.ready()
      guard drained.value != nil else {
        throw BenchError(
          "the backlog of \(options.backlog) records did not drain within \(Self.cycleLimitMs / 1000) s; logs in \(directory)"
        )
      }
      // The station commits a connection's batches in the order their submissions reach the
      // ingestor, which is not always the order they arrived in: the last backlog record may be
      // stored a round before some earlier ones.
      var window = try Self.backlogCommits(
        stationDB, deviceID: deviceID, epoch: fill.epoch, seqs: fill.first...fill.last)
      let countDeadline = monotonicMs() + 30_000
      while window.count < options.backlog && monotonicMs() < countDeadline {
        try await Task.sleep(for: .milliseconds(20))
        window = try Self.backlogCommits(
          stationDB, deviceID: deviceID, epoch: fill.epoch, seqs: fill.first...fill.last)
      }
      guard window.count == options.backlog else {
        throw BenchError(
          "the station holds \(window.count) of the \(options.backlog) backlog records of the cycle; logs in \(directory)"
        )
      }
      // Wall-clock µs of a press's start (the station stamps commits with the wall clock).
      let firstMicros = UInt64(window.firstMs) * 1000
      let lastMicros = UInt64(window.lastMs) * 1000 + 999
      var cycle = DrainCycle(
        records: options.backlog, stored: window.count, leftOver: fill.leftOver,
        overwritten: fill.overwritten,
        connectMicros: firstMicros &- (started &+ clockOffset),
        drainMicros: lastMicros - firstMicros, presses: 0, pressesBefore: 0, pressesAfter: 0,
        boxKilled: !stoppedByItself)
      for timing in timings {
        let at = timing.startedAt &+ clockOffset
        if at < firstMicros {
          cycle.pressesBefore += 1
        } else if at > lastMicros {
          cycle.pressesAfter += 1
        } else {
          cycle.presses += 1
          result.draining.append(timing)
          pressLog.append(
            "\(result.drains.count + 1),\(at - firstMicros),\(Self.span(timing.ackedAtBox, timing)),"
              + "\(Self.span(timing.recorded, timing)),\(Self.span(timing.delivered, timing))")
        }
      }
      result.drains.append(cycle)
      status(
        "drain \(result.drains.count): \(fixed(Double(cycle.drainMicros) / 1e6, 2)) s, \(cycle.presses) presses counted (\(result.draining.count) of \(presses))"
      )
    }
    return result
  }

  /// µs from a press's start to `at`, or empty.
  static func span(_ at: UInt64?, _ timing: PressTiming) -> String {
    guard let at, at >= timing.startedAt else { return "" }
    return "\(at - timing.startedAt)"
  }

  /// How long the drain cycles may take together, and how many there may be.
  static let drainBudgetMs: UInt64 = 600_000
  static let maxDrainCycles = 200
  /// How long one cycle's backlog may take to drain before the run fails.
  static let cycleLimitMs: UInt64 = 120_000

  /// The station's database, opened read-only beside the running station.
  static func readOnly(path: String) throws -> DatabaseQueue {
    var configuration = Configuration()
    configuration.readonly = true
    return try DatabaseQueue(path: path, configuration: configuration)
  }

  /// How many records of `seqs` the station holds, and the first and last `received_at_ms`
  /// among them (the wall-clock ms at which the round that committed each began).
  static func backlogCommits(
    _ database: DatabaseQueue, deviceID: Int64, epoch: UInt64, seqs: ClosedRange<UInt64>
  ) throws -> (count: Int, firstMs: Int64, lastMs: Int64) {
    try database.read { db in
      let row = try Row.fetchOne(
        db,
        sql: """
          SELECT COUNT(*) AS n, MIN(received_at_ms) AS first, MAX(received_at_ms) AS last
          FROM records WHERE device_id = ? AND epoch = ? AND seq BETWEEN ? AND ?
          """,
        arguments: [
          deviceID, Int64(bitPattern: epoch), Int64(bitPattern: seqs.lowerBound),
          Int64(bitPattern: seqs.upperBound),
        ])
      let count: Int = row?["n"] ?? 0
      return (count, row?["first"] ?? 0, row?["last"] ?? 0)
    }
  }

  /// Appends `count` position records (a box moving along a line, its clock not yet trusted)
  /// to the box's journal while outpostd is stopped, as if the box had recorded them offline.
  ///
  /// - Returns: the journal's epoch, the first and last sequence numbers appended, the records
  ///   it held unacknowledged before, and the unacknowledged records it overwrote meanwhile.
  func fillJournal(path: String, count: Int) throws -> (
    epoch: UInt64, first: UInt64, last: UInt64, leftOver: UInt64, overwritten: UInt64
  ) {
    let ring = try RingJournal.openOrCreate(path: path, size: Self.journalSize)
    let before = try ring.statistics()
    let epoch = ring.epoch
    let first = ring.nextSequenceNumber
    var last = first
    var realTime = timespec()
    clock_gettime(CLOCK_REALTIME, &realTime)
    let nowMs = Int64(realTime.tv_sec) * 1000 + Int64(realTime.tv_nsec) / 1_000_000
    var entries: [JournalEntry] = []
    entries.reserveCapacity(1024)
    var appended = 0
    while appended < count {
      entries.removeAll(keepingCapacity: true)
      for index in appended..<min(count, appended + 1024) {
        let position = Position(
          latitudeE7: 479_000_000 + Int32(index % 100_000) * 37,
          longitudeE7: 1_069_000_000 + Int32(index % 100_000) * 53,
          altitudeDm: 13_500, speedCmPerS: 420, headingCdeg: 4_500, hdopCenti: 90,
          satellites: 9)
        let time = RecordTime(
          wallMs: nowMs - Int64(count - index) * 1000, clockTrusted: true, boot: 1,
          sinceBootMs: UInt64(index) * 1000)
        entries.append(JournalEntry(.position(position), time: time))
      }
      let seqs = try ring.append(contentsOf: entries, durable: false)
      last = seqs.last ?? last
      appended += entries.count
    }
    // Closed as the agent closes it: the unused part of the sequence lease is given back.
    try ring.close()
    let after = try ring.statistics()
    return (
      epoch, first, last, before.pending,
      after.droppedUnacknowledged - before.droppedUnacknowledged
    )
  }
}

/// An officer at the station's console who acknowledges every new incident the moment it
/// shows: looks at the store every 2 ms, acknowledges each open incident in the store and tells
/// the daemon over its control socket (`incident ID`), as `outpost-station incident ack` does.
final class Officer: Sendable {
  let store: SQLiteStationStore
  let controlSocket: String
  private let count = Mutex(0)

  init(store: SQLiteStationStore, controlSocket: String) {
    self.store = store
    self.controlSocket = controlSocket
  }

  var acknowledged: Int { count.withLock { $0 } }

  func run() async {
    while !Task.isCancelled {
      let open =
        (try? await store.incidents(openOnly: true, limit: 16))?.filter { $0.state == .open }
        ?? []
      for incident in open.reversed() {
        guard
          (try? await store.acknowledgeIncident(
            id: incident.id, by: "bench-officer", note: nil, atMs: wallMs())) != nil
        else { continue }
        let socket = controlSocket
        let id = incident.id
        _ = try? await onOwnThread { tellStation(socket: socket, "incident \(id)") }
        count.withLock { $0 += 1 }
      }
      if open.isEmpty { try? await Task.sleep(for: .milliseconds(2)) }
    }
  }
}

/// The wall clock in ms since the Unix epoch.
func wallMs() -> Int64 {
  var t = timespec()
  clock_gettime(CLOCK_REALTIME, &t)
  return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
}

/// The wall clock in µs since the Unix epoch.
func wallMicros() -> UInt64 {
  var t = timespec()
  clock_gettime(CLOCK_REALTIME, &t)
  return UInt64(t.tv_sec) * 1_000_000 + UInt64(t.tv_nsec) / 1000
}

/// When the last backlog record was seen stored; set once by the watcher, read by the presses.
final class DrainEnd: Sendable {
  private let at = Mutex<UInt64?>(nil)

  var value: UInt64? { at.withLock { $0 } }

  func set(_ micros: UInt64) {
    at.withLock { $0 = micros }
  }
}
