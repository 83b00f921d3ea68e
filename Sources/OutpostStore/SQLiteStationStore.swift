import Foundation
import GRDB
import Logging
import OutpostCore

/// The embedded store: one SQLite file through GRDB's `DatabasePool`, in WAL mode with
/// `synchronous=FULL`, so a transaction that returned is on disk (the station acknowledges
/// records only after that).
///
/// Writes are serialised by SQLite (one writer); reads run beside them on the pool's readers.
/// Every failure of the database itself (full disk, read-only file, lock held too long by
/// another process) surfaces as ``StoreError/unavailable(_:)`` naming the file, after the
/// transaction was rolled back.
public final class SQLiteStationStore: StationStore {
  /// The database file.
  public let path: String
  let pool: DatabasePool
  private let logger: Logger
  /// Runs the write-ahead log's checkpoints off the commits (none for a read-only store).
  private let checkpointer: WALCheckpointer?

  /// Opens (creating if needed) the database at `path`. Call ``migrate()`` before anything else.
  ///
  /// - Parameters:
  ///   - path: The database file; `-wal` and `-shm` files are kept beside it.
  ///   - logger: Where failures are logged.
  ///   - readOnly: Opens the file for reading only (for tools beside a running station); every
  ///     write then throws ``StoreError/unavailable(_:)``.
  ///   - busyTimeoutMs: How long a write waits for another process's lock before failing.
  /// - Throws: ``StoreError/unavailable(_:)`` when the file cannot be opened.
  public init(path: String, logger: Logger, readOnly: Bool = false, busyTimeoutMs: Int = 5_000)
    throws
  {
    self.path = path
    self.logger = logger
    var configuration = Configuration()
    configuration.readonly = readOnly
    configuration.busyMode = .timeout(TimeInterval(busyTimeoutMs) / 1000)
    configuration.label = "outpost-store"
    configuration.prepareDatabase { db in
      // A commit is durable once it returned: the WAL is synced on every commit.
      try db.execute(sql: "PRAGMA synchronous = FULL")
      // Checkpoints run beside the commits (WALCheckpointer), not inside the one that takes
      // the log past a size.
      try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
    }
    do {
      pool = try DatabasePool(path: path, configuration: configuration)
      checkpointer = readOnly ? nil : try WALCheckpointer(path: path, logger: logger)
    } catch {
      throw Self.unavailable(error, path: path, doing: "open")
    }
  }

  public func migrate() async throws {
    let migrator = SQLiteSchema.migrator
    try await reading("check the schema version") { db in
      if try migrator.hasBeenSuperseded(db) {
        throw StoreError.schemaTooNew(
          found: try migrator.appliedIdentifiers(db).count, known: migrator.migrations.count)
      }
    }
    do {
      try await withCheckedThrowingContinuation {
        (continuation: CheckedContinuation<Void, any Error>) in
        migrator.asyncMigrate(pool) { result in continuation.resume(with: result.map { _ in }) }
      }
    } catch {
      throw mapped(error, doing: "migrate")
    }
  }

  public func close() async throws {
    await checkpointer?.close()
    do {
      try pool.close()
    } catch {
      throw Self.unavailable(error, path: path, doing: "close")
    }
  }

  // MARK: Devices

  public func addDevice(
    _ registration: DeviceRegistration, datagramSecrets: [DatagramSecret], atMs: Int64
  ) async throws -> Device {
    try await writing("add device \(registration.name)") { db in
      if try Self.enrolledDeviceID(db, name: registration.name) != nil {
        throw StoreError.deviceExists(registration.name)
      }
      let number = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(number), 0) + 1 FROM devices")!
      try db.execute(
        sql: """
          INSERT INTO devices (number, name, household, gacha, phone, latitude_e7, longitude_e7,
            certificate_serial, check_in_interval_ms, offline_limit_ms, created_at_ms)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          number, registration.name, registration.household, registration.gacha,
          registration.phone, registration.location?.latitudeE7,
          registration.location?.longitudeE7, registration.certificateSerial,
          registration.checkInIntervalMs, registration.offlineLimitMs, atMs,
        ])
      let id = db.lastInsertedRowID
      for secret in datagramSecrets {
        try db.execute(
          sql: """
            INSERT INTO datagram_keys (device_id, key_index, secret, created_at_ms)
            VALUES (?, ?, ?, ?)
            """,
          arguments: [id, Int64(secret.index), Data(secret.bytes), atMs])
      }
      return try Self.device(db, id: id)!
    }
  }

  public func revokeDevice(named name: String, by: String, atMs: Int64) async throws -> Device {
    try await writing("revoke device \(name)") { db in
      guard let id = try Self.enrolledDeviceID(db, name: name) else {
        if let revoked = try Self.device(db, named: name) { return revoked }
        throw StoreError.unknownDevice(name)
      }
      try db.execute(
        sql: "UPDATE devices SET revoked_at_ms = ?, link_up = 0, station = NULL WHERE id = ?",
        arguments: [atMs, id])
      try db.execute(sql: "DELETE FROM datagram_keys WHERE device_id = ?", arguments: [id])
      try Self.audit(
        db, actor: by, action: "device-revoke", incidentID: nil, device: name,
        detail: "certificate revoked", atMs: atMs)
      return try Self.device(db, id: id)!
    }
  }

  public func device(named name: String) async throws -> Device? {
    try await reading("look up device \(name)") { db in try Self.device(db, named: name) }
  }

  public func devices() async throws -> [DeviceSummary] {
    try await reading("list devices") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM devices ORDER BY name, number").map { row in
        DeviceSummary(
          device: Self.device(row),
          lastSeenMs: row["last_seen_ms"], linkUp: row["link_up"], station: row["station"],
          batteryPercent: (row["battery_percent"] as Int64?).map { UInt8(clamping: $0) },
          supplyMillivolts: (row["supply_mv"] as Int64?).map { UInt32(clamping: $0) },
          lastCheckInMs: row["last_check_in_ms"],
          lastPosition: Self.coordinate(row, "last_latitude_e7", "last_longitude_e7"),
          lastPositionMs: row["last_position_ms"],
          epoch: (row["epoch"] as Int64?).map(SequenceColumns.value),
          records: row["records"])
      }
    }
  }

  public func setNeighbours(of name: String, to neighbours: [String]) async throws {
    try await writing("set neighbours of \(name)") { db in
      guard let id = try Self.enrolledDeviceID(db, name: name) else {
        throw StoreError.unknownDevice(name)
      }
      var ids: [Int64] = []
      for neighbour in neighbours {
        guard let other = try Self.enrolledDeviceID(db, name: neighbour) else {
          throw StoreError.unknownDevice(neighbour)
        }
        if other != id { ids.append(other) }
      }
      try db.execute(sql: "DELETE FROM neighbours WHERE device_id = ?", arguments: [id])
      for other in Set(ids) {
        try db.execute(
          sql: "INSERT INTO neighbours (device_id, neighbour_id) VALUES (?, ?)",
          arguments: [id, other])
      }
    }
  }

  public func neighbours(ofDeviceID deviceID: Int64) async throws -> [Device] {
    try await reading("list neighbours of device \(deviceID)") { db in
      try Row.fetchAll(
        db,
        sql: """
          SELECT d.* FROM neighbours n JOIN devices d ON d.id = n.neighbour_id
          WHERE n.device_id = ? AND d.revoked_at_ms IS NULL ORDER BY d.name
          """,
        arguments: [deviceID]
      ).map(Self.device)
    }
  }

  public func setLink(deviceID: Int64, up: Bool, station: String, atMs: Int64) async throws
    -> [StoreEvent]
  {
    try await writing("set link of device \(deviceID)") { db in
      try db.execute(
        sql: """
          UPDATE devices SET link_up = ?, station = ?,
            last_seen_ms = CASE WHEN last_seen_ms IS NULL OR last_seen_ms < ? THEN ?
              ELSE last_seen_ms END
          WHERE id = ?
          """,
        arguments: [up, up ? station : nil, atMs, atMs, deviceID])
      guard db.changesCount == 1 else { throw StoreRules.unknownDevice(id: deviceID) }
      guard up else { return [] }
      return try Self.clearAlert(db, deviceID: deviceID, kind: .offline, atMs: atMs)
        .map(StoreEvent.alertCleared)
    }
  }

  // MARK: Records

  public func storedRanges(deviceID: Int64, epoch: UInt64, from: UInt64, limit: Int) async throws
    -> [ClosedRange<UInt64>]
  {
    guard limit > 0 else { return [] }
    return try await reading("read stored ranges of device \(deviceID)") { db in
      var ranges: [ClosedRange<UInt64>] = []
      for segment in SequenceColumns.segments(from: from) {
        // Consecutive sequence numbers keep `seq - row number` constant: each value of it is
        // one range. Counting from the segment's lower end keeps the subtraction in range.
        let rows = try Row.fetchAll(
          db,
          sql: """
            SELECT MIN(seq) AS low, MAX(seq) AS high FROM (
              SELECT seq, (seq - ?) - ROW_NUMBER() OVER (ORDER BY seq) AS island
              FROM records WHERE device_id = ? AND epoch = ? AND seq BETWEEN ? AND ?
            ) GROUP BY island ORDER BY low LIMIT ?
            """,
          arguments: [
            segment.lowerBound, deviceID, SequenceColumns.column(epoch), segment.lowerBound,
            segment.upperBound, limit + 1,
          ])
        for row in rows {
          ranges.append(SequenceColumns.value(row["low"])...SequenceColumns.value(row["high"]))
        }
      }
      return Array(SequenceColumns.joined(ranges).prefix(limit))
    }
  }

  public func ingest(_ batches: [IngestBatch], receivedAtMs: Int64) async throws -> [StoreEvent] {
    try await ingest(batches, receivedAtMs: receivedAtMs, preemption: nil)
  }

  /// Preempted, the transaction stops at the next record or step and rolls back; only its
  /// commit cannot be stopped.
  public func ingest(
    _ batches: [IngestBatch], receivedAtMs: Int64, preemption: IngestPreemption
  ) async throws -> [StoreEvent] {
    try await ingest(batches, receivedAtMs: receivedAtMs, preemption: Optional(preemption))
  }

  private func ingest(
    _ batches: [IngestBatch], receivedAtMs: Int64, preemption: IngestPreemption?
  ) async throws -> [StoreEvent] {
    guard batches.contains(where: { !$0.records.isEmpty }) else { return [] }
    let count = batches.reduce(0) { $0 + $1.records.count }
    return try await writing("ingest \(count) records") { db in
      let known = try db.cachedStatement(sql: "SELECT 1 FROM devices WHERE id = ?")
      for id in Set(batches.map(\.deviceID)) {
        guard try Int64.fetchOne(known, arguments: [id]) != nil else {
          throw StoreRules.unknownDevice(id: id)
        }
      }
      let insert = try db.cachedStatement(
        sql: """
          INSERT INTO records (device_id, epoch, seq, kind, priority, time_ms, trusted, boot,
            since_boot_ms, body, received_at_ms)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (device_id, epoch, seq) DO NOTHING
          """)
      var stored: [[Bool]] = []
      stored.reserveCapacity(batches.count)
      for batch in batches {
        let epoch = SequenceColumns.column(batch.epoch)
        var new = [Bool](repeating: false, count: batch.records.count)
        for (index, record) in batch.records.enumerated() {
          insert.setUncheckedArguments([
            batch.deviceID, epoch, SequenceColumns.column(record.seq),
            Int64(record.kind.rawValue), Int64(record.priority.rawValue), record.time.wallMs,
            record.time.clockTrusted, Int64(record.time.boot),
            SequenceColumns.column(record.time.sinceBootMs),
            record.body.withUnsafeBufferPointer { Data(buffer: $0) }, receivedAtMs,
          ])
          try preemption?.checkpoint()
          try insert.execute()
          new[index] = db.changesCount > 0
        }
        stored.append(new)
      }
      let plan = IngestPlan(batches: batches) { stored[$0][$1] }
      var events: [StoreEvent] = []
      for step in plan.steps {
        try preemption?.checkpoint()
        try Self.apply(step, db, receivedAtMs: receivedAtMs, events: &events)
      }
      for change in plan.devices {
        try Self.apply(change, db, receivedAtMs: receivedAtMs, events: &events)
      }
      for update in batches.compactMap(\.datagramWindow) {
        try Self.merge(update, db)
      }
      // GRDB commits when this returns: from here on the ingest runs to its end.
      try preemption?.committing()
      return events
    }
  }

  public func events(_ query: EventQuery) async throws -> [StoredEvent] {
    try await reading("list records") { db in
      var conditions: [String] = []
      var arguments: StatementArguments = []
      if let device = query.device {
        conditions.append("d.name = ?")
        arguments += [device]
      }
      if let since = query.sinceMs {
        conditions.append("r.time_ms >= ?")
        arguments += [since]
      }
      arguments += [query.limit]
      let condition = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
      return try Row.fetchAll(
        db,
        sql: """
          SELECT d.name, r.* FROM records r JOIN devices d ON d.id = r.device_id \(condition)
          ORDER BY r.time_ms DESC, r.device_id, r.seq DESC LIMIT ?
          """,
        arguments: arguments
      ).map { row in
        let record = OutpostCore.Record(
          seq: SequenceColumns.value(row["seq"]),
          kind: RecordKind(rawValue: UInt8(truncatingIfNeeded: row["kind"] as Int64)),
          priority: Priority(rawValue: UInt8(truncatingIfNeeded: row["priority"] as Int64))
            ?? .normal,
          time: RecordTime(
            wallMs: row["time_ms"], clockTrusted: row["trusted"],
            boot: UInt32(truncatingIfNeeded: row["boot"] as Int64),
            sinceBootMs: SequenceColumns.value(row["since_boot_ms"])),
          body: [UInt8](row["body"] as Data))
        return StoredEvent(
          device: row["name"], epoch: SequenceColumns.value(row["epoch"]), record: record,
          receivedAtMs: row["received_at_ms"])
      }
    }
  }

  // MARK: Datagram keys

  public func datagramKey(deviceNumber: UInt32, keyIndex: UInt8) async throws -> DatagramKeyEntry? {
    try await reading("look up datagram key \(keyIndex) of device \(deviceNumber)") { db in
      guard
        let row = try Row.fetchOne(
          db.cachedStatement(
            sql: """
              SELECT d.id, d.name, d.epoch, k.secret, k.uplink_highest, k.uplink_seen
              FROM devices d JOIN datagram_keys k ON k.device_id = d.id
              WHERE d.number = ? AND k.key_index = ? AND d.revoked_at_ms IS NULL
              """),
          arguments: [Int64(deviceNumber), Int64(keyIndex)])
      else { return nil }
      return try StoreRules.datagramKey(
        deviceID: row["id"], name: row["name"], number: deviceNumber, keyIndex: keyIndex,
        secret: [UInt8](row["secret"] as Data), highest: row["uplink_highest"],
        seen: row["uplink_seen"], epoch: row["epoch"])
    }
  }

  public func saveDatagramWindow(_ update: DatagramWindowUpdate) async throws {
    try await writing("save the datagram window of device \(update.deviceID)") { db in
      try Self.merge(update, db)
    }
  }

  public func leaseDatagramCounters(deviceID: Int64, keyIndex: UInt8, count: UInt64) async throws
    -> ClosedRange<UInt64>?
  {
    precondition(count > 0, "a lease holds at least one counter")
    return try await writing("lease datagram counters of device \(deviceID)") { db in
      guard
        let leased = try Int64.fetchOne(
          db,
          sql: "SELECT downlink_leased FROM datagram_keys WHERE device_id = ? AND key_index = ?",
          arguments: [deviceID, Int64(keyIndex)])
      else { return nil }
      let range = try StoreRules.nextLease(after: SequenceColumns.value(leased), count: count)
      try db.execute(
        sql: "UPDATE datagram_keys SET downlink_leased = ? WHERE device_id = ? AND key_index = ?",
        arguments: [SequenceColumns.column(range.upperBound), deviceID, Int64(keyIndex)])
      return range
    }
  }

  // MARK: Incidents

  public func incidents(openOnly: Bool, limit: Int) async throws -> [Incident] {
    try await reading("list incidents") { db in
      let condition =
        openOnly ? "WHERE i.state NOT IN ('resolved', 'false-alarm', 'cleared')" : ""
      return try Self.incidents(
        db, where: "\(condition) ORDER BY i.id DESC LIMIT ?", [limit])
    }
  }

  public func incident(id: Int64) async throws -> Incident? {
    try await reading("read incident \(id)") { db in try Self.incident(db, id: id) }
  }

  public func acknowledgeIncident(id: Int64, by: String, note: String?, atMs: Int64) async throws
    -> Incident
  {
    try await writing("acknowledge incident \(id)") { db in
      guard let incident = try Self.incident(db, id: id) else {
        throw StoreError.unknownIncident(id)
      }
      if incident.state.isClosed { throw StoreError.incidentClosed(id, state: incident.state) }
      if incident.acknowledgedBy != nil { return incident }
      // A cancelled incident keeps its state; who saw it is still recorded.
      try db.execute(
        sql: """
          UPDATE incidents SET state = CASE WHEN state = 'open' THEN 'acknowledged' ELSE state END,
            acknowledged_by = ?, acknowledged_at_ms = ?, note = COALESCE(?, note)
          WHERE id = ?
          """,
        arguments: [by, atMs, note, id])
      try Self.audit(
        db, actor: by, action: "incident-ack", incidentID: id, device: incident.device,
        detail: note ?? "", atMs: atMs)
      return try Self.incident(db, id: id)!
    }
  }

  public func resolveIncident(
    id: Int64, by: String, outcome: IncidentOutcome, note: String?, atMs: Int64
  ) async throws -> Incident {
    try await writing("resolve incident \(id)") { db in
      guard let incident = try Self.incident(db, id: id) else {
        throw StoreError.unknownIncident(id)
      }
      if incident.state.isClosed { throw StoreError.incidentClosed(id, state: incident.state) }
      try db.execute(
        sql: """
          UPDATE incidents SET state = ?, closed_by = ?, closed_at_ms = ?, note = COALESCE(?, note)
          WHERE id = ?
          """,
        arguments: [outcome.rawValue, by, atMs, note, id])
      try Self.audit(
        db, actor: by, action: "incident-resolve", incidentID: id, device: incident.device,
        detail: [outcome.rawValue, note].compactMap { $0 }.joined(separator: ": "), atMs: atMs)
      return try Self.incident(db, id: id)!
    }
  }

  public func incidentsToEscalate(openedBeforeMs: Int64, level: Int) async throws -> [Incident] {
    try await reading("list incidents to escalate") { db in
      try Self.incidents(
        db,
        where: """
          WHERE i.state = 'open' AND i.opened_at_ms <= ? AND i.escalation_level < ?
          ORDER BY i.id
          """,
        [openedBeforeMs, level])
    }
  }

  public func markEscalated(id: Int64, level: Int, detail: String, atMs: Int64) async throws {
    try await writing("mark incident \(id) escalated") { db in
      guard let incident = try Self.incident(db, id: id) else {
        throw StoreError.unknownIncident(id)
      }
      try db.execute(
        sql: "UPDATE incidents SET escalation_level = MAX(escalation_level, ?) WHERE id = ?",
        arguments: [level, id])
      try Self.audit(
        db, actor: StoreRules.stationActor, action: "incident-escalate", incidentID: id,
        device: incident.device, detail: "level \(level): \(detail)", atMs: atMs)
    }
  }

  public func incidentsToNotify(deviceID: Int64) async throws -> [Incident] {
    try await reading("list incidents to notify device \(deviceID)") { db in
      try Self.incidents(
        db,
        where: """
          WHERE i.device_id = ? AND i.kind IN \(StoreRules.fromBoxKindsSQL)
            AND i.state IN \(StoreRules.notifiedStatesSQL)
            AND (i.box_notified_state IS NULL OR i.box_notified_state <> i.state)
          ORDER BY i.id
          """,
        [deviceID]
      ).filter { StoreRules.boxNeedsNotice(state: $0.state, notified: $0.boxNotifiedState) }
    }
  }

  public func markBoxNotified(incidentID: Int64, state: IncidentState) async throws {
    try await writing("mark incident \(incidentID) sent to its box") { db in
      guard let incident = try Self.incident(db, id: incidentID) else {
        throw StoreError.unknownIncident(incidentID)
      }
      if let notified = incident.boxNotifiedState, notified >= state { return }
      try db.execute(
        sql: "UPDATE incidents SET box_notified_state = ? WHERE id = ?",
        arguments: [state.rawValue, incidentID])
    }
  }

  // MARK: Timers

  public func raiseOverdueCheckIns(nowMs: Int64) async throws -> [StoreEvent] {
    try await writing("raise overdue check-ins") { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT d.id, d.last_check_in_ms, d.check_in_interval_ms FROM devices d
          WHERE d.revoked_at_ms IS NULL AND d.check_in_interval_ms IS NOT NULL
            AND ? - COALESCE(d.last_check_in_ms, d.created_at_ms) > d.check_in_interval_ms
            AND NOT EXISTS (
              SELECT 1 FROM incidents i WHERE i.device_id = d.id AND i.kind = 'check-in-overdue'
                AND (i.state IN \(StoreRules.runningStatesSQL)
                  OR i.opened_at_ms >= COALESCE(d.last_check_in_ms, d.created_at_ms)))
          ORDER BY d.id
          """,
        arguments: [nowMs])
      return try rows.map { row in
        let detail = StoreRules.overdueDetail(
          lastCheckInMs: row["last_check_in_ms"], intervalMs: row["check_in_interval_ms"])
        return .alertRaised(
          try Self.raiseAlert(
            db, deviceID: row["id"], kind: .checkInOverdue, detail: detail, atMs: nowMs))
      }
    }
  }

  public func raiseOffline(nowMs: Int64, defaultLimitMs: Int64) async throws -> [StoreEvent] {
    try await writing("raise offline alerts") { db in
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT d.id, d.last_seen_ms, COALESCE(d.offline_limit_ms, ?) AS limit_ms FROM devices d
          WHERE d.revoked_at_ms IS NULL
            AND ? - COALESCE(d.last_seen_ms, d.created_at_ms) > COALESCE(d.offline_limit_ms, ?)
            AND NOT EXISTS (
              SELECT 1 FROM incidents i WHERE i.device_id = d.id AND i.kind = 'offline'
                AND (i.state IN \(StoreRules.runningStatesSQL)
                  OR i.opened_at_ms >= COALESCE(d.last_seen_ms, d.created_at_ms)))
          ORDER BY d.id
          """,
        arguments: [defaultLimitMs, nowMs, defaultLimitMs])
      return try rows.map { row in
        let detail = StoreRules.offlineDetail(
          lastSeenMs: row["last_seen_ms"], limitMs: row["limit_ms"])
        return .alertRaised(
          try Self.raiseAlert(db, deviceID: row["id"], kind: .offline, detail: detail, atMs: nowMs)
        )
      }
    }
  }

  // MARK: Audit

  public func audit(limit: Int) async throws -> [AuditEntry] {
    try await reading("read the audit log") { db in
      try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit])
        .map { row in
          AuditEntry(
            id: row["id"], atMs: row["at_ms"], actor: row["actor"], action: row["action"],
            incidentID: row["incident_id"], device: row["device"], detail: row["detail"])
        }
    }
  }

  public func addAudit(
    actor: String, action: String, incidentID: Int64?, device: String?, detail: String,
    atMs: Int64
  ) async throws {
    try await writing("add to the audit log") { db in
      try Self.audit(
        db, actor: actor, action: action, incidentID: incidentID, device: device, detail: detail,
        atMs: atMs)
    }
  }

  /// Runs raw SQL in a transaction of its own: for tests that break the database on purpose.
  func executeForTesting(_ sql: String) async throws {
    try await writing("execute for testing") { db in try db.execute(sql: sql) }
  }

  // MARK: Transactions

  /// Runs `body` in one write transaction; database failures become `unavailable`.
  private func writing<T: Sendable>(
    _ what: String, _ body: @escaping @Sendable (Database) throws -> T
  ) async throws -> T {
    do {
      let result = try await pool.write(body)
      checkpointer?.committed()
      return result
    } catch {
      throw mapped(error, doing: what)
    }
  }

  private func reading<T: Sendable>(
    _ what: String, _ body: @escaping @Sendable (Database) throws -> T
  ) async throws -> T {
    do {
      return try await pool.read(body)
    } catch {
      throw mapped(error, doing: what)
    }
  }

  private func mapped(_ error: any Error, doing what: String) -> any Error {
    if error is StoreError || error is CancellationError { return error }
    let mapped = Self.unavailable(error, path: path, doing: what)
    logger.error("\(mapped)", metadata: ["path": "\(path)"])
    return mapped
  }

  private static func unavailable(_ error: any Error, path: String, doing what: String)
    -> StoreError
  {
    if let error = error as? StoreError { return error }
    if let error = error as? DatabaseError {
      let message = error.message ?? "\(error.resultCode)"
      return .unavailable("SQLite \(path): \(what): \(message) (\(error.extendedResultCode))")
    }
    return .unavailable("SQLite \(path): \(what): \(error)")
  }
}

// MARK: - Statements inside a transaction

extension SQLiteStationStore {
  fileprivate static func apply(
    _ step: IngestPlan.Step, _ db: Database, receivedAtMs: Int64, events: inout [StoreEvent]
  ) throws {
    switch step {
    case .sos(let deviceID, let epoch, let record, let presses, let position):
      let mark = SOSOrder.Mark(
        seq: record.seq, atMs: record.time.wallMs, presses: presses, position: position)
      let segment = try sosSegment(db, deviceID: deviceID, epoch: epoch, around: record.seq)
      try apply(
        SOSOrder.onSOS(mark, epoch: epoch, in: segment), db, deviceID: deviceID, epoch: epoch,
        cancel: nil, later: segment.cancelAfter, receivedAtMs: receivedAtMs, events: &events)
    case .sensorAlarm(let deviceID, let epoch, let record, let detail):
      if try runningIncident(db, deviceID: deviceID, kind: .sensorAlarm, detail: detail) == nil {
        let opened = try openIncident(
          db, deviceID: deviceID, kind: .sensorAlarm, detail: detail, epoch: epoch,
          seq: record.seq, atMs: record.time.wallMs, presses: 0, position: nil,
          receivedAtMs: receivedAtMs)
        events.append(.incidentOpened(opened))
      }
    case .sosCancel(let deviceID, let epoch, let record):
      let segment = try sosSegment(db, deviceID: deviceID, epoch: epoch, around: record.seq)
      try apply(
        SOSOrder.onCancel(record.seq, epoch: epoch, in: segment), db, deviceID: deviceID,
        epoch: epoch, cancel: record.seq, later: segment.cancelAfter, receivedAtMs: receivedAtMs,
        events: &events)
    case .forwarded(let deviceID, let epoch, let record, let forwarded):
      let station = try deviceName(db, id: deviceID)
      let detail = StoreRules.forwardedDetail(forwarded, from: station)
      if try runningIncident(db, deviceID: deviceID, kind: .forwarded, detail: detail) == nil {
        let opened = try openIncident(
          db, deviceID: deviceID, kind: .forwarded, detail: detail, epoch: epoch,
          seq: record.seq, atMs: forwarded.openedAtMs, presses: forwarded.presses,
          position: forwarded.position, receivedAtMs: receivedAtMs)
        events.append(.incidentOpened(opened))
      }
    case .incidentUpdate(let deviceID, let update):
      let station = try deviceName(db, id: deviceID)
      let id = try Int64.fetchOne(
        db.cachedStatement(
          sql: """
            SELECT id FROM incidents WHERE device_id = ? AND kind = 'forwarded' AND epoch = ?
              AND seq = ?
            """),
        arguments: [
          deviceID, SequenceColumns.column(update.forwardedEpoch),
          SequenceColumns.column(update.forwardedSeq),
        ])
      events.append(.forwardedIncidentUpdated(station: station, incidentID: id, update: update))
    case .checkIn(let deviceID, let record, let who):
      let name = try deviceName(db, id: deviceID)
      events.append(.checkIn(device: name, who: who, atMs: record.time.wallMs))
      for cleared in try clearAlert(
        db, deviceID: deviceID, kind: .checkInOverdue, atMs: receivedAtMs)
      {
        events.append(.alertCleared(cleared))
      }
    }
  }

  fileprivate static func apply(
    _ change: IngestPlan.DeviceChange, _ db: Database, receivedAtMs: Int64,
    events: inout [StoreEvent]
  ) throws {
    try db.cachedStatement(
      sql: """
        UPDATE devices SET records = records + ?, epoch = ?,
          last_seen_ms = CASE WHEN last_seen_ms IS NULL OR last_seen_ms < ? THEN ?
            ELSE last_seen_ms END
        WHERE id = ?
        """
    ).execute(arguments: [
      change.newRecords, SequenceColumns.column(change.epoch), receivedAtMs, receivedAtMs,
      change.deviceID,
    ])
    if let (atMs, position) = change.position {
      try db.cachedStatement(
        sql: """
          UPDATE devices SET last_latitude_e7 = ?, last_longitude_e7 = ?, last_position_ms = ?
          WHERE id = ? AND (last_position_ms IS NULL OR last_position_ms < ?)
          """
      ).execute(arguments: [
        position.latitudeE7, position.longitudeE7, atMs, change.deviceID, atMs,
      ])
    }
    if let (atMs, health) = change.health {
      try db.cachedStatement(
        sql: """
          UPDATE devices SET battery_percent = ?, supply_mv = ?, health_at_ms = ?
          WHERE id = ? AND (health_at_ms IS NULL OR health_at_ms < ?)
          """
      ).execute(arguments: [
        health.batteryPercent.map { Int64($0) }, health.supplyMillivolts.map { Int64($0) }, atMs,
        change.deviceID, atMs,
      ])
    }
    if let atMs = change.checkInMs {
      try db.cachedStatement(
        sql: """
          UPDATE devices SET last_check_in_ms = ?
          WHERE id = ? AND (last_check_in_ms IS NULL OR last_check_in_ms < ?)
          """
      ).execute(arguments: [atMs, change.deviceID, atMs])
    }
    // A box that sends is not offline, whatever the link bookkeeping says.
    for cleared in try clearAlert(db, deviceID: change.deviceID, kind: .offline, atMs: receivedAtMs)
    {
      events.append(.alertCleared(cleared))
    }
  }

  /// The facts ``SOSOrder`` needs about the SOS segment around `seq` (see
  /// ``SOSOrder/Segment``). The partial indexes on SOS and cancel records keep each lookup to a
  /// few rows however many records the device has.
  fileprivate static func sosSegment(
    _ db: Database, deviceID: Int64, epoch: UInt64, around seq: UInt64
  ) throws -> SOSOrder.Segment {
    let e = SequenceColumns.column(epoch)
    let s = SequenceColumns.column(seq)
    let cancel = RecordKind.sosCancel.rawValue
    let sos = RecordKind.sos.rawValue
    let before = try Int64.fetchOne(
      db.cachedStatement(
        sql: """
          SELECT seq FROM records WHERE device_id = ? AND epoch = ? AND kind = \(cancel)
            AND seq < ? ORDER BY seq DESC LIMIT 1
          """), arguments: [deviceID, e, s]
    ).map(SequenceColumns.value)
    let after = try Int64.fetchOne(
      db.cachedStatement(
        sql: """
          SELECT seq FROM records WHERE device_id = ? AND epoch = ? AND kind = \(cancel)
            AND seq > ? ORDER BY seq LIMIT 1
          """), arguments: [deviceID, e, s]
    ).map(SequenceColumns.value)
    let (lower, upper) = SOSOrder.Segment.bounds(before: before, after: after)
    let incidents = try Self.incidents(
      db,
      where: """
        WHERE i.device_id = ? AND i.kind = 'sos' AND i.epoch = ? AND i.seq > ? AND i.seq < ?
        ORDER BY i.seq
        """, [deviceID, e, lower, upper])
    let marks = try Row.fetchAll(
      db.cachedStatement(
        sql: """
          SELECT seq, time_ms, body FROM records WHERE device_id = ? AND epoch = ?
            AND kind = \(sos) AND seq > ? AND seq < ? ORDER BY seq
          """), arguments: [deviceID, e, lower, upper]
    ).compactMap { row -> SOSOrder.Mark? in
      let body: Data = row["body"]
      guard
        case .sos(let presses, let position)? = try? RecordBody(kind: .sos, bytes: [UInt8](body))
      else { return nil }
      return SOSOrder.Mark(
        seq: SequenceColumns.value(row["seq"]), atMs: row["time_ms"], presses: presses,
        position: position)
    }
    return SOSOrder.Segment(
      cancelBefore: before, cancelAfter: after, incidents: incidents, marks: marks,
      running: try runningIncident(db, deviceID: deviceID, kind: .sos, detail: nil))
  }

  /// Applies what ``SOSOrder`` decided for an SOS record, or for the cancel record `cancel`;
  /// `later` is the next cancel after the record (which cancels what the record opens).
  fileprivate static func apply(
    _ changes: [SOSOrder.Change], _ db: Database, deviceID: Int64, epoch: UInt64,
    cancel: UInt64?, later: UInt64?, receivedAtMs: Int64, events: inout [StoreEvent]
  ) throws {
    for change in changes {
      switch change {
      case .join(let id, let presses, let position, let opener):
        try db.execute(
          sql: """
            UPDATE incidents SET presses = ?, position = ?, seq = COALESCE(?, seq),
              opened_at_ms = COALESCE(?, opened_at_ms)
            WHERE id = ?
            """,
          arguments: [
            Int64(presses), position.map { Data($0.storedBytes) },
            opener.map { SequenceColumns.column($0.seq) }, opener?.atMs, id,
          ])
        let joined = try incident(db, id: id)!
        if let opener {
          try audit(
            db, actor: joined.device, action: "incident-reorder", incidentID: id,
            device: joined.device,
            detail: StoreRules.reorderDetail(epoch: epoch, seq: opener.seq), atMs: receivedAtMs)
        }
        events.append(.incidentJoined(joined))
      case .open(let mark, let presses, let position, let cancelled):
        let opened = try openIncident(
          db, deviceID: deviceID, kind: .sos, detail: nil, epoch: epoch, seq: mark.seq,
          atMs: mark.atMs, presses: presses, position: position, receivedAtMs: receivedAtMs,
          state: cancelled ? .cancelled : .open)
        if cancelled, let later {
          try audit(
            db, actor: opened.device, action: "incident-cancel", incidentID: opened.id,
            device: opened.device, detail: StoreRules.cancelDetail(seq: later),
            atMs: receivedAtMs)
          events.append(.incidentCancelled(opened))
        } else {
          events.append(.incidentOpened(opened))
        }
      case .cancel(let id, let presses):
        try db.execute(
          sql:
            "UPDATE incidents SET state = 'cancelled', presses = COALESCE(?, presses) WHERE id = ?",
          arguments: [presses.map { Int64($0) }, id])
        let cancelled = try incident(db, id: id)!
        try audit(
          db, actor: cancelled.device, action: "incident-cancel", incidentID: id,
          device: cancelled.device, detail: StoreRules.cancelDetail(seq: cancel ?? 0),
          atMs: receivedAtMs)
        events.append(.incidentCancelled(cancelled))
      }
    }
  }

  /// Merges a replay window into its key's stored one; nothing when the key is gone.
  fileprivate static func merge(_ update: DatagramWindowUpdate, _ db: Database) throws {
    let key: StatementArguments = [update.deviceID, Int64(update.keyIndex)]
    guard
      let row = try Row.fetchOne(
        db.cachedStatement(
          sql: """
            SELECT uplink_highest, uplink_seen FROM datagram_keys
            WHERE device_id = ? AND key_index = ?
            """),
        arguments: key)
    else { return }
    let merged = StoredReplayWindow(
      highest: SequenceColumns.value(row["uplink_highest"]),
      seen: SequenceColumns.value(row["uplink_seen"])
    ).merged(with: update.window)
    try db.cachedStatement(
      sql: """
        UPDATE datagram_keys SET uplink_highest = ?, uplink_seen = ?
        WHERE device_id = ? AND key_index = ?
        """
    ).execute(
      arguments: [SequenceColumns.column(merged.highest), SequenceColumns.column(merged.seen)]
        + key)
  }

  fileprivate static func runningIncident(
    _ db: Database, deviceID: Int64, kind: IncidentKind, detail: String?
  ) throws -> Incident? {
    let id = try Int64.fetchOne(
      db.cachedStatement(
        sql: """
          SELECT id FROM incidents WHERE device_id = ? AND kind = ? AND COALESCE(detail, '') = ?
            AND state IN \(StoreRules.runningStatesSQL)
          """),
      arguments: [deviceID, kind.rawValue, detail ?? ""])
    return try id.flatMap { try incident(db, id: $0) }
  }

  /// The name of the device `id` of a batch being ingested (its row exists: the ingest locked it).
  fileprivate static func deviceName(_ db: Database, id: Int64) throws -> String {
    try String.fetchOne(
      db.cachedStatement(sql: "SELECT name FROM devices WHERE id = ?"), arguments: [id])!
  }

  fileprivate static func openIncident(
    _ db: Database, deviceID: Int64, kind: IncidentKind, detail: String?, epoch: UInt64?,
    seq: UInt64?, atMs: Int64, presses: UInt32, position: Position?, receivedAtMs: Int64,
    state: IncidentState = .open
  ) throws -> Incident {
    try db.execute(
      sql: """
        INSERT INTO incidents (device_id, kind, detail, epoch, seq, opened_at_ms, received_at_ms,
          presses, position, state)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        deviceID, kind.rawValue, detail, epoch.map(SequenceColumns.column),
        seq.map(SequenceColumns.column), atMs, receivedAtMs, Int64(presses),
        position.map { Data($0.storedBytes) }, state.rawValue,
      ])
    let opened = try incident(db, id: db.lastInsertedRowID)!
    if let seq, let epoch {
      try audit(
        db, actor: opened.device, action: "incident-open", incidentID: opened.id,
        device: opened.device,
        detail: StoreRules.openDetail(kind: kind, detail: detail, seq: seq, epoch: epoch),
        atMs: receivedAtMs)
    }
    return opened
  }

  fileprivate static func raiseAlert(
    _ db: Database, deviceID: Int64, kind: IncidentKind, detail: String, atMs: Int64
  ) throws -> Incident {
    let raised = try openIncident(
      db, deviceID: deviceID, kind: kind, detail: nil, epoch: nil, seq: nil, atMs: atMs,
      presses: 0, position: nil, receivedAtMs: atMs)
    try audit(
      db, actor: StoreRules.stationActor, action: "alert-raise", incidentID: raised.id,
      device: raised.device, detail: detail, atMs: atMs)
    return raised
  }

  /// Clears the device's running alert of `kind`, if it has one.
  fileprivate static func clearAlert(
    _ db: Database, deviceID: Int64, kind: IncidentKind, atMs: Int64
  ) throws -> [Incident] {
    guard let running = try runningIncident(db, deviceID: deviceID, kind: kind, detail: nil)
    else { return [] }
    try db.execute(
      sql: "UPDATE incidents SET state = 'cleared', closed_at_ms = ? WHERE id = ?",
      arguments: [atMs, running.id])
    try audit(
      db, actor: running.device, action: "alert-clear", incidentID: running.id,
      device: running.device,
      detail: kind == .offline ? "the box is back" : "the household checked in", atMs: atMs)
    return [try incident(db, id: running.id)!]
  }

  fileprivate static func audit(
    _ db: Database, actor: String, action: String, incidentID: Int64?, device: String?,
    detail: String, atMs: Int64
  ) throws {
    try db.execute(
      sql: """
        INSERT INTO audit (at_ms, actor, action, incident_id, device, detail)
        VALUES (?, ?, ?, ?, ?, ?)
        """,
      arguments: [atMs, actor, action, incidentID, device, detail])
  }

  // MARK: Rows

  fileprivate static func enrolledDeviceID(_ db: Database, name: String) throws -> Int64? {
    try Int64.fetchOne(
      db, sql: "SELECT id FROM devices WHERE name = ? AND revoked_at_ms IS NULL",
      arguments: [name])
  }

  fileprivate static func device(_ db: Database, id: Int64) throws -> Device? {
    try Row.fetchOne(db, sql: "SELECT * FROM devices WHERE id = ?", arguments: [id]).map(device)
  }

  fileprivate static func device(_ db: Database, named name: String) throws -> Device? {
    try Row.fetchOne(
      db,
      sql: """
        SELECT * FROM devices WHERE name = ?
        ORDER BY revoked_at_ms IS NULL DESC, id DESC LIMIT 1
        """,
      arguments: [name]
    ).map(device)
  }

  fileprivate static func device(_ row: Row) -> Device {
    Device(
      id: row["id"],
      number: UInt32(truncatingIfNeeded: row["number"] as Int64),
      registration: DeviceRegistration(
        name: row["name"], household: row["household"], gacha: row["gacha"],
        phone: row["phone"], location: coordinate(row, "latitude_e7", "longitude_e7"),
        certificateSerial: row["certificate_serial"],
        checkInIntervalMs: row["check_in_interval_ms"], offlineLimitMs: row["offline_limit_ms"]),
      createdAtMs: row["created_at_ms"], revokedAtMs: row["revoked_at_ms"])
  }

  fileprivate static func coordinate(_ row: Row, _ latitude: String, _ longitude: String)
    -> Coordinate?
  {
    guard let lat = row[latitude] as Int64?, let lon = row[longitude] as Int64? else {
      return nil
    }
    return Coordinate(
      latitudeE7: Int32(truncatingIfNeeded: lat), longitudeE7: Int32(truncatingIfNeeded: lon))
  }

  private static let incidentColumns = """
    SELECT i.*, d.name AS device_name, d.household AS household
    FROM incidents i JOIN devices d ON d.id = i.device_id
    """

  fileprivate static func incident(_ db: Database, id: Int64) throws -> Incident? {
    try incidents(db, where: "WHERE i.id = ?", [id]).first
  }

  fileprivate static func incidents(
    _ db: Database, where condition: String, _ arguments: StatementArguments
  ) throws -> [Incident] {
    try Row.fetchAll(
      db, sql: "\(incidentColumns) \(condition)", arguments: arguments
    ).map { row in
      Incident(
        id: row["id"], deviceID: row["device_id"], device: row["device_name"],
        household: row["household"], kind: try StoreRules.kind(row["kind"]),
        detail: row["detail"],
        epoch: (row["epoch"] as Int64?).map(SequenceColumns.value),
        seq: (row["seq"] as Int64?).map(SequenceColumns.value),
        openedAtMs: row["opened_at_ms"], receivedAtMs: row["received_at_ms"],
        presses: UInt32(clamping: row["presses"] as Int64),
        position: (row["position"] as Data?).flatMap { Position(storedBytes: [UInt8]($0)) },
        state: try StoreRules.state(row["state"]),
        acknowledgedBy: row["acknowledged_by"], acknowledgedAtMs: row["acknowledged_at_ms"],
        note: row["note"], closedBy: row["closed_by"], closedAtMs: row["closed_at_ms"],
        escalationLevel: row["escalation_level"],
        boxNotifiedState: try (row["box_notified_state"] as String?).map(StoreRules.state))
    }
  }
}
