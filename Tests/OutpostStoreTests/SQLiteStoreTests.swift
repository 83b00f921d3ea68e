import Glibc
import OutpostCore
import OutpostTestKit
import Testing

@testable import OutpostStore

/// What only the SQLite store has: a file that outlives the store, a read-only open, a schema
/// from a newer station.
@Suite("SQLite store")
struct SQLiteStoreTests {
  @Test("what was committed is there after reopening")
  func reopen() async throws {
    let directory = TemporaryDirectory("store")
    let path = directory.file("station.sqlite")
    var store = try SQLiteStationStore(path: path, logger: testLogger)
    try await store.migrate()
    let box = try await store.addDevice(registration("box-a"), atMs: 1)
    _ = try await store.ingest(
      [IngestBatch(deviceID: box.id, epoch: 5, records: [reading(1), reading(2)])],
      receivedAtMs: 3)
    try await store.close()

    store = try SQLiteStationStore(path: path, logger: testLogger)
    try await store.migrate()
    #expect(try await store.summary("box-a")?.records == 2)
    #expect(try await store.storedRanges(deviceID: box.id, epoch: 5, from: 0, limit: 4) == [1...2])
    try await store.close()
  }

  @Test("a preempted ingest stores nothing; one already committing cannot be preempted")
  func preemptedIngest() async throws {
    let directory = TemporaryDirectory("store")
    let store = try SQLiteStationStore(path: directory.file("station.sqlite"), logger: testLogger)
    try await store.migrate()
    let box = try await store.addDevice(registration("box-a"), atMs: 1)
    let batch = IngestBatch(deviceID: box.id, epoch: 5, records: (1...300).map { reading($0) })

    let preempted = IngestPreemption()
    #expect(preempted.preempt())
    await #expect(throws: StoreError.preempted) {
      _ = try await store.ingest([batch], receivedAtMs: 3, preemption: preempted)
    }
    #expect(try await store.storedRanges(deviceID: box.id, epoch: 5, from: 0, limit: 4) == [])
    #expect(try await store.summary("box-a")?.records == 0)

    // Run again, as the ingestor does, it stores the batch whole.
    let again = IngestPreemption()
    _ = try await store.ingest([batch], receivedAtMs: 4, preemption: again)
    #expect(again.preempt() == false)
    #expect(again.wasPreempted == false)
    #expect(
      try await store.storedRanges(deviceID: box.id, epoch: 5, from: 0, limit: 4) == [1...300])
    try await store.close()
  }

  @Test("datagram windows and counter leases survive reopening")
  func datagramStateAfterReopening() async throws {
    let directory = TemporaryDirectory("store")
    let path = directory.file("station.sqlite")
    var store = try SQLiteStationStore(path: path, logger: testLogger)
    try await store.migrate()
    let secret = DatagramSecret(index: 0, bytes: Array(repeating: 1, count: 32))
    let box = try await store.addDevice(registration("box-a"), datagramSecrets: [secret], atMs: 1)
    try await store.saveDatagramWindow(
      DatagramWindowUpdate(
        deviceID: box.id, keyIndex: 0, window: StoredReplayWindow(highest: 7, seen: 0b11)))
    #expect(
      try await store.leaseDatagramCounters(deviceID: box.id, keyIndex: 0, count: 1024) == 1...1024)
    try await store.close()

    store = try SQLiteStationStore(path: path, logger: testLogger)
    try await store.migrate()
    let entry = try await store.datagramKey(deviceNumber: box.number, keyIndex: 0)
    #expect(entry?.secret == secret)
    #expect(entry?.uplinkWindow == StoredReplayWindow(highest: 7, seen: 0b11))
    #expect(
      try await store.leaseDatagramCounters(deviceID: box.id, keyIndex: 0, count: 1024)
        == 1025...2048)
    try await store.close()
  }

  @Test("a file of the first schema version is migrated and keeps its devices")
  func migrationFromVersion1() async throws {
    let directory = TemporaryDirectory("store")
    let path = directory.file("station.sqlite")
    var store = try SQLiteStationStore(path: path, logger: testLogger)
    try SQLiteSchema.migrator.migrate(store.pool, upTo: "1-initial")
    let box = try await store.addDevice(registration("box-a"), atMs: 1)
    try await store.close()

    store = try SQLiteStationStore(path: path, logger: testLogger)
    try await store.migrate()
    #expect(try await store.device(named: "box-a") == box)
    // Enrolled before the station kept datagram keys: its datagrams have no key here.
    #expect(try await store.datagramKey(deviceNumber: box.number, keyIndex: 0) == nil)
    try await store.close()
  }

  @Test("a read-only file refuses writes as unavailable and keeps its data")
  func readOnly() async throws {
    let directory = TemporaryDirectory("store")
    let path = directory.file("station.sqlite")
    let writable = try SQLiteStationStore(path: path, logger: testLogger)
    try await writable.migrate()
    let box = try await writable.addDevice(registration("box-a"), atMs: 1)
    _ = try await writable.ingest(
      [IngestBatch(deviceID: box.id, epoch: 5, records: [reading(1)])], receivedAtMs: 3)
    let before = try await writable.devices()
    try await writable.close()

    let readOnly = try SQLiteStationStore(path: path, logger: testLogger, readOnly: true)
    let error = await #expect(throws: StoreError.self) {
      try await readOnly.ingest(
        [IngestBatch(deviceID: box.id, epoch: 5, records: [reading(2), reading(3)])],
        receivedAtMs: 4)
    }
    guard case .unavailable(let why)? = error else {
      Issue.record("expected unavailable, got \(String(describing: error))")
      return
    }
    #expect(why.contains(path))
    #expect(try await readOnly.devices() == before)
    try await readOnly.close()

    let reopened = try SQLiteStationStore(path: path, logger: testLogger)
    #expect(try await reopened.devices() == before)
    #expect(try await reopened.events(EventQuery()).map(\.record.seq) == [1])
    try await reopened.close()
  }

  @Test("a file that cannot be opened is unavailable, named")
  func unopenable() async throws {
    let directory = TemporaryDirectory("store")
    let path = directory.file("missing/station.sqlite")
    #expect {
      _ = try SQLiteStationStore(path: path, logger: testLogger)
    } throws: { error in
      guard case .unavailable(let why) = error as? StoreError else { return false }
      return why.contains(path)
    }
  }

  @Test("a schema from a newer station is refused")
  func newerSchema() async throws {
    let directory = TemporaryDirectory("store")
    let store = try SQLiteStationStore(path: directory.file("station.sqlite"), logger: testLogger)
    try await store.migrate()
    try await store.executeForTesting(
      "INSERT INTO grdb_migrations (identifier) VALUES ('99-from-the-future')")
    let known = SQLiteSchema.migrator.migrations.count
    await #expect(throws: StoreError.schemaTooNew(found: known + 1, known: known)) {
      try await store.migrate()
    }
    try await store.close()
  }

  /// Commits do not checkpoint the write-ahead log themselves (a routine round that did took
  /// many times longer, and an SOS waited for it): the store's own checkpointer copies the log
  /// into the database file beside them.
  @Test("the write-ahead log is copied into the database file beside the commits")
  func checkpointsBesideTheCommits() async throws {
    let directory = TemporaryDirectory("store")
    let path = directory.file("station.sqlite")
    let store = try SQLiteStationStore(path: path, logger: testLogger)
    try await store.migrate()
    #expect(
      try await store.pool.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 0)
    let box = try await store.addDevice(registration("box-a"), atMs: 1)
    for round in 0..<20 {
      let records = (0..<250).map { reading(UInt64(round * 250 + $0)) }
      _ = try await store.ingest(
        [IngestBatch(deviceID: box.id, epoch: 5, records: records)], receivedAtMs: 3)
    }
    // 5,000 records need far more than the few pages the schema takes: the database file
    // grows only when a checkpoint copies them there, and only the checkpointer does.
    var size = 0
    for _ in 0..<1_500 {
      size = fileSize(path)
      if size >= 256 * 1024 { break }
      try await Task.sleep(for: .milliseconds(20))
    }
    #expect(size >= 256 * 1024)
    #expect(try await store.summary("box-a")?.records == 5_000)
    try await store.close()
  }
}

/// The size of the file at `path` in bytes; 0 when it cannot be read.
private func fileSize(_ path: String) -> Int {
  var status = stat()
  return stat(path, &status) == 0 ? Int(status.st_size) : 0
}
