import Logging
import OutpostCore
import OutpostStore
import Synchronization
import Testing

@testable import OutpostStation

/// The ingest queue's rounds: alarms ahead of routine batches, and routine rounds bounded.
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
private final class RoundRecordingStore: StationStore {
  private let state = Mutex<(rounds: [[UInt64]], released: Bool)>(([], false))
  private let held = Mutex<CheckedContinuation<Void, Never>?>(nil)

  var rounds: [[UInt64]] { state.withLock { $0.rounds } }

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
      return state.rounds.count == 1 && !state.released
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
