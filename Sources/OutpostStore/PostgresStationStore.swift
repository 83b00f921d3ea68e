import Foundation
import Logging
import OutpostCore
import PostgresNIO
import Synchronization

/// The shared store: a PostgreSQL database through postgres-nio's `PostgresClient`, for
/// several posts or a region; several stations may run against the same database at once.
///
/// The owner must keep ``run()`` running in a task for as long as the store is used (it runs
/// the client's connection pool; operations wait for it), and ends it with ``close()`` or by
/// cancelling that task:
///
/// ```swift
/// let store = PostgresStationStore(configuration: configuration, logger: logger)
/// async let running: Void = store.run()
/// try await store.migrate()
/// …
/// try await store.close()
/// await running
/// ```
///
/// Every method is one transaction at READ COMMITTED. Rows of the devices an ingest touches are
/// locked in ascending id order, so two stations never interleave their changes to one device;
/// timers and device registration take transaction-level advisory locks. A database failure or
/// an unreachable server surfaces as ``StoreError/unavailable(_:)`` naming the server, after
/// the transaction was rolled back (or never began).
public final class PostgresStationStore: StationStore {
  /// Where the database is and how to log in.
  public struct Configuration: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// The schema the tables live in (created by ``PostgresStationStore/migrate()``); nil for
    /// the login's default search path (normally `public`).
    public var schema: String?
    public var tls: PostgresClient.Configuration.TLS
    /// How long an operation waits for a connection (an unreachable server, a full pool)
    /// before it fails as unavailable. An operation that has its connection is not cut short.
    public var connectionWaitMs: Int64
    /// How long an operation may run once it has its connection before it fails as
    /// unavailable and its connection is closed (a server that stopped answering).
    public var operationTimeoutMs: Int64 = 30_000
    /// The most connections the store opens.
    public var maximumConnections: Int
    /// The `application_name` the server shows for the store's connections.
    public var applicationName: String

    public init(
      host: String, port: Int = 5432, username: String, password: String?, database: String,
      schema: String? = nil, tls: PostgresClient.Configuration.TLS = .disable,
      connectionWaitMs: Int64 = 10_000, maximumConnections: Int = 8,
      applicationName: String = "outpost-station"
    ) {
      self.host = host
      self.port = port
      self.username = username
      self.password = password
      self.database = database
      self.schema = schema
      self.tls = tls
      self.connectionWaitMs = connectionWaitMs
      self.maximumConnections = maximumConnections
      self.applicationName = applicationName
    }

    /// Reads `postgres://user:password@host:port/database` (the form `OUTPOST_TEST_POSTGRES`
    /// and most tools use); nil when it is not one.
    public init?(url: String) {
      guard let components = URLComponents(string: url),
        components.scheme == "postgres" || components.scheme == "postgresql",
        let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
      else { return nil }
      let database = String(components.path.drop(while: { $0 == "/" }))
      self.init(
        host: host, port: components.port ?? 5432, username: user,
        password: components.password, database: database.isEmpty ? user : database)
    }

    /// `host:port/database`, for messages.
    public var serverName: String { "\(host):\(port)/\(database)" }
  }

  public let configuration: Configuration
  private let client: PostgresClient
  private let logger: Logger
  private let closing: AsyncStream<Void>
  private let closingContinuation: AsyncStream<Void>.Continuation

  /// Prepares the client; nothing connects until ``run()`` runs and an operation needs a
  /// connection.
  public init(configuration: Configuration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
    var client = PostgresClient.Configuration(
      host: configuration.host, port: configuration.port, username: configuration.username,
      password: configuration.password, database: configuration.database, tls: configuration.tls)
    client.options.maximumConnections = configuration.maximumConnections
    client.options.connectTimeout = .milliseconds(configuration.connectionWaitMs)
    client.options.additionalStartupParameters = [
      ("application_name", configuration.applicationName)
    ]
    if let schema = configuration.schema {
      client.options.additionalStartupParameters.append(("search_path", schema))
    }
    self.client = PostgresClient(configuration: client, backgroundLogger: logger)
    (closing, closingContinuation) = AsyncStream.makeStream()
  }

  /// Runs the connection pool until ``close()`` is called or the task is cancelled. Call it
  /// once, in a task of its own, before or while using the store.
  public func run() async {
    let closing = self.closing
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.client.run() }
      group.addTask { for await _ in closing {} }
      await group.next()
      group.cancelAll()
    }
  }

  /// Ends ``run()``; later operations throw ``StoreError/unavailable(_:)``.
  public func close() async throws {
    closingContinuation.finish()
  }

  public func migrate() async throws {
    try await transaction("migrate") { c in
      try await c.run("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))")
      if let schema = self.configuration.schema {
        try await c.run(
          PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(Self.quoted(schema))"))
      }
      try await c.run("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
      let found = try await c.rows("SELECT version FROM schema_version").first.map {
        try $0.decode(Int64.self)
      }
      if found == nil { try await c.run("INSERT INTO schema_version (version) VALUES (0)") }
      let version = Int(found ?? 0)
      let known = PostgresSchema.migrations.count
      if version > known { throw StoreError.schemaTooNew(found: version, known: known) }
      for migration in PostgresSchema.migrations.dropFirst(version) {
        for statement in migration { try await c.run(statement) }
      }
      if version < known {
        try await c.run("UPDATE schema_version SET version = \(Int64(known))")
        self.logger.info(
          "PostgreSQL schema migrated", metadata: ["from": "\(version)", "to": "\(known)"])
      }
    }
  }

  // MARK: Devices

  public func addDevice(
    _ registration: DeviceRegistration, datagramSecrets: [DatagramSecret], atMs: Int64
  ) async throws -> Device {
    try await transaction("add device \(registration.name)") { c in
      try await c.run("SELECT pg_advisory_xact_lock(\(PostgresSchema.deviceLock))")
      if try await c.enrolledDeviceID(name: registration.name) != nil {
        throw StoreError.deviceExists(registration.name)
      }
      let id = try await c.rows(
        """
        INSERT INTO devices (number, name, household, gacha, phone, latitude_e7, longitude_e7,
          certificate_serial, check_in_interval_ms, offline_limit_ms, created_at_ms)
        SELECT COALESCE(MAX(number), 0) + 1, \(registration.name), \(registration.household),
          \(registration.gacha), \(registration.phone),
          \(registration.location.map { Int64($0.latitudeE7) }),
          \(registration.location.map { Int64($0.longitudeE7) }),
          \(registration.certificateSerial), \(registration.checkInIntervalMs),
          \(registration.offlineLimitMs), \(atMs)
        FROM devices RETURNING id
        """
      )[0].decode(Int64.self)
      for secret in datagramSecrets {
        try await c.run(
          """
          INSERT INTO datagram_keys (device_id, key_index, secret, created_at_ms)
          VALUES (\(id), \(Int16(secret.index)), \(ByteBuffer(bytes: secret.bytes)), \(atMs))
          """)
      }
      return try await c.device(id: id)!
    }
  }

  public func revokeDevice(named name: String, by: String, atMs: Int64) async throws -> Device {
    try await transaction("revoke device \(name)") { c in
      try await c.run("SELECT pg_advisory_xact_lock(\(PostgresSchema.deviceLock))")
      guard let id = try await c.enrolledDeviceID(name: name) else {
        if let revoked = try await c.device(named: name) { return revoked }
        throw StoreError.unknownDevice(name)
      }
      try await c.run(
        "UPDATE devices SET revoked_at_ms = \(atMs), link_up = FALSE, station = NULL WHERE id = \(id)"
      )
      try await c.run("DELETE FROM datagram_keys WHERE device_id = \(id)")
      try await c.audit(
        actor: by, action: "device-revoke", incidentID: nil, device: name,
        detail: "certificate revoked", atMs: atMs)
      return try await c.device(id: id)!
    }
  }

  public func device(named name: String) async throws -> Device? {
    try await session("look up device \(name)") { c in try await c.device(named: name) }
  }

  public func devices() async throws -> [DeviceSummary] {
    try await session("list devices") { c in
      try await c.rows("SELECT * FROM devices ORDER BY name, number").map { row in
        let r = row.makeRandomAccess()
        return DeviceSummary(
          device: try Self.device(r),
          lastSeenMs: try r["last_seen_ms"].decode(Int64?.self),
          linkUp: try r["link_up"].decode(Bool.self),
          station: try r["station"].decode(String?.self),
          batteryPercent: try r["battery_percent"].decode(Int64?.self).map {
            UInt8(clamping: $0)
          },
          supplyMillivolts: try r["supply_mv"].decode(Int64?.self).map { UInt32(clamping: $0) },
          lastCheckInMs: try r["last_check_in_ms"].decode(Int64?.self),
          lastPosition: try Self.coordinate(r, "last_latitude_e7", "last_longitude_e7"),
          lastPositionMs: try r["last_position_ms"].decode(Int64?.self),
          epoch: try r["epoch"].decode(Int64?.self).map(SequenceColumns.value),
          records: try r["records"].decode(Int64.self))
      }
    }
  }

  public func setNeighbours(of name: String, to neighbours: [String]) async throws {
    try await transaction("set neighbours of \(name)") { c in
      guard let id = try await c.enrolledDeviceID(name: name) else {
        throw StoreError.unknownDevice(name)
      }
      var ids: Set<Int64> = []
      for neighbour in neighbours {
        guard let other = try await c.enrolledDeviceID(name: neighbour) else {
          throw StoreError.unknownDevice(neighbour)
        }
        if other != id { ids.insert(other) }
      }
      try await c.run("DELETE FROM neighbours WHERE device_id = \(id)")
      let others = ids.sorted()
      try await c.run(
        """
        INSERT INTO neighbours (device_id, neighbour_id)
        SELECT \(id), other FROM UNNEST(\(others)::BIGINT[]) AS u(other)
        """)
    }
  }

  public func neighbours(ofDeviceID deviceID: Int64) async throws -> [Device] {
    try await session("list neighbours of device \(deviceID)") { c in
      try await c.rows(
        """
        SELECT d.* FROM neighbours n JOIN devices d ON d.id = n.neighbour_id
        WHERE n.device_id = \(deviceID) AND d.revoked_at_ms IS NULL ORDER BY d.name
        """
      ).map { try Self.device($0.makeRandomAccess()) }
    }
  }

  public func setLink(deviceID: Int64, up: Bool, station: String, atMs: Int64) async throws
    -> [StoreEvent]
  {
    try await transaction("set link of device \(deviceID)") { c in
      let updated = try await c.rows(
        """
        UPDATE devices SET link_up = \(up), station = \(up ? station : nil),
          last_seen_ms = GREATEST(last_seen_ms, \(atMs))
        WHERE id = \(deviceID) RETURNING id
        """)
      guard !updated.isEmpty else { throw StoreRules.unknownDevice(id: deviceID) }
      guard up else { return [] }
      return try await c.clearAlert(deviceID: deviceID, kind: .offline, atMs: atMs)
        .map(StoreEvent.alertCleared)
    }
  }

  // MARK: Records

  public func storedRanges(deviceID: Int64, epoch: UInt64, from: UInt64, limit: Int) async throws
    -> [ClosedRange<UInt64>]
  {
    guard limit > 0 else { return [] }
    return try await session("read stored ranges of device \(deviceID)") { c in
      var ranges: [ClosedRange<UInt64>] = []
      for segment in SequenceColumns.segments(from: from) {
        // Consecutive sequence numbers keep `seq - row number` constant: each value of it is
        // one range. Counting from the segment's lower end keeps the subtraction in range.
        let rows = try await c.rows(
          """
          SELECT MIN(seq), MAX(seq) FROM (
            SELECT seq, (seq - \(segment.lowerBound)) - ROW_NUMBER() OVER (ORDER BY seq) AS island
            FROM records WHERE device_id = \(deviceID) AND epoch = \(SequenceColumns.column(epoch))
              AND seq BETWEEN \(segment.lowerBound) AND \(segment.upperBound)
          ) AS numbered GROUP BY island ORDER BY MIN(seq) LIMIT \(Int64(limit + 1))
          """)
        for row in rows {
          let (low, high) = try row.decode((Int64, Int64).self)
          ranges.append(SequenceColumns.value(low)...SequenceColumns.value(high))
        }
      }
      return Array(SequenceColumns.joined(ranges).prefix(limit))
    }
  }

  public func ingest(_ batches: [IngestBatch], receivedAtMs: Int64) async throws -> [StoreEvent] {
    guard batches.contains(where: { !$0.records.isEmpty }) else { return [] }
    let count = batches.reduce(0) { $0 + $1.records.count }
    return try await transaction("ingest \(count) records") { c in
      let deviceIDs = Set(batches.map(\.deviceID)).sorted()
      let locked = try await c.rows(
        "SELECT id FROM devices WHERE id = ANY(\(deviceIDs)::BIGINT[]) ORDER BY id FOR UPDATE"
      ).map { try $0.decode(Int64.self) }
      if let missing = deviceIDs.first(where: { !locked.contains($0) }) {
        throw StoreRules.unknownDevice(id: missing)
      }
      var devices: [Int64] = []
      var epochs: [Int64] = []
      var seqs: [Int64] = []
      var kinds: [Int16] = []
      var priorities: [Int16] = []
      var times: [Int64] = []
      var trusted: [Bool] = []
      var boots: [Int64] = []
      var sinceBoot: [Int64] = []
      var bodies: [ByteBuffer] = []
      for batch in batches {
        for record in batch.records {
          devices.append(batch.deviceID)
          epochs.append(SequenceColumns.column(batch.epoch))
          seqs.append(SequenceColumns.column(record.seq))
          kinds.append(Int16(record.kind.rawValue))
          priorities.append(Int16(record.priority.rawValue))
          times.append(record.time.wallMs)
          trusted.append(record.time.clockTrusted)
          boots.append(Int64(record.time.boot))
          sinceBoot.append(SequenceColumns.column(record.time.sinceBootMs))
          bodies.append(ByteBuffer(bytes: record.body))
        }
      }
      var inserted = Set<RecordKey>()
      for row in try await c.rows(
        """
        INSERT INTO records (device_id, epoch, seq, kind, priority, time_ms, trusted, boot,
          since_boot_ms, body, received_at_ms)
        SELECT d, e, s, k, p, t, tr, b, sb, body, \(receivedAtMs)
        FROM UNNEST(\(devices)::BIGINT[], \(epochs)::BIGINT[], \(seqs)::BIGINT[],
          \(kinds)::SMALLINT[], \(priorities)::SMALLINT[], \(times)::BIGINT[],
          \(trusted)::BOOLEAN[], \(boots)::BIGINT[], \(sinceBoot)::BIGINT[], \(bodies)::BYTEA[])
          AS u(d, e, s, k, p, t, tr, b, sb, body)
        ON CONFLICT (device_id, epoch, seq) DO NOTHING
        RETURNING device_id, epoch, seq
        """)
      {
        let (device, epoch, seq) = try row.decode((Int64, Int64, Int64).self)
        inserted.insert(RecordKey(device: device, epoch: epoch, seq: seq))
      }
      // A key given twice in one call is new only the first time.
      var stored: [[Bool]] = []
      for batch in batches {
        let epoch = SequenceColumns.column(batch.epoch)
        stored.append(
          batch.records.map {
            inserted.remove(
              RecordKey(
                device: batch.deviceID, epoch: epoch, seq: SequenceColumns.column($0.seq)))
              != nil
          })
      }
      let plan = IngestPlan(batches: batches) { stored[$0][$1] }
      var events: [StoreEvent] = []
      for step in plan.steps {
        try await c.apply(step, receivedAtMs: receivedAtMs, events: &events)
      }
      try await c.apply(plan.devices, receivedAtMs: receivedAtMs, events: &events)
      let windows = batches.compactMap(\.datagramWindow).sorted {
        ($0.deviceID, $0.keyIndex) < ($1.deviceID, $1.keyIndex)
      }
      for update in windows { try await c.merge(update) }
      return events
    }
  }

  public func events(_ query: EventQuery) async throws -> [StoredEvent] {
    try await session("list records") { c in
      try await c.rows(
        """
        SELECT d.name, r.* FROM records r JOIN devices d ON d.id = r.device_id
        WHERE (\(query.device)::TEXT IS NULL OR d.name = \(query.device))
          AND (\(query.sinceMs)::BIGINT IS NULL OR r.time_ms >= \(query.sinceMs))
        ORDER BY r.time_ms DESC, r.device_id, r.seq DESC LIMIT \(Int64(query.limit))
        """
      ).map { row in
        let r = row.makeRandomAccess()
        let record = OutpostCore.Record(
          seq: SequenceColumns.value(try r["seq"].decode(Int64.self)),
          kind: RecordKind(rawValue: UInt8(truncatingIfNeeded: try r["kind"].decode(Int16.self))),
          priority: Priority(
            rawValue: UInt8(truncatingIfNeeded: try r["priority"].decode(Int16.self))) ?? .normal,
          time: RecordTime(
            wallMs: try r["time_ms"].decode(Int64.self),
            clockTrusted: try r["trusted"].decode(Bool.self),
            boot: UInt32(truncatingIfNeeded: try r["boot"].decode(Int64.self)),
            sinceBootMs: SequenceColumns.value(try r["since_boot_ms"].decode(Int64.self))),
          body: Array(buffer: try r["body"].decode(ByteBuffer.self)))
        return StoredEvent(
          device: try r["name"].decode(String.self),
          epoch: SequenceColumns.value(try r["epoch"].decode(Int64.self)), record: record,
          receivedAtMs: try r["received_at_ms"].decode(Int64.self))
      }
    }
  }

  // MARK: Datagram keys

  public func datagramKey(deviceNumber: UInt32, keyIndex: UInt8) async throws -> DatagramKeyEntry? {
    try await session("look up datagram key \(keyIndex) of device \(deviceNumber)") { c in
      guard
        let row = try await c.rows(
          """
          SELECT d.id, d.name, d.epoch, k.secret, k.uplink_highest, k.uplink_seen
          FROM devices d JOIN datagram_keys k ON k.device_id = d.id
          WHERE d.number = \(Int64(deviceNumber)) AND k.key_index = \(Int16(keyIndex))
            AND d.revoked_at_ms IS NULL
          """
        ).first
      else { return nil }
      let (id, name, epoch, secret, highest, seen) = try row.decode(
        (Int64, String, Int64?, ByteBuffer, Int64, Int64).self)
      return try StoreRules.datagramKey(
        deviceID: id, name: name, number: deviceNumber, keyIndex: keyIndex,
        secret: Array(buffer: secret), highest: highest, seen: seen, epoch: epoch)
    }
  }

  public func saveDatagramWindow(_ update: DatagramWindowUpdate) async throws {
    try await transaction("save the datagram window of device \(update.deviceID)") { c in
      try await c.merge(update)
    }
  }

  public func leaseDatagramCounters(deviceID: Int64, keyIndex: UInt8, count: UInt64) async throws
    -> ClosedRange<UInt64>?
  {
    precondition(count > 0, "a lease holds at least one counter")
    return try await transaction("lease datagram counters of device \(deviceID)") { c in
      guard
        let leased = try await c.rows(
          """
          SELECT downlink_leased FROM datagram_keys
          WHERE device_id = \(deviceID) AND key_index = \(Int16(keyIndex)) FOR UPDATE
          """
        ).first?.decode(Int64.self)
      else { return nil }
      let range = try StoreRules.nextLease(after: SequenceColumns.value(leased), count: count)
      try await c.run(
        """
        UPDATE datagram_keys SET downlink_leased = \(SequenceColumns.column(range.upperBound))
        WHERE device_id = \(deviceID) AND key_index = \(Int16(keyIndex))
        """)
      return range
    }
  }

  // MARK: Incidents

  public func incidents(openOnly: Bool, limit: Int) async throws -> [Incident] {
    try await session("list incidents") { c in
      try await c.incidents(
        """
        WHERE (NOT \(openOnly) OR i.state NOT IN ('resolved', 'false-alarm', 'cleared'))
        ORDER BY i.id DESC LIMIT \(Int64(limit))
        """)
    }
  }

  public func incident(id: Int64) async throws -> Incident? {
    try await session("read incident \(id)") { c in try await c.incident(id: id) }
  }

  public func acknowledgeIncident(id: Int64, by: String, note: String?, atMs: Int64) async throws
    -> Incident
  {
    try await transaction("acknowledge incident \(id)") { c in
      guard let incident = try await c.incident(id: id, locking: true) else {
        throw StoreError.unknownIncident(id)
      }
      if incident.state.isClosed { throw StoreError.incidentClosed(id, state: incident.state) }
      if incident.acknowledgedBy != nil { return incident }
      // A cancelled incident keeps its state; who saw it is still recorded.
      try await c.run(
        """
        UPDATE incidents SET state = CASE WHEN state = 'open' THEN 'acknowledged' ELSE state END,
          acknowledged_by = \(by), acknowledged_at_ms = \(atMs), note = COALESCE(\(note), note)
        WHERE id = \(id)
        """)
      try await c.audit(
        actor: by, action: "incident-ack", incidentID: id, device: incident.device,
        detail: note ?? "", atMs: atMs)
      return try await c.incident(id: id)!
    }
  }

  public func resolveIncident(
    id: Int64, by: String, outcome: IncidentOutcome, note: String?, atMs: Int64
  ) async throws -> Incident {
    try await transaction("resolve incident \(id)") { c in
      guard let incident = try await c.incident(id: id, locking: true) else {
        throw StoreError.unknownIncident(id)
      }
      if incident.state.isClosed { throw StoreError.incidentClosed(id, state: incident.state) }
      try await c.run(
        """
        UPDATE incidents SET state = \(outcome.rawValue), closed_by = \(by),
          closed_at_ms = \(atMs), note = COALESCE(\(note), note)
        WHERE id = \(id)
        """)
      try await c.audit(
        actor: by, action: "incident-resolve", incidentID: id, device: incident.device,
        detail: [outcome.rawValue, note].compactMap { $0 }.joined(separator: ": "), atMs: atMs)
      return try await c.incident(id: id)!
    }
  }

  public func incidentsToEscalate(openedBeforeMs: Int64, level: Int) async throws -> [Incident] {
    try await session("list incidents to escalate") { c in
      try await c.incidents(
        """
        WHERE i.state = 'open' AND i.opened_at_ms <= \(openedBeforeMs)
          AND i.escalation_level < \(Int64(level))
        ORDER BY i.id
        """)
    }
  }

  public func markEscalated(id: Int64, level: Int, detail: String, atMs: Int64) async throws {
    try await transaction("mark incident \(id) escalated") { c in
      guard let incident = try await c.incident(id: id, locking: true) else {
        throw StoreError.unknownIncident(id)
      }
      try await c.run(
        """
        UPDATE incidents SET escalation_level = GREATEST(escalation_level, \(Int64(level)))
        WHERE id = \(id)
        """)
      try await c.audit(
        actor: StoreRules.stationActor, action: "incident-escalate", incidentID: id,
        device: incident.device, detail: "level \(level): \(detail)", atMs: atMs)
    }
  }

  public func incidentsToNotify(deviceID: Int64) async throws -> [Incident] {
    try await session("list incidents to notify device \(deviceID)") { c in
      try await c.incidents(
        """
        WHERE i.device_id = \(deviceID) AND i.kind IN \(unescaped: StoreRules.fromBoxKindsSQL)
          AND i.state IN \(unescaped: StoreRules.notifiedStatesSQL)
          AND (i.box_notified_state IS NULL OR i.box_notified_state <> i.state)
        ORDER BY i.id
        """
      ).filter { StoreRules.boxNeedsNotice(state: $0.state, notified: $0.boxNotifiedState) }
    }
  }

  public func markBoxNotified(incidentID: Int64, state: IncidentState) async throws {
    try await transaction("mark incident \(incidentID) sent to its box") { c in
      guard let incident = try await c.incident(id: incidentID, locking: true) else {
        throw StoreError.unknownIncident(incidentID)
      }
      if let notified = incident.boxNotifiedState, notified >= state { return }
      try await c.run(
        "UPDATE incidents SET box_notified_state = \(state.rawValue) WHERE id = \(incidentID)")
    }
  }

  // MARK: Timers

  public func raiseOverdueCheckIns(nowMs: Int64) async throws -> [StoreEvent] {
    try await transaction("raise overdue check-ins") { c in
      try await c.run("SELECT pg_advisory_xact_lock(\(PostgresSchema.timerLock))")
      func overdue(_ c: Statements, among ids: [Int64]?) async throws -> [PostgresRow] {
        try await c.rows(
          """
          SELECT d.id, d.last_check_in_ms, d.check_in_interval_ms FROM devices d
          WHERE d.revoked_at_ms IS NULL AND d.check_in_interval_ms IS NOT NULL
            AND (\(ids)::BIGINT[] IS NULL OR d.id = ANY(\(ids)::BIGINT[]))
            AND \(nowMs) - COALESCE(d.last_check_in_ms, d.created_at_ms) > d.check_in_interval_ms
            AND NOT EXISTS (
              SELECT 1 FROM incidents i WHERE i.device_id = d.id AND i.kind = 'check-in-overdue'
                AND (i.state IN \(unescaped: StoreRules.runningStatesSQL)
                  OR i.opened_at_ms >= COALESCE(d.last_check_in_ms, d.created_at_ms)))
          ORDER BY d.id
          """)
      }
      let candidates = try await overdue(c, among: nil).map { try $0.decode(Int64.self) }
      guard !candidates.isEmpty else { return [] }
      // Lock the rows, as ingest does, then decide again on what is committed now.
      try await c.run(
        "SELECT id FROM devices WHERE id = ANY(\(candidates)::BIGINT[]) ORDER BY id FOR UPDATE")
      var events: [StoreEvent] = []
      for row in try await overdue(c, among: candidates) {
        let (id, last, interval) = try row.decode((Int64, Int64?, Int64).self)
        let detail = StoreRules.overdueDetail(lastCheckInMs: last, intervalMs: interval)
        events.append(
          .alertRaised(
            try await c.raiseAlert(deviceID: id, kind: .checkInOverdue, detail: detail, atMs: nowMs)
          ))
      }
      return events
    }
  }

  public func raiseOffline(nowMs: Int64, defaultLimitMs: Int64) async throws -> [StoreEvent] {
    try await transaction("raise offline alerts") { c in
      try await c.run("SELECT pg_advisory_xact_lock(\(PostgresSchema.timerLock))")
      func offline(_ c: Statements, among ids: [Int64]?) async throws -> [PostgresRow] {
        try await c.rows(
          """
          SELECT d.id, d.last_seen_ms, COALESCE(d.offline_limit_ms, \(defaultLimitMs))
          FROM devices d
          WHERE d.revoked_at_ms IS NULL
            AND (\(ids)::BIGINT[] IS NULL OR d.id = ANY(\(ids)::BIGINT[]))
            AND \(nowMs) - COALESCE(d.last_seen_ms, d.created_at_ms)
              > COALESCE(d.offline_limit_ms, \(defaultLimitMs))
            AND NOT EXISTS (
              SELECT 1 FROM incidents i WHERE i.device_id = d.id AND i.kind = 'offline'
                AND (i.state IN \(unescaped: StoreRules.runningStatesSQL)
                  OR i.opened_at_ms >= COALESCE(d.last_seen_ms, d.created_at_ms)))
          ORDER BY d.id
          """)
      }
      let candidates = try await offline(c, among: nil).map { try $0.decode(Int64.self) }
      guard !candidates.isEmpty else { return [] }
      try await c.run(
        "SELECT id FROM devices WHERE id = ANY(\(candidates)::BIGINT[]) ORDER BY id FOR UPDATE")
      var events: [StoreEvent] = []
      for row in try await offline(c, among: candidates) {
        let (id, last, limit) = try row.decode((Int64, Int64?, Int64).self)
        let detail = StoreRules.offlineDetail(lastSeenMs: last, limitMs: limit)
        events.append(
          .alertRaised(
            try await c.raiseAlert(deviceID: id, kind: .offline, detail: detail, atMs: nowMs)))
      }
      return events
    }
  }

  // MARK: Audit

  public func audit(limit: Int) async throws -> [AuditEntry] {
    try await session("read the audit log") { c in
      try await c.rows(
        """
        SELECT id, at_ms, actor, action, incident_id, device, detail FROM audit
        ORDER BY id DESC LIMIT \(Int64(limit))
        """
      ).map { row in
        let (id, at, actor, action, incident, device, detail) = try row.decode(
          (Int64, Int64, String, String, Int64?, String?, String).self)
        return AuditEntry(
          id: id, atMs: at, actor: actor, action: action, incidentID: incident, device: device,
          detail: detail)
      }
    }
  }

  public func addAudit(
    actor: String, action: String, incidentID: Int64?, device: String?, detail: String,
    atMs: Int64
  ) async throws {
    try await transaction("add to the audit log") { c in
      try await c.audit(
        actor: actor, action: action, incidentID: incidentID, device: device, detail: detail,
        atMs: atMs)
    }
  }

  /// Runs raw SQL in a transaction of its own: for tests that break the database on purpose.
  func executeForTesting(_ sql: String) async throws {
    try await transaction("execute for testing") { c in
      try await c.run(PostgresQuery(unsafeSQL: sql))
    }
  }

  // MARK: Connections

  /// Runs `body` in one transaction on a connection of its own.
  func transaction<T: Sendable>(
    _ what: String, _ body: @escaping @Sendable (Statements) async throws -> T
  ) async throws -> T {
    try await leasing(what) { connection in
      let statements = Statements(connection: connection, logger: self.logger)
      try await statements.run("BEGIN")
      do {
        let result = try await body(statements)
        try await statements.run("COMMIT")
        return result
      } catch {
        // On a broken connection the server has rolled back already.
        try? await statements.run("ROLLBACK")
        throw error
      }
    }
  }

  /// Runs `body` on a connection of its own, outside a transaction (reads).
  private func session<T: Sendable>(
    _ what: String, _ body: @escaping @Sendable (Statements) async throws -> T
  ) async throws -> T {
    try await leasing(what) { connection in
      try await body(Statements(connection: connection, logger: self.logger))
    }
  }

  /// Leases a connection for `body`, waiting at most `connectionWaitMs` for one and letting
  /// the operation run at most `operationTimeoutMs`; database failures become `unavailable`.
  ///
  /// The operation runs in a task of its own that this call does not wait for once the time
  /// limit passed: its connection is closed under it, and whatever it is stuck on (a server
  /// that stopped answering, a connection the client never saw die) cannot hold the caller —
  /// and with it every box's acknowledgements — for ever.
  private func leasing<T: Sendable>(
    _ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
  ) async throws -> T {
    let lease = LeaseDeadline()
    let client = self.client
    let wait = Duration.milliseconds(configuration.connectionWaitMs)
    let limit = Duration.milliseconds(max(configuration.operationTimeoutMs, 1))
    let outcome = Outcome<T>()
    do {
      return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
          outcome.start(continuation)
          let work = Task {
            do {
              let value = try await client.withConnection { connection in
                guard lease.claim() else { throw CancellationError() }
                let limiter = Task {
                  try await Task.sleep(for: limit)
                  if outcome.finish(.failure(OperationTimeout())) {
                    try? await connection.close()
                  }
                }
                outcome.whenFinished { limiter.cancel() }
                return try await body(connection)
              }
              outcome.finish(.success(value))
            } catch {
              outcome.finish(.failure(error))
            }
          }
          let watch = Task {
            try await Task.sleep(for: wait)
            if lease.expire(), outcome.finish(.failure(LeaseDeadline.Expired())) { work.cancel() }
          }
          outcome.whenFinished { watch.cancel() }
          outcome.onCancel { work.cancel() }
        }
      } onCancel: {
        outcome.cancel()
      }
    } catch let error as StoreError {
      throw error
    } catch is LeaseDeadline.Expired {
      throw unavailable(
        "\(what): no connection within \(configuration.connectionWaitMs) ms (is the server up?)")
    } catch is OperationTimeout {
      throw unavailable(
        "\(what): no answer within \(configuration.operationTimeoutMs) ms; connection closed")
    } catch let error as PSQLError {
      throw unavailable("\(what): \(Self.describe(error))")
    } catch let error as CancellationError {
      throw error
    } catch {
      throw unavailable("\(what): \(error)")
    }
  }

  private func unavailable(_ why: String) -> StoreError {
    let error = StoreError.unavailable("PostgreSQL \(configuration.serverName): \(why)")
    logger.error("\(error)", metadata: ["server": "\(configuration.serverName)"])
    return error
  }

  private static func describe(_ error: PSQLError) -> String {
    var parts = ["\(error.code)"]
    if let message = error.serverInfo?[.message] { parts.append(message) }
    if let state = error.serverInfo?[.sqlState] { parts.append("SQLSTATE \(state)") }
    if let underlying = error.underlying { parts.append("\(underlying)") }
    return parts.joined(separator: ": ")
  }

  private static func quoted(_ identifier: String) -> String {
    "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  // MARK: Rows

  fileprivate static func device(_ r: PostgresRandomAccessRow) throws -> Device {
    Device(
      id: try r["id"].decode(Int64.self),
      number: UInt32(truncatingIfNeeded: try r["number"].decode(Int64.self)),
      registration: DeviceRegistration(
        name: try r["name"].decode(String.self),
        household: try r["household"].decode(String?.self),
        gacha: try r["gacha"].decode(String?.self), phone: try r["phone"].decode(String?.self),
        location: try coordinate(r, "latitude_e7", "longitude_e7"),
        certificateSerial: try r["certificate_serial"].decode(String.self),
        checkInIntervalMs: try r["check_in_interval_ms"].decode(Int64?.self),
        offlineLimitMs: try r["offline_limit_ms"].decode(Int64?.self)),
      createdAtMs: try r["created_at_ms"].decode(Int64.self),
      revokedAtMs: try r["revoked_at_ms"].decode(Int64?.self))
  }

  fileprivate static func coordinate(
    _ r: PostgresRandomAccessRow, _ latitude: String, _ longitude: String
  ) throws -> Coordinate? {
    guard let lat = try r[latitude].decode(Int64?.self),
      let lon = try r[longitude].decode(Int64?.self)
    else { return nil }
    return Coordinate(
      latitudeE7: Int32(truncatingIfNeeded: lat), longitudeE7: Int32(truncatingIfNeeded: lon))
  }
}

/// A stored record's key, as the insert returns it.
private struct RecordKey: Hashable {
  var device: Int64
  var epoch: Int64
  var seq: Int64
}

/// Whether a connection lease won the race against the wait limit: exactly one of `claim` and
/// `expire` succeeds, so an operation either runs whole or not at all.
private final class LeaseDeadline: Sendable {
  struct Expired: Error {}
  private enum State { case waiting, leased, expired }
  private let state = Mutex(State.waiting)

  func claim() -> Bool {
    state.withLock { state in
      guard state == .waiting else { return false }
      state = .leased
      return true
    }
  }

  func expire() -> Bool {
    state.withLock { state in
      guard state == .waiting else { return false }
      state = .expired
      return true
    }
  }
}

/// An operation that had its connection but did not finish within `operationTimeoutMs`.
private struct OperationTimeout: Error {}

/// The result of one leased operation, delivered once to the caller whichever of the work, the
/// time limit or the caller's cancellation comes first.
private final class Outcome<T: Sendable>: Sendable {
  private struct State {
    var continuation: CheckedContinuation<T, any Error>?
    var result: Result<T, any Error>?
    var cancelled = false
    var finished: [@Sendable () -> Void] = []
    var cancellers: [@Sendable () -> Void] = []
  }
  private let state = Mutex(State())

  func start(_ continuation: CheckedContinuation<T, any Error>) {
    let early: Result<T, any Error>? = state.withLock { state in
      if let result = state.result { return result }
      state.continuation = continuation
      return nil
    }
    if let early { continuation.resume(with: early) }
  }

  /// Delivers `result` unless something was delivered already; says whether it was.
  @discardableResult
  func finish(_ result: Result<T, any Error>) -> Bool {
    let taken: (CheckedContinuation<T, any Error>?, [@Sendable () -> Void])? = state.withLock {
      state in
      guard state.result == nil else { return nil }
      state.result = result
      let taken = (state.continuation, state.finished)
      state.continuation = nil
      state.finished = []
      return taken
    }
    guard let (continuation, callbacks) = taken else { return false }
    continuation?.resume(with: result)
    for callback in callbacks { callback() }
    return true
  }

  func whenFinished(_ callback: @escaping @Sendable () -> Void) {
    let now = state.withLock { state in
      if state.result != nil { return true }
      state.finished.append(callback)
      return false
    }
    if now { callback() }
  }

  func onCancel(_ callback: @escaping @Sendable () -> Void) {
    let now = state.withLock { state in
      if state.cancelled { return true }
      state.cancellers.append(callback)
      return false
    }
    if now { callback() }
  }

  func cancel() {
    let callbacks = state.withLock { state -> [@Sendable () -> Void] in
      state.cancelled = true
      defer { state.cancellers = [] }
      return state.cancellers
    }
    for callback in callbacks { callback() }
    finish(.failure(CancellationError()))
  }
}

/// The statements of one transaction (or read session) on one leased connection.
struct Statements: Sendable {
  let connection: PostgresConnection
  let logger: Logger

  func run(_ query: PostgresQuery) async throws {
    for try await _ in try await connection.query(query, logger: logger) {}
  }

  func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
    try await connection.query(query, logger: logger).collect()
  }

  func enrolledDeviceID(name: String) async throws -> Int64? {
    try await rows("SELECT id FROM devices WHERE name = \(name) AND revoked_at_ms IS NULL")
      .first?.decode(Int64.self)
  }

  func device(id: Int64) async throws -> Device? {
    try await rows("SELECT * FROM devices WHERE id = \(id)").first.map {
      try PostgresStationStore.device($0.makeRandomAccess())
    }
  }

  func device(named name: String) async throws -> Device? {
    try await rows(
      """
      SELECT * FROM devices WHERE name = \(name)
      ORDER BY revoked_at_ms IS NULL DESC, id DESC LIMIT 1
      """
    ).first.map { try PostgresStationStore.device($0.makeRandomAccess()) }
  }

  func audit(
    actor: String, action: String, incidentID: Int64?, device: String?, detail: String,
    atMs: Int64
  ) async throws {
    try await run(
      """
      INSERT INTO audit (at_ms, actor, action, incident_id, device, detail)
      VALUES (\(atMs), \(actor), \(action), \(incidentID), \(device), \(detail))
      """)
  }

  // MARK: Ingest

  func apply(_ step: IngestPlan.Step, receivedAtMs: Int64, events: inout [StoreEvent])
    async throws
  {
    switch step {
    case .sos(let deviceID, let epoch, let record, let presses, let position):
      let mark = SOSOrder.Mark(
        seq: record.seq, atMs: record.time.wallMs, presses: presses, position: position)
      let segment = try await sosSegment(deviceID: deviceID, epoch: epoch, around: record.seq)
      try await apply(
        SOSOrder.onSOS(mark, epoch: epoch, in: segment), deviceID: deviceID, epoch: epoch,
        cancel: nil, later: segment.cancelAfter, receivedAtMs: receivedAtMs, events: &events)
    case .sensorAlarm(let deviceID, let epoch, let record, let detail):
      if try await runningIncident(deviceID: deviceID, kind: .sensorAlarm, detail: detail) == nil {
        let opened = try await openIncident(
          deviceID: deviceID, kind: .sensorAlarm, detail: detail, epoch: epoch, seq: record.seq,
          atMs: record.time.wallMs, presses: 0, position: nil, receivedAtMs: receivedAtMs)
        events.append(.incidentOpened(opened))
      }
    case .sosCancel(let deviceID, let epoch, let record):
      let segment = try await sosSegment(deviceID: deviceID, epoch: epoch, around: record.seq)
      try await apply(
        SOSOrder.onCancel(record.seq, epoch: epoch, in: segment), deviceID: deviceID,
        epoch: epoch, cancel: record.seq, later: segment.cancelAfter, receivedAtMs: receivedAtMs,
        events: &events)
    case .forwarded(let deviceID, let epoch, let record, let forwarded):
      let station = try await deviceName(deviceID)
      let detail = StoreRules.forwardedDetail(forwarded, from: station)
      if try await runningIncident(deviceID: deviceID, kind: .forwarded, detail: detail) == nil {
        let opened = try await openIncident(
          deviceID: deviceID, kind: .forwarded, detail: detail, epoch: epoch, seq: record.seq,
          atMs: forwarded.openedAtMs, presses: forwarded.presses, position: forwarded.position,
          receivedAtMs: receivedAtMs)
        events.append(.incidentOpened(opened))
      }
    case .incidentUpdate(let deviceID, let update):
      let station = try await deviceName(deviceID)
      let id = try await rows(
        """
        SELECT id FROM incidents WHERE device_id = \(deviceID) AND kind = 'forwarded'
          AND epoch = \(SequenceColumns.column(update.forwardedEpoch))
          AND seq = \(SequenceColumns.column(update.forwardedSeq))
        """
      ).first?.decode(Int64.self)
      events.append(.forwardedIncidentUpdated(station: station, incidentID: id, update: update))
    case .checkIn(let deviceID, let record, let who):
      let name = try await deviceName(deviceID)
      events.append(.checkIn(device: name, who: who, atMs: record.time.wallMs))
      for cleared in try await clearAlert(
        deviceID: deviceID, kind: .checkInOverdue, atMs: receivedAtMs)
      {
        events.append(.alertCleared(cleared))
      }
    }
  }

  /// One statement per kind of change for all devices of the call.
  func apply(
    _ changes: [IngestPlan.DeviceChange], receivedAtMs: Int64, events: inout [StoreEvent]
  ) async throws {
    let ids = changes.map(\.deviceID)
    try await run(
      """
      UPDATE devices d SET records = d.records + u.added, epoch = u.epoch,
        last_seen_ms = GREATEST(d.last_seen_ms, \(receivedAtMs))
      FROM UNNEST(\(ids)::BIGINT[], \(changes.map(\.newRecords))::BIGINT[],
        \(changes.map { SequenceColumns.column($0.epoch) })::BIGINT[]) AS u(id, added, epoch)
      WHERE d.id = u.id
      """)
    let positions = changes.compactMap { change in change.position.map { (change.deviceID, $0) } }
    if !positions.isEmpty {
      try await run(
        """
        UPDATE devices d SET last_latitude_e7 = u.lat, last_longitude_e7 = u.lon,
          last_position_ms = u.at
        FROM UNNEST(\(positions.map(\.0))::BIGINT[],
          \(positions.map { Int64($0.1.position.latitudeE7) })::BIGINT[],
          \(positions.map { Int64($0.1.position.longitudeE7) })::BIGINT[],
          \(positions.map(\.1.atMs))::BIGINT[]) AS u(id, lat, lon, at)
        WHERE d.id = u.id AND (d.last_position_ms IS NULL OR d.last_position_ms < u.at)
        """)
    }
    for change in changes {
      if let (atMs, health) = change.health {
        try await run(
          """
          UPDATE devices SET battery_percent = \(health.batteryPercent.map { Int64($0) }),
            supply_mv = \(health.supplyMillivolts.map { Int64($0) }), health_at_ms = \(atMs)
          WHERE id = \(change.deviceID) AND (health_at_ms IS NULL OR health_at_ms < \(atMs))
          """)
      }
      if let atMs = change.checkInMs {
        try await run(
          """
          UPDATE devices SET last_check_in_ms = \(atMs)
          WHERE id = \(change.deviceID) AND (last_check_in_ms IS NULL OR last_check_in_ms < \(atMs))
          """)
      }
    }
    // A box that sends is not offline, whatever the link bookkeeping says.
    let offline = try await rows(
      """
      SELECT device_id FROM incidents WHERE device_id = ANY(\(ids)::BIGINT[]) AND kind = 'offline'
        AND state IN \(unescaped: StoreRules.runningStatesSQL)
      ORDER BY device_id
      """
    ).map { try $0.decode(Int64.self) }
    for deviceID in offline {
      for cleared in try await clearAlert(deviceID: deviceID, kind: .offline, atMs: receivedAtMs) {
        events.append(.alertCleared(cleared))
      }
    }
  }

  /// Merges a replay window into its key's stored one (the row locked meanwhile, so that
  /// stations sharing the database merge in turn); nothing when the key is gone.
  func merge(_ update: DatagramWindowUpdate) async throws {
    let deviceID = update.deviceID
    let keyIndex = Int16(update.keyIndex)
    guard
      let row = try await rows(
        """
        SELECT uplink_highest, uplink_seen FROM datagram_keys
        WHERE device_id = \(deviceID) AND key_index = \(keyIndex) FOR UPDATE
        """
      ).first
    else { return }
    let (highest, seen) = try row.decode((Int64, Int64).self)
    let merged = StoredReplayWindow(
      highest: SequenceColumns.value(highest), seen: SequenceColumns.value(seen)
    ).merged(with: update.window)
    try await run(
      """
      UPDATE datagram_keys SET uplink_highest = \(SequenceColumns.column(merged.highest)),
        uplink_seen = \(SequenceColumns.column(merged.seen))
      WHERE device_id = \(deviceID) AND key_index = \(keyIndex)
      """)
  }

  // MARK: Incidents

  /// The facts ``SOSOrder`` needs about the SOS segment around `seq` (as the SQLite store's).
  func sosSegment(deviceID: Int64, epoch: UInt64, around seq: UInt64) async throws
    -> SOSOrder.Segment
  {
    let e = SequenceColumns.column(epoch)
    let s = SequenceColumns.column(seq)
    // The kinds are literals, so the planner can use the partial indexes.
    let before = try await rows(
      """
      SELECT seq FROM records WHERE device_id = \(deviceID) AND epoch = \(e) AND kind = 2
        AND seq < \(s) ORDER BY seq DESC LIMIT 1
      """
    ).first.map { SequenceColumns.value(try $0.decode(Int64.self)) }
    let after = try await rows(
      """
      SELECT seq FROM records WHERE device_id = \(deviceID) AND epoch = \(e) AND kind = 2
        AND seq > \(s) ORDER BY seq LIMIT 1
      """
    ).first.map { SequenceColumns.value(try $0.decode(Int64.self)) }
    let (lower, upper) = SOSOrder.Segment.bounds(before: before, after: after)
    let incidents = try await incidents(
      """
      WHERE i.device_id = \(deviceID) AND i.kind = 'sos' AND i.epoch = \(e)
        AND i.seq > \(lower) AND i.seq < \(upper)
      ORDER BY i.seq
      """)
    let marks = try await rows(
      """
      SELECT seq, time_ms, body FROM records WHERE device_id = \(deviceID) AND epoch = \(e)
        AND kind = 1 AND seq > \(lower) AND seq < \(upper) ORDER BY seq
      """
    ).compactMap { row -> SOSOrder.Mark? in
      let (seq, atMs, body) = try row.decode((Int64, Int64, ByteBuffer).self)
      guard
        case .sos(let presses, let position)? = try? RecordBody(
          kind: .sos, bytes: Array(buffer: body))
      else { return nil }
      return SOSOrder.Mark(
        seq: SequenceColumns.value(seq), atMs: atMs, presses: presses, position: position)
    }
    return SOSOrder.Segment(
      cancelBefore: before, cancelAfter: after, incidents: incidents, marks: marks,
      running: try await runningIncident(deviceID: deviceID, kind: .sos, detail: nil))
  }

  /// Applies what ``SOSOrder`` decided (as the SQLite store's `apply`).
  func apply(
    _ changes: [SOSOrder.Change], deviceID: Int64, epoch: UInt64, cancel: UInt64?,
    later: UInt64?, receivedAtMs: Int64, events: inout [StoreEvent]
  ) async throws {
    for change in changes {
      switch change {
      case .join(let id, let presses, let position, let opener):
        try await run(
          """
          UPDATE incidents SET presses = \(Int64(presses)),
            position = \(position.map { ByteBuffer(bytes: $0.storedBytes) }),
            seq = COALESCE(\(opener.map { SequenceColumns.column($0.seq) }), seq),
            opened_at_ms = COALESCE(\(opener?.atMs), opened_at_ms)
          WHERE id = \(id)
          """)
        let joined = try await incident(id: id)!
        if let opener {
          try await audit(
            actor: joined.device, action: "incident-reorder", incidentID: id,
            device: joined.device,
            detail: StoreRules.reorderDetail(epoch: epoch, seq: opener.seq), atMs: receivedAtMs)
        }
        events.append(.incidentJoined(joined))
      case .open(let mark, let presses, let position, let cancelled):
        let opened = try await openIncident(
          deviceID: deviceID, kind: .sos, detail: nil, epoch: epoch, seq: mark.seq,
          atMs: mark.atMs, presses: presses, position: position, receivedAtMs: receivedAtMs,
          state: cancelled ? .cancelled : .open)
        if cancelled, let later {
          try await audit(
            actor: opened.device, action: "incident-cancel", incidentID: opened.id,
            device: opened.device, detail: StoreRules.cancelDetail(seq: later),
            atMs: receivedAtMs)
          events.append(.incidentCancelled(opened))
        } else {
          events.append(.incidentOpened(opened))
        }
      case .cancel(let id, let presses):
        try await run(
          """
          UPDATE incidents SET state = 'cancelled',
            presses = COALESCE(\(presses.map { Int64($0) }), presses)
          WHERE id = \(id)
          """)
        let cancelled = try await incident(id: id)!
        try await audit(
          actor: cancelled.device, action: "incident-cancel", incidentID: id,
          device: cancelled.device, detail: StoreRules.cancelDetail(seq: cancel ?? 0),
          atMs: receivedAtMs)
        events.append(.incidentCancelled(cancelled))
      }
    }
  }

  func runningIncident(deviceID: Int64, kind: IncidentKind, detail: String?) async throws
    -> Incident?
  {
    try await incidents(
      """
      WHERE i.device_id = \(deviceID) AND i.kind = \(kind.rawValue)
        AND COALESCE(i.detail, '') = \(detail ?? "")
        AND i.state IN \(unescaped: StoreRules.runningStatesSQL)
      """
    ).first
  }

  /// The name of the device `id` of a batch being ingested (its row exists: the ingest locked it).
  func deviceName(_ id: Int64) async throws -> String {
    try await rows("SELECT name FROM devices WHERE id = \(id)")[0].decode(String.self)
  }

  func openIncident(
    deviceID: Int64, kind: IncidentKind, detail: String?, epoch: UInt64?, seq: UInt64?,
    atMs: Int64, presses: UInt32, position: Position?, receivedAtMs: Int64,
    state: IncidentState = .open
  ) async throws -> Incident {
    let id = try await rows(
      """
      INSERT INTO incidents (device_id, kind, detail, epoch, seq, opened_at_ms, received_at_ms,
        presses, position, state)
      VALUES (\(deviceID), \(kind.rawValue), \(detail), \(epoch.map(SequenceColumns.column)),
        \(seq.map(SequenceColumns.column)), \(atMs), \(receivedAtMs), \(Int64(presses)),
        \(position.map { ByteBuffer(bytes: $0.storedBytes) }), \(state.rawValue))
      RETURNING id
      """
    )[0].decode(Int64.self)
    let opened = try await incident(id: id)!
    if let seq, let epoch {
      try await audit(
        actor: opened.device, action: "incident-open", incidentID: id, device: opened.device,
        detail: StoreRules.openDetail(kind: kind, detail: detail, seq: seq, epoch: epoch),
        atMs: receivedAtMs)
    }
    return opened
  }

  func raiseAlert(deviceID: Int64, kind: IncidentKind, detail: String, atMs: Int64) async throws
    -> Incident
  {
    let raised = try await openIncident(
      deviceID: deviceID, kind: kind, detail: nil, epoch: nil, seq: nil, atMs: atMs,
      presses: 0, position: nil, receivedAtMs: atMs)
    try await audit(
      actor: StoreRules.stationActor, action: "alert-raise", incidentID: raised.id,
      device: raised.device, detail: detail, atMs: atMs)
    return raised
  }

  /// Clears the device's running alert of `kind`, if it has one.
  func clearAlert(deviceID: Int64, kind: IncidentKind, atMs: Int64) async throws -> [Incident] {
    guard let running = try await runningIncident(deviceID: deviceID, kind: kind, detail: nil)
    else { return [] }
    try await run(
      "UPDATE incidents SET state = 'cleared', closed_at_ms = \(atMs) WHERE id = \(running.id)")
    try await audit(
      actor: running.device, action: "alert-clear", incidentID: running.id,
      device: running.device,
      detail: kind == .offline ? "the box is back" : "the household checked in", atMs: atMs)
    return [try await incident(id: running.id)!]
  }

  func incident(id: Int64, locking: Bool = false) async throws -> Incident? {
    if locking {
      try await run("SELECT id FROM incidents WHERE id = \(id) FOR UPDATE")
    }
    return try await incidents("WHERE i.id = \(id)").first
  }

  func incidents(_ condition: PostgresQuery) async throws -> [Incident] {
    let query = PostgresQuery(
      unsafeSQL: """
        SELECT i.*, d.name AS device_name, d.household AS household
        FROM incidents i JOIN devices d ON d.id = i.device_id
        """ + " " + condition.sql,
      binds: condition.binds)
    return try await rows(query).map { row in
      let r = row.makeRandomAccess()
      return Incident(
        id: try r["id"].decode(Int64.self), deviceID: try r["device_id"].decode(Int64.self),
        device: try r["device_name"].decode(String.self),
        household: try r["household"].decode(String?.self),
        kind: try StoreRules.kind(try r["kind"].decode(String.self)),
        detail: try r["detail"].decode(String?.self),
        epoch: try r["epoch"].decode(Int64?.self).map(SequenceColumns.value),
        seq: try r["seq"].decode(Int64?.self).map(SequenceColumns.value),
        openedAtMs: try r["opened_at_ms"].decode(Int64.self),
        receivedAtMs: try r["received_at_ms"].decode(Int64.self),
        presses: UInt32(clamping: try r["presses"].decode(Int64.self)),
        position: try r["position"].decode(ByteBuffer?.self).flatMap {
          Position(storedBytes: Array(buffer: $0))
        },
        state: try StoreRules.state(try r["state"].decode(String.self)),
        acknowledgedBy: try r["acknowledged_by"].decode(String?.self),
        acknowledgedAtMs: try r["acknowledged_at_ms"].decode(Int64?.self),
        note: try r["note"].decode(String?.self),
        closedBy: try r["closed_by"].decode(String?.self),
        closedAtMs: try r["closed_at_ms"].decode(Int64?.self),
        escalationLevel: Int(try r["escalation_level"].decode(Int64.self)),
        boxNotifiedState: try r["box_notified_state"].decode(String?.self).map(StoreRules.state))
    }
  }

}
