import Foundation
import Logging
import OutpostCore
import OutpostTestKit
import Testing

@testable import OutpostStore

/// The two stores every semantic test runs against.
///
/// PostgreSQL tests need a real server named by `OUTPOST_TEST_POSTGRES`
/// (`postgres://user:password@host:port/database`, as `scripts/postgres-test-server` prints);
/// each test gets a schema of its own in that database. Without the variable they fail, unless
/// `OUTPOST_SKIP_POSTGRES=1` leaves PostgreSQL out.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
  case sqlite
  case postgres

  var testDescription: String { rawValue }

  static var postgresURL: String? { ProcessInfo.processInfo.environment["OUTPOST_TEST_POSTGRES"] }
  static var skipPostgres: Bool {
    ProcessInfo.processInfo.environment["OUTPOST_SKIP_POSTGRES"] == "1"
  }

  /// The backends to test: PostgreSQL too unless `OUTPOST_SKIP_POSTGRES=1`.
  static var tested: [Backend] { skipPostgres ? [.sqlite] : [.sqlite, .postgres] }

  static let missingPostgres = """
    OUTPOST_TEST_POSTGRES is not set: the PostgreSQL store is tested against a real server. \
    Start one with `eval "$(scripts/postgres-test-server /tmp/outpost-pg)"; \
    export OUTPOST_TEST_POSTGRES` (and `scripts/postgres-test-server stop /tmp/outpost-pg` \
    after), or set OUTPOST_SKIP_POSTGRES=1 to leave PostgreSQL out.
    """

  /// The server's configuration, with a fresh schema for one test.
  static func postgresConfiguration(schema: String = freshSchema()) throws
    -> PostgresStationStore.Configuration
  {
    guard let url = postgresURL else {
      Issue.record(Comment(rawValue: missingPostgres))
      throw TestSetupError.noPostgres
    }
    guard var configuration = PostgresStationStore.Configuration(url: url) else {
      Issue.record("OUTPOST_TEST_POSTGRES=\(url) is not a postgres:// URL")
      throw TestSetupError.noPostgres
    }
    configuration.schema = schema
    return configuration
  }

  static func freshSchema() -> String {
    "test_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
  }

  /// SQL that makes every insert into `incidents` fail, as a full disk would mid-transaction.
  var breakIncidentsSQL: [String] {
    switch self {
    case .sqlite:
      [
        """
        CREATE TRIGGER break_incidents BEFORE INSERT ON incidents
        BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END
        """
      ]
    case .postgres:
      [
        """
        CREATE FUNCTION break_incidents() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'simulated write failure'; END $$
        """,
        """
        CREATE TRIGGER break_incidents BEFORE INSERT ON incidents
        FOR EACH ROW EXECUTE FUNCTION break_incidents()
        """,
      ]
    }
  }

  var repairIncidentsSQL: String {
    "DROP TRIGGER break_incidents" + (self == .postgres ? " ON incidents" : "")
  }
}

enum TestSetupError: Error { case noPostgres }

/// What the tests reach beyond the protocol.
protocol TestableStore: StationStore {
  func executeForTesting(_ sql: String) async throws
}

extension SQLiteStationStore: TestableStore {}
extension PostgresStationStore: TestableStore {}

let testLogger = Logger(label: "outpost-store-tests")

/// Runs `body` with a fresh, migrated store of `backend`, closed afterwards.
func withStore<T>(
  _ backend: Backend, _ body: (any TestableStore) async throws -> T
) async throws -> T {
  switch backend {
  case .sqlite:
    let directory = TemporaryDirectory("store")
    let store = try SQLiteStationStore(path: directory.file("station.sqlite"), logger: testLogger)
    try await store.migrate()
    do {
      let result = try await body(store)
      try await store.close()
      return result
    } catch {
      try? await store.close()
      throw error
    }
  case .postgres:
    let configuration = try Backend.postgresConfiguration()
    return try await withPostgresStore(configuration) { store in
      try await store.migrate()
      do {
        let result = try await body(store)
        try? await store.executeForTesting(
          "DROP SCHEMA \"\(configuration.schema!)\" CASCADE")
        return result
      } catch {
        try? await store.executeForTesting(
          "DROP SCHEMA \"\(configuration.schema!)\" CASCADE")
        throw error
      }
    }
  }
}

/// Runs `body` with a PostgreSQL store whose client runs for the duration.
func withPostgresStore<T>(
  _ configuration: PostgresStationStore.Configuration,
  _ body: (PostgresStationStore) async throws -> T
) async throws -> T {
  let store = PostgresStationStore(configuration: configuration, logger: testLogger)
  let running = Task { await store.run() }
  do {
    let result = try await body(store)
    try await store.close()
    await running.value
    return result
  } catch {
    try? await store.close()
    await running.value
    throw error
  }
}

// MARK: Records

/// A record at `ms` (trusted clock, boot 1) with `body`, at its kind's default priority.
func record(_ seq: UInt64, _ body: RecordBody, at ms: Int64 = 1_000_000) -> Record {
  Record(
    seq: seq, kind: body.kind, priority: body.kind.defaultPriority,
    time: RecordTime(wallMs: ms, clockTrusted: true, boot: 1, sinceBootMs: UInt64(ms)),
    body: body.encoded())
}

func reading(_ seq: UInt64, at ms: Int64 = 1_000_000) -> Record {
  record(seq, .sensorReading(sensor: "temp1", milliValue: 21_500), at: ms)
}

let steppe = Position(latitudeE7: 479_180_000, longitudeE7: 1_069_170_000, satellites: 9)
let river = Position(latitudeE7: 479_200_000, longitudeE7: 1_069_100_000)

func registration(
  _ name: String, checkInIntervalMs: Int64? = nil, offlineLimitMs: Int64? = nil
) -> DeviceRegistration {
  DeviceRegistration(
    name: name, household: "household of \(name)", gacha: "Bayan", phone: "+976 1",
    location: Coordinate(latitudeE7: 479_000_000, longitudeE7: 1_069_000_000),
    certificateSerial: "0a\(name.utf8.count)", checkInIntervalMs: checkInIntervalMs,
    offlineLimitMs: offlineLimitMs)
}

extension StationStore {
  func summary(_ name: String) async throws -> DeviceSummary? {
    try await devices().first { $0.device.name == name && !$0.device.isRevoked }
  }
}

extension StoreEvent {
  var incident: Incident? {
    switch self {
    case .incidentOpened(let i), .incidentJoined(let i), .incidentCancelled(let i),
      .alertCleared(let i), .alertRaised(let i):
      i
    case .checkIn, .forwardedIncidentUpdated: nil
    }
  }

  /// The case's name, for comparing event sequences.
  var name: String {
    switch self {
    case .incidentOpened: "opened"
    case .incidentJoined: "joined"
    case .incidentCancelled: "cancelled"
    case .alertCleared: "cleared"
    case .alertRaised: "raised"
    case .checkIn: "check-in"
    case .forwardedIncidentUpdated: "forwarded-update"
    }
  }
}
