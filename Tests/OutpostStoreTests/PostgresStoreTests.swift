import OutpostCore
import Synchronization
import Testing

@testable import OutpostStore

/// What only the PostgreSQL store has: several stations migrating at once, a server that is
/// not there, a connection lost in the middle of a transaction.
@Suite("PostgreSQL store", .enabled(if: !Backend.skipPostgres, "OUTPOST_SKIP_POSTGRES=1"))
struct PostgresStoreTests {
  @Test("several stations migrate one database at once")
  func concurrentMigrations() async throws {
    let configuration = try Backend.postgresConfiguration()
    let stores = (0..<4).map { _ in
      PostgresStationStore(configuration: configuration, logger: testLogger)
    }
    let running = stores.map { store in Task { await store.run() } }
    do {
      try await withThrowingTaskGroup(of: Void.self) { group in
        for store in stores { group.addTask { try await store.migrate() } }
        try await group.waitForAll()
      }
      // Applied once: every store works on the one schema, and migrating again is a no-op.
      let added = try await stores[0].addDevice(registration("box-m"), atMs: 1)
      try await stores[3].migrate()
      #expect(try await stores[2].device(named: "box-m") == added)

      // Stations sharing the database lease station → box counters in blocks that never
      // overlap, however their calls interleave.
      let keyed = try await stores[0].addDevice(
        registration("box-d"),
        datagramSecrets: [DatagramSecret(index: 0, bytes: Array(repeating: 3, count: 32))], atMs: 2
      )
      let leased = try await withThrowingTaskGroup(of: [ClosedRange<UInt64>].self) { group in
        for store in stores {
          group.addTask {
            var ranges: [ClosedRange<UInt64>] = []
            for _ in 0..<10 {
              if let range = try await store.leaseDatagramCounters(
                deviceID: keyed.id, keyIndex: 0, count: 100)
              {
                ranges.append(range)
              }
            }
            return ranges
          }
        }
        return try await group.reduce(into: []) { $0 += $1 }
      }
      let blocks: [ClosedRange<UInt64>] = (0..<UInt64(40)).map { block in
        (block * 100 + 1)...(block * 100 + 100)
      }
      let sorted = leased.sorted { $0.lowerBound < $1.lowerBound }
      #expect(sorted == blocks)

      try await stores[1].executeForTesting("UPDATE schema_version SET version = 99")
      await #expect(
        throws: StoreError.schemaTooNew(found: 99, known: PostgresSchema.migrations.count)
      ) {
        try await stores[1].migrate()
      }
      try await stores[0].executeForTesting("DROP SCHEMA \"\(configuration.schema!)\" CASCADE")
    } catch {
      for store in stores { try? await store.close() }
      for task in running { await task.value }
      throw error
    }
    for store in stores { try await store.close() }
    for task in running { await task.value }
  }

  @Test("an unreachable server is unavailable, named, within the wait")
  func unreachableServer() async throws {
    var configuration = try Backend.postgresConfiguration()
    // Port 1 is privileged and unused here: the connection is refused, again and again.
    configuration.port = 1
    configuration.connectionWaitMs = 300
    try await withPostgresStore(configuration) { store in
      let error = await #expect(throws: StoreError.self) { try await store.migrate() }
      guard case .unavailable(let why)? = error else {
        Issue.record("expected unavailable, got \(String(describing: error))")
        return
      }
      #expect(why.contains("127.0.0.1:1/"))
    }
  }

  @Test("a closed store is unavailable")
  func closedStore() async throws {
    let configuration = try Backend.postgresConfiguration()
    let store = PostgresStationStore(configuration: configuration, logger: testLogger)
    let running = Task { await store.run() }
    try await store.migrate()
    try await store.executeForTesting("DROP SCHEMA \"\(configuration.schema!)\" CASCADE")
    try await store.close()
    await running.value
    let error = await #expect(throws: StoreError.self) {
      try await store.addDevice(registration("box-x"), atMs: 1)
    }
    guard case .unavailable(let why)? = error else {
      Issue.record("expected unavailable, got \(String(describing: error))")
      return
    }
    #expect(why.contains(configuration.serverName))
  }

  @Test("an operation past its time limit fails as unavailable and commits nothing")
  func operationTimeLimit() async throws {
    var configuration = try Backend.postgresConfiguration()
    configuration.applicationName = configuration.schema!
    try await withPostgresStore(configuration) { store in
      try await store.migrate()
      let box = try await store.addDevice(registration("box-t"), atMs: 0)
      try await store.executeForTesting(
        """
        CREATE FUNCTION stall_incidents() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$
        """)
      try await store.executeForTesting(
        """
        CREATE TRIGGER stall_incidents BEFORE INSERT ON incidents
        FOR EACH ROW EXECUTE FUNCTION stall_incidents()
        """)
      // A second store on the same schema, with a short limit.
      var limited = configuration
      limited.operationTimeoutMs = 1_500
      _ = try await withPostgresStore(limited) { hurried in
        await #expect {
          try await hurried.ingest(
            [
              IngestBatch(
                deviceID: box.id, epoch: 1, records: [record(1, .sos(presses: 1, position: nil))])
            ], receivedAtMs: 2)
        } throws: { error in
          guard case .unavailable(let why) = error as? StoreError else { return false }
          return why.contains("no answer within 1500 ms")
        }
      }
      // The server notices the closed connection only when the sleep ends; end it now.
      try await store.executeForTesting(
        """
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = '\(configuration.applicationName)' AND wait_event = 'PgSleep'
        """)
      try await store.executeForTesting("DROP TRIGGER stall_incidents ON incidents")
      // Nothing of the call stayed.
      #expect(try await store.events(EventQuery()).isEmpty)
      #expect(try await store.incidents(openOnly: false, limit: 5).isEmpty)
      try await store.executeForTesting("DROP SCHEMA \"\(configuration.schema!)\" CASCADE")
    }
  }

  @Test("a connection lost mid-transaction commits nothing")
  func connectionLostMidTransaction() async throws {
    var configuration = try Backend.postgresConfiguration()
    configuration.applicationName = configuration.schema!
    configuration.operationTimeoutMs = 20_000
    try await withPostgresStore(configuration) { store in
      try await store.migrate()
      let box = try await store.addDevice(registration("box-l"), atMs: 0)
      _ = try await store.ingest(
        [IngestBatch(deviceID: box.id, epoch: 1, records: [reading(1)])], receivedAtMs: 1)
      let before = try await store.devices()
      // The incident insert stalls; the server's connection is then cut under it.
      try await store.executeForTesting(
        """
        CREATE FUNCTION stall_incidents() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$
        """)
      try await store.executeForTesting(
        """
        CREATE TRIGGER stall_incidents BEFORE INSERT ON incidents
        FOR EACH ROW EXECUTE FUNCTION stall_incidents()
        """)
      let finished = Mutex(false)
      let ingest = Task {
        defer { finished.withLock { $0 = true } }
        return try await store.ingest(
          [
            IngestBatch(
              deviceID: box.id, epoch: 1,
              records: (2...100).map { reading($0) } + [
                record(101, .sos(presses: 1, position: nil))
              ])
          ], receivedAtMs: 2)
      }
      for _ in 0..<300 where !finished.withLock({ $0 }) {
        try await store.executeForTesting(
          """
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = '\(configuration.applicationName)' AND wait_event = 'PgSleep'
            AND pid <> pg_backend_pid()
          """)
        try await Task.sleep(for: .milliseconds(50))
      }
      // In one loaded CI run the terminated ingest never returned (postgres-nio did not fail
      // the query on the dead connection); the store's operation time limit now ends it as
      // unavailable whatever the client does. The test's own bound stays as a safety net.
      let waited: Result<[StoreEvent], any Error>? = await withCheckedContinuation {
        continuation in
        let resumed = Mutex(false)
        let resume = { @Sendable (value: Result<[StoreEvent], any Error>?) in
          if resumed.withLock({ done in
            defer { done = true }
            return !done
          }) {
            continuation.resume(returning: value)
          }
        }
        Task { resume(await ingest.result) }
        Task {
          try? await Task.sleep(for: .seconds(120))
          resume(nil)
        }
      }
      guard let result = waited else {
        Issue.record("the ingest whose connection was terminated did not return within 120 s")
        return
      }
      guard case .failure(let error) = result, case .unavailable? = error as? StoreError else {
        Issue.record("expected unavailable, got \(result)")
        return
      }
      try await store.executeForTesting("DROP TRIGGER stall_incidents ON incidents")
      #expect(try await store.devices() == before)
      #expect(try await store.events(EventQuery()).count == 1)
      #expect(try await store.incidents(openOnly: false, limit: 5).isEmpty)
      try await store.executeForTesting("DROP SCHEMA \"\(configuration.schema!)\" CASCADE")
    }
  }
}
