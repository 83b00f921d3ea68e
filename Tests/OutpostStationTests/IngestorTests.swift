import Logging
import OutpostCore
import OutpostStore
import Synchronization
import Testing

@testable import OutpostStation

/// The ingest queue's rounds: alarms ahead of routine batches, routine rounds bounded, and a
/// routine round not yet committing preempted by an alarm.
@Suite struct IngestorTests {
  @Test func anAlarmBatchOvertakesRoutineBatchesQueuedBeforeIt() async throws {
    let store = RoundRecordingStore()
    let ingestor = Ingestor(store: store, logger: Logger(label: "test")) { _ in }
    let first = Task { try await ingestor.submit(batch(from: 1, count: 10)) }
    try await store.waitForRounds(1)
    var routine: [Task<Void, any Error>] = []
    for (index, start) in [100, 200].enumerated() {
      routine.append(Task { try await ingestor.submit(batch(from: UInt64(start), count: 10)) })
      try await waitUntilQueued(ingestor, index + 1)
    }
    let sos = Task { try await ingestor.submit(batch(from: 300, count: 1, alarm: true)) }
    try await waitUntilQueued(ingestor, 3)
    store.release()
    try await first.value
    try await sos.value
    for task in routine { try await task.value }
    // The SOS batch commits on its own right after the round that was running, then the
    // routine batches that were queued before it.
    #expect(store.rounds == [[1], [300], [100, 200]])
  }

  @Test func routineRoundsTakeAtMostTheRecordLimit() async throws {
    let store = RoundRecordingStore()
    let ingestor = Ingestor(store: store, logger: Logger(label: "test")) { _ in }
    let first = Task { try await ingestor.submit(batch(from: 1, count: 1)) }
    try await store.waitForRounds(1)
    let half = Ingestor.roundRecordLimit / 2
    var queued: [Task<Void, any Error>] = []
    for index in 0..<5 {
      let start = UInt64(10_000 * (index + 1))
      queued.append(Task { try await ingestor.submit(batch(from: start, count: half)) })
      try await waitUntilQueued(ingestor, index + 1)
    }
    store.release()
    try await first.value
    for task in queued { try await task.value }
    #expect(store.rounds == [[1], [10_000, 20_000], [30_000, 40_000], [50_000]])
  }

  @Test func aRoutineRoundGivesWayToAnAlarmAndRunsAgainAfterIt() async throws {
    let store = RoundRecordingStore(holdingPreemptibleRounds: 1)
    let ingestor = Ingestor(store: store, logger: Logger(label: "test")) { _ in }
    let routine = Task { try await ingestor.submit(batch(from: 1, count: 10)) }
    try await store.waitForRounds(1)
    let sos = Task { try await ingestor.submit(batch(from: 300, count: 1, alarm: true)) }
    try await sos.value
    try await routine.value
    // The routine round stopped before its commit, the SOS went alone, then the routine round
    // ran again (no token: a preempted round is a new round, and could give way again).
    #expect(store.rounds == [[1], [300], [1]])
    #expect(store.tokens == [true, false, true])
    #expect(await ingestor.preempted == 1)
  }

  @Test func aRoundThatGaveWayThreeTimesRunsToItsEnd() async throws {
    let store = RoundRecordingStore(holdingPreemptibleRounds: 3)
    let ingestor = Ingestor(store: store, logger: Logger(label: "test")) { _ in }
    let routine = Task { try await ingestor.submit(batch(from: 1, count: 10)) }
    try await store.waitForRounds(1)
    var alarms: [Task<Void, any Error>] = []
    for (index, seq) in [300, 400, 500].enumerated() {
      alarms.append(
        Task { try await ingestor.submit(batch(from: UInt64(seq), count: 1, alarm: true)) })
      try await store.waitForRounds(3 + 2 * index)
    }
    try await routine.value
    for alarm in alarms { try await alarm.value }
    #expect(store.rounds == [[1], [300], [1], [400], [1], [500], [1]])
    // The fourth try of the routine round was not preemptible: it could not be held off again.
    #expect(store.tokens == [true, false, true, false, true, false, false])
    #expect(await ingestor.preempted == 3)
  }

  private func waitUntilQueued(_ ingestor: Ingestor, _ count: Int) async throws {
    for _ in 0..<5000 {
      if await ingestor.queued >= count { return }
      try await Task.sleep(for: .milliseconds(1))
    }
    Issue.record("the ingestor never had \(count) batches queued")
  }
}

/// Batch of `count` records from `seq` on, of device 1: SOS records when `alarm`, else test
/// records of normal priority.
private func batch(from seq: UInt64, count: Int, alarm: Bool = false) -> IngestBatch {
  IngestBatch(
    deviceID: 1, epoch: 7,
    records: (0..<UInt64(count)).map { offset in
      Record(
        seq: seq + offset, kind: alarm ? .sos : .test, priority: alarm ? .alarm : .normal,
        time: RecordTime(wallMs: 1_700_000_000_000, clockTrusted: true, boot: 1, sinceBootMs: 0),
        body: alarm ? RecordBody.sos(presses: 1, position: nil).encoded() : [])
    })
}

/// A store that only ingests: it notes the first sequence number of each batch of every round,
/// and holds the first round until ``release()``, so that a test can queue batches behind it.
///
/// Holding preemptible rounds, it holds the first ones given an ``IngestPreemption`` until each
/// is preempted (and then stops it, as the SQLite store does), and notes which rounds had one.
private final class RoundRecordingStore: StationStore {
  private let state = Mutex<(rounds: [[UInt64]], released: Bool, tokens: [Bool])>(([], false, []))
  private let held = Mutex<CheckedContinuation<Void, Never>?>(nil)
  /// How many rounds given an ``IngestPreemption`` are held until preempted (0: the store
  /// ignores preemption, as the PostgreSQL store does).
  let holding: Int

  init(holdingPreemptibleRounds holding: Int = 0) {
    self.holding = holding
  }

  var rounds: [[UInt64]] { state.withLock { $0.rounds } }
  /// For each round, whether it was given an ``IngestPreemption``.
  var tokens: [Bool] { state.withLock { $0.tokens } }

  func ingest(
    _ batches: [IngestBatch], receivedAtMs: Int64, preemption: IngestPreemption
  ) async throws -> [StoreEvent] {
    guard holding > 0 else { return try await ingest(batches, receivedAtMs: receivedAtMs) }
    let hold = state.withLock { state -> Bool in
      state.rounds.append(batches.map { $0.records.first?.seq ?? 0 })
      state.tokens.append(true)
      return state.tokens.count(where: { $0 }) <= holding
    }
    while hold && !preemption.wasPreempted {
      try await Task.sleep(for: .milliseconds(1))
    }
    try preemption.checkpoint()
    try preemption.committing()
    return []
  }

  func release() {
    state.withLock { $0.released = true }
    held.withLock { $0.take() }?.resume()
  }

  func waitForRounds(_ count: Int) async throws {
    for _ in 0..<5000 {
      if rounds.count >= count { return }
      try await Task.sleep(for: .milliseconds(1))
    }
    Issue.record("the store never saw \(count) rounds")
  }

  func ingest(_ batches: [IngestBatch], receivedAtMs: Int64) async throws -> [StoreEvent] {
    let hold = state.withLock { state -> Bool in
      state.rounds.append(batches.map { $0.records.first?.seq ?? 0 })
      state.tokens.append(false)
      return state.rounds.count == 1 && !state.released && holding == 0
    }
    if hold {
      await withCheckedContinuation { continuation in
        let released = state.withLock { $0.released }
        if released {
          continuation.resume()
        } else {
          held.withLock { $0 = continuation }
          // release() may have run between the two looks.
          if state.withLock({ $0.released }) { held.withLock { $0.take() }?.resume() }
        }
      }
    }
    return []
  }

  private func unused() -> StoreError { .unavailable("not used by this test") }

  func migrate() async throws {}
  func addDevice(
    _ registration: DeviceRegistration, datagramSecrets: [DatagramSecret], atMs: Int64
  ) async throws -> Device {
    throw unused()
  }
  func revokeDevice(named name: String, by: String, atMs: Int64) async throws -> Device {
    throw unused()
  }
  func device(named name: String) async throws -> Device? { nil }
  func devices() async throws -> [DeviceSummary] { [] }
  func setNeighbours(of name: String, to neighbours: [String]) async throws { throw unused() }
  func neighbours(ofDeviceID deviceID: Int64) async throws -> [Device] { [] }
  func setLink(deviceID: Int64, up: Bool, station: String, atMs: Int64) async throws
    -> [StoreEvent]
  { [] }
  func storedRanges(deviceID: Int64, epoch: UInt64, from: UInt64, limit: Int) async throws
    -> [ClosedRange<UInt64>]
  { [] }
  func events(_ query: EventQuery) async throws -> [StoredEvent] { [] }
  func datagramKey(deviceNumber: UInt32, keyIndex: UInt8) async throws -> DatagramKeyEntry? { nil }
  func saveDatagramWindow(_ update: DatagramWindowUpdate) async throws {}
  func leaseDatagramCounters(deviceID: Int64, keyIndex: UInt8, count: UInt64) async throws
    -> ClosedRange<UInt64>?
  { nil }
  func incidents(openOnly: Bool, limit: Int) async throws -> [Incident] { [] }
  func incident(id: Int64) async throws -> Incident? { nil }
  func acknowledgeIncident(id: Int64, by: String, note: String?, atMs: Int64) async throws
    -> Incident
  { throw unused() }
  func resolveIncident(
    id: Int64, by: String, outcome: IncidentOutcome, note: String?, atMs: Int64
  ) async throws -> Incident { throw unused() }
  func incidentsToEscalate(openedBeforeMs: Int64, level: Int) async throws -> [Incident] { [] }
  func markEscalated(id: Int64, level: Int, detail: String, atMs: Int64) async throws {}
  func incidentsToNotify(deviceID: Int64) async throws -> [Incident] { [] }
  func markBoxNotified(incidentID: Int64, state: IncidentState) async throws {}
  func raiseOverdueCheckIns(nowMs: Int64) async throws -> [StoreEvent] { [] }
  func raiseOffline(nowMs: Int64, defaultLimitMs: Int64) async throws -> [StoreEvent] { [] }
  func audit(limit: Int) async throws -> [AuditEntry] { [] }
  func addAudit(
    actor: String, action: String, incidentID: Int64?, device: String?, detail: String,
    atMs: Int64
  ) async throws {}
  func close() async throws {}
}
