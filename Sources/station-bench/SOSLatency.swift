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
  /// Presses started while a backlog was draining.
  var draining: [PressTiming] = []
  /// Presses made after a drain had finished (not counted in either figure).
  var afterDrain = 0
  var drains: [DrainCycle] = []
  /// Incidents the officer acknowledged, and how long after the press each was (µs, from the
  /// store's poll that saw it to the control-socket reply).
  var officerAcks = 0
  var journalBytes: UInt64 = 0
}

/// One fill-and-drain cycle.
struct DrainCycle {
  var records: Int
  /// µs from the box's READY=1 to the first backlog record stored at the station.
  var connectMicros: UInt64
  /// µs from the first to the last backlog record stored.
  var drainMicros: UInt64
  var presses: Int
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
    // been offline, and started again; presses go on until the last backlog record is stored.
    let deadline = monotonicMs() + 240_000
    while result.draining.count < presses && monotonicMs() < deadline
      && result.drains.count < 50
    {
      await box.stop()
      let fill = try fillJournal(path: boxState + "/journal", count: options.backlog)
      let started = monotonicMicros()
      _ = try await box.start()
      // The drain is under way once the station holds the first backlog record.
      while try await store.storedRanges(
        deviceID: deviceID, epoch: fill.epoch, from: fill.first, limit: 1
      ).isEmpty {
        guard monotonicMs() < deadline else {
          // The time budget ran out with this cycle's backlog not yet arriving: report the
          // cycles that ran (none at all is a failure).
          guard !result.drains.isEmpty else { throw BenchError("the backlog never arrived") }
          return result
        }
        try await Task.sleep(for: .milliseconds(2))
      }
      let firstStored = monotonicMicros()
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
      let timings = try await onOwnThread { () -> [PressTiming] in
        var timings: [PressTiming] = []
        while drained.value == nil && monotonicMs() < deadline {
          timings.append(pressAndCancel(socket: boxSocket, timeoutMs: 10_000))
          if gap > 0 { usleep(UInt32(gap) * 1000) }
        }
        return timings
      }
      watcher.cancel()
      let end = drained.value ?? monotonicMicros()
      // A press counts as "during the drain" when it started before the last backlog record
      // was seen stored (the watcher looks every 20 ms; presses in that last slice count, as
      // the drain may have ended just before the look).
      let during = timings.filter { $0.startedAt < end }
      result.draining += during
      result.afterDrain += timings.count - during.count
      result.drains.append(
        DrainCycle(
          records: options.backlog, connectMicros: firstStored - started,
          drainMicros: end - firstStored, presses: during.count))
    }
    return result
  }

  /// Appends `count` position records (a box moving along a line, its clock not yet trusted)
  /// to the box's journal while outpostd is stopped, as if the box had recorded them offline.
  func fillJournal(path: String, count: Int) throws -> (epoch: UInt64, first: UInt64, last: UInt64)
  {
    let ring = try RingJournal.openOrCreate(path: path, size: Self.journalSize)
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
    try ring.sync()
    try ring.checkpoint()
    return (epoch, first, last)
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

/// When the last backlog record was seen stored; set once by the watcher, read by the presses.
final class DrainEnd: Sendable {
  private let at = Mutex<UInt64?>(nil)

  var value: UInt64? { at.withLock { $0 } }

  func set(_ micros: UInt64) {
    at.withLock { $0 = micros }
  }
}
