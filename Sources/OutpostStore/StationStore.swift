import OutpostCore

/// The station's store: devices, records, incidents, alerts and the audit log.
///
/// Two implementations with the same semantics: ``SQLiteStationStore`` (GRDB, WAL, the embedded
/// default) and ``PostgresStationStore`` (postgres-nio; several stations may share one
/// database). Every method is one transaction. A record is acknowledged to a box only after
/// ``ingest(_:receivedAtMs:)`` returned, that is after its transaction committed.
public protocol StationStore: Sendable {
  /// Creates or upgrades the schema. Safe to call on every start, from several stations at once.
  func migrate() async throws

  // MARK: Devices

  /// Registers a device with its datagram secrets, in one transaction; its number is assigned
  /// by the store (the next free, from 1).
  /// - Throws: ``StoreError/deviceExists(_:)`` when the name is taken by a device not revoked.
  func addDevice(
    _ registration: DeviceRegistration, datagramSecrets: [DatagramSecret], atMs: Int64
  ) async throws -> Device
  /// Revokes a device: its certificate serial is no longer accepted and its datagram secrets
  /// (with their replay windows and counters) are deleted, so its datagrams fail as an unknown
  /// key. Audited with `by`.
  /// - Throws: ``StoreError/unknownDevice(_:)``.
  func revokeDevice(named name: String, by: String, atMs: Int64) async throws -> Device
  /// The device of this name that is not revoked, else the most recent revoked one; nil if none.
  func device(named name: String) async throws -> Device?
  /// Every device with its state, by name.
  func devices() async throws -> [DeviceSummary]
  /// Links `name` to its neighbours (replacing earlier links), for neighbour alerts.
  func setNeighbours(of name: String, to neighbours: [String]) async throws
  /// The devices linked to `deviceID` as neighbours.
  func neighbours(ofDeviceID deviceID: Int64) async throws -> [Device]
  /// Marks a device's link up (connected to `station`) or down, and its last-seen time.
  /// A device coming back clears its open `offline` alert (returned as events). Last seen is
  /// what the offline timer measures, so a station should call this again now and then for a
  /// box that stays connected without sending records.
  /// - Throws: ``StoreError/unknownDevice(_:)`` (named `#id`) for an id not in the store.
  func setLink(deviceID: Int64, up: Bool, station: String, atMs: Int64) async throws
    -> [StoreEvent]

  // MARK: Records

  /// The sequence numbers of `epoch` stored for the device that are ≥ `from`, as ascending
  /// ranges that neither overlap nor touch, at most `limit` of them (the lowest).
  func storedRanges(deviceID: Int64, epoch: UInt64, from: UInt64, limit: Int) async throws
    -> [ClosedRange<UInt64>]
  /// Stores the batches in one transaction. A record already stored under (device, epoch,
  /// seq) is left as it is (a resend changes nothing). Alarms open or join incidents, a cancel
  /// marks its incident, check-ins clear a `check-in-overdue` alert, box-health records update
  /// the battery, positions (and alarms, check-ins, reports carrying one) the last position.
  /// Any batch also sets the device's last-seen time to `receivedAtMs` and its epoch, and
  /// clears its open `offline` alert (a box that sends is not offline). A batch that came in a
  /// datagram merges its ``IngestBatch/datagramWindow`` into the stored window in the same
  /// transaction (nothing, when the key was deleted meanwhile).
  /// - Returns: what changed, in record order, for the live view, fan-out and logs.
  /// - Throws: ``StoreError/unknownDevice(_:)`` (named `#id`) when a batch names a device id
  ///   not in the store; ``StoreError/unavailable(_:)``. Either way nothing of the call is
  ///   stored.
  func ingest(_ batches: [IngestBatch], receivedAtMs: Int64) async throws -> [StoreEvent]
  /// ``ingest(_:receivedAtMs:)``, which `preemption` may stop before it begins to commit.
  /// - Throws: also ``StoreError/preempted``; nothing is stored then.
  func ingest(_ batches: [IngestBatch], receivedAtMs: Int64, preemption: IngestPreemption)
    async throws -> [StoreEvent]
  /// Stored records, newest first.
  func events(_ query: EventQuery) async throws -> [StoredEvent]

  // MARK: Datagram keys

  /// The key `keyIndex` of the device numbered `deviceNumber`, with its box → station replay
  /// window and the device's epoch; nil when there is no such device, it is revoked, or it has
  /// no such key.
  func datagramKey(deviceNumber: UInt32, keyIndex: UInt8) async throws -> DatagramKeyEntry?
  /// Merges `update` into the stored box → station window of its key (a datagram that carried
  /// no batch was accepted); nothing when the key no longer exists.
  func saveDatagramWindow(_ update: DatagramWindowUpdate) async throws
  /// Reserves the next `count` station → box frame counters of a key, durably: a range no call
  /// returned before, from any station sharing the store, so a counter is never used twice
  /// across restarts. Nil when the key no longer exists.
  /// - Precondition: `count` is at least 1.
  func leaseDatagramCounters(deviceID: Int64, keyIndex: UInt8, count: UInt64) async throws
    -> ClosedRange<UInt64>?

  // MARK: Incidents

  /// Incidents, newest first; `openOnly` leaves out resolved, false-alarm and cleared ones.
  func incidents(openOnly: Bool, limit: Int) async throws -> [Incident]
  func incident(id: Int64) async throws -> Incident?
  /// An officer acknowledged the incident. Audited. An open incident becomes acknowledged; a
  /// cancelled one keeps its state but records who acknowledged it; acknowledging again
  /// returns the incident unchanged (and is not audited again).
  /// - Throws: ``StoreError/unknownIncident(_:)``, ``StoreError/incidentClosed(_:state:)``.
  func acknowledgeIncident(id: Int64, by: String, note: String?, atMs: Int64) async throws
    -> Incident
  /// An officer closed the incident (open, acknowledged or cancelled). Audited.
  /// - Throws: ``StoreError/unknownIncident(_:)``, ``StoreError/incidentClosed(_:state:)``.
  func resolveIncident(id: Int64, by: String, outcome: IncidentOutcome, note: String?, atMs: Int64)
    async throws -> Incident
  /// Incidents still open and not acknowledged, opened at or before `openedBeforeMs`, not yet
  /// escalated to `level` or beyond.
  func incidentsToEscalate(openedBeforeMs: Int64, level: Int) async throws -> [Incident]
  /// Records that an incident was escalated to `level` (1 = hooks, 2 = higher station). Audited.
  func markEscalated(id: Int64, level: Int, detail: String, atMs: Int64) async throws
  /// Box-originated incidents of a device whose acknowledgement or outcome the box has not
  /// been sent yet (``Incident/boxNotifiedState`` behind ``Incident/state``).
  func incidentsToNotify(deviceID: Int64) async throws -> [Incident]
  /// The box was sent the incident's state `state`.
  func markBoxNotified(incidentID: Int64, state: IncidentState) async throws

  // MARK: Timers

  /// Devices with a check-in interval whose last check-in (or registration) is older than the
  /// interval at `nowMs`, without an open `check-in-overdue` alert: each gets one, returned.
  /// One alert per missed check-in: after an officer closed it, the next is raised only once
  /// the household checked in and missed again.
  func raiseOverdueCheckIns(nowMs: Int64) async throws -> [StoreEvent]
  /// Devices not revoked whose last contact (or registration) is older than their offline
  /// limit at `nowMs`, without an open `offline` alert: each gets one, returned. One alert per
  /// silence: after an officer closed it, the next is raised only after new contact.
  func raiseOffline(nowMs: Int64, defaultLimitMs: Int64) async throws -> [StoreEvent]

  // MARK: Audit

  /// Audit entries, newest first.
  func audit(limit: Int) async throws -> [AuditEntry]
  /// Adds an audit entry of the station's own (a device added through the CLI, say).
  func addAudit(
    actor: String, action: String, incidentID: Int64?, device: String?,
    detail: String, atMs: Int64) async throws

  /// Closes connections and files.
  func close() async throws
}

extension StationStore {
  /// Registers a device without datagram secrets (its datagrams fail as an unknown key).
  public func addDevice(_ registration: DeviceRegistration, atMs: Int64) async throws -> Device {
    try await addDevice(registration, datagramSecrets: [], atMs: atMs)
  }
}

/// What `outpost-station device add` registers.
public struct DeviceRegistration: Sendable, Hashable {
  public var name: String
  public var household: String?
  public var gacha: String?
  public var phone: String?
  public var location: Coordinate?
  /// The certificate serial issued to it, hex.
  public var certificateSerial: String
  /// How often the household must check in (nil: no check-in timer).
  public var checkInIntervalMs: Int64?
  /// How long the box may be silent before "box offline" (nil: the station's default).
  public var offlineLimitMs: Int64?

  public init(
    name: String, household: String? = nil, gacha: String? = nil, phone: String? = nil,
    location: Coordinate? = nil, certificateSerial: String, checkInIntervalMs: Int64? = nil,
    offlineLimitMs: Int64? = nil
  ) {
    self.name = name
    self.household = household
    self.gacha = gacha
    self.phone = phone
    self.location = location
    self.certificateSerial = certificateSerial
    self.checkInIntervalMs = checkInIntervalMs
    self.offlineLimitMs = offlineLimitMs
  }
}

/// Latitude and longitude in 1e-7 degrees, as positions travel.
public struct Coordinate: Sendable, Hashable {
  public var latitudeE7: Int32
  public var longitudeE7: Int32
  public init(latitudeE7: Int32, longitudeE7: Int32) {
    self.latitudeE7 = latitudeE7
    self.longitudeE7 = longitudeE7
  }
}

/// A registered device.
public struct Device: Sendable, Hashable {
  public var id: Int64
  public var number: UInt32
  public var registration: DeviceRegistration
  public var createdAtMs: Int64
  public var revokedAtMs: Int64?
  public var name: String { registration.name }
  public var isRevoked: Bool { revokedAtMs != nil }

  public init(
    id: Int64, number: UInt32, registration: DeviceRegistration, createdAtMs: Int64,
    revokedAtMs: Int64?
  ) {
    self.id = id
    self.number = number
    self.registration = registration
    self.createdAtMs = createdAtMs
    self.revokedAtMs = revokedAtMs
  }
}

/// A device with what the station last knew of it.
public struct DeviceSummary: Sendable, Hashable {
  public var device: Device
  /// Last contact (connection, batch), ms.
  public var lastSeenMs: Int64?
  public var linkUp: Bool
  /// The station the box is connected to, when up.
  public var station: String?
  public var batteryPercent: UInt8?
  public var supplyMillivolts: UInt32?
  public var lastCheckInMs: Int64?
  public var lastPosition: Coordinate?
  public var lastPositionMs: Int64?
  /// The latest epoch stored for the device.
  public var epoch: UInt64?
  public var records: Int64

  public init(
    device: Device, lastSeenMs: Int64? = nil, linkUp: Bool = false, station: String? = nil,
    batteryPercent: UInt8? = nil, supplyMillivolts: UInt32? = nil, lastCheckInMs: Int64? = nil,
    lastPosition: Coordinate? = nil, lastPositionMs: Int64? = nil, epoch: UInt64? = nil,
    records: Int64 = 0
  ) {
    self.device = device
    self.lastSeenMs = lastSeenMs
    self.linkUp = linkUp
    self.station = station
    self.batteryPercent = batteryPercent
    self.supplyMillivolts = supplyMillivolts
    self.lastCheckInMs = lastCheckInMs
    self.lastPosition = lastPosition
    self.lastPositionMs = lastPositionMs
    self.epoch = epoch
    self.records = records
  }
}

/// Records of one device and epoch, ascending by sequence number, as a batch brought them.
extension StationStore {
  /// A store that cannot be preempted ingests as ``ingest(_:receivedAtMs:)`` does.
  public func ingest(
    _ batches: [IngestBatch], receivedAtMs: Int64, preemption: IngestPreemption
  ) async throws -> [StoreEvent] {
    try await ingest(batches, receivedAtMs: receivedAtMs)
  }
}

public struct IngestBatch: Sendable, Hashable {
  public var deviceID: Int64
  public var epoch: UInt64
  public var records: [Record]
  /// For a batch that came in a datagram: the replay window after it was accepted, saved with
  /// the records (so that a replay is still refused after a restart, at no extra commit).
  public var datagramWindow: DatagramWindowUpdate?

  public init(
    deviceID: Int64, epoch: UInt64, records: [Record], datagramWindow: DatagramWindowUpdate? = nil
  ) {
    self.deviceID = deviceID
    self.epoch = epoch
    self.records = records
    self.datagramWindow = datagramWindow
  }
}

/// A stored record, as `outpost-station events` lists it.
public struct StoredEvent: Sendable, Hashable {
  public var device: String
  public var epoch: UInt64
  public var record: Record
  public var receivedAtMs: Int64
  public init(device: String, epoch: UInt64, record: Record, receivedAtMs: Int64) {
    self.device = device
    self.epoch = epoch
    self.record = record
    self.receivedAtMs = receivedAtMs
  }
}

/// Which stored records to list.
public struct EventQuery: Sendable, Hashable {
  public var device: String?
  /// Records with a time at or after this, ms.
  public var sinceMs: Int64?
  public var limit: Int
  public init(device: String? = nil, sinceMs: Int64? = nil, limit: Int = 1000) {
    self.device = device
    self.sinceMs = sinceMs
    self.limit = limit
  }
}

/// What opened an incident.
public enum IncidentKind: String, Sendable, Hashable, CaseIterable {
  case sos
  case sensorAlarm = "sensor-alarm"
  case checkInOverdue = "check-in-overdue"
  case offline
  /// An incident a lower station forwarded up the chain; its device is that station.
  case forwarded

  /// Whether the box (or lower station) recorded it, and is told of its acknowledgement.
  public var fromBox: Bool { self == .sos || self == .sensorAlarm || self == .forwarded }
}

/// Where an incident stands. Ordered: each state is further than the ones before.
public enum IncidentState: String, Sendable, Hashable, CaseIterable, Comparable {
  case open
  case acknowledged
  /// The box cancelled it (sos-cancel) before an officer closed it.
  case cancelled
  case resolved
  case falseAlarm = "false-alarm"
  /// An alert (offline, check-in overdue) that ended by itself: the box came back.
  case cleared

  public var isClosed: Bool { self == .resolved || self == .falseAlarm || self == .cleared }

  public static func < (a: IncidentState, b: IncidentState) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// How an officer closed an incident.
public enum IncidentOutcome: String, Sendable, Hashable, CaseIterable {
  case resolved
  case falseAlarm = "false-alarm"
}

/// An incident or alert.
public struct Incident: Sendable, Hashable {
  public var id: Int64
  public var deviceID: Int64
  public var device: String
  public var household: String?
  public var kind: IncidentKind
  /// For sensor alarms, the alarm (fire, flood, low-battery …) and sensor, e.g. "fire temp1".
  public var detail: String?
  /// The box record that opened it (box-originated incidents).
  public var epoch: UInt64?
  public var seq: UInt64?
  /// The time the box recorded it (or the timer raised it), ms.
  public var openedAtMs: Int64
  public var receivedAtMs: Int64
  public var presses: UInt32
  public var position: Position?
  public var state: IncidentState
  public var acknowledgedBy: String?
  public var acknowledgedAtMs: Int64?
  public var note: String?
  public var closedBy: String?
  public var closedAtMs: Int64?
  /// Highest escalation level reached (0 none).
  public var escalationLevel: Int
  /// The last state the box was sent (nil: none yet).
  public var boxNotifiedState: IncidentState?

  public init(
    id: Int64, deviceID: Int64, device: String, household: String?, kind: IncidentKind,
    detail: String?, epoch: UInt64?, seq: UInt64?, openedAtMs: Int64, receivedAtMs: Int64,
    presses: UInt32, position: Position?, state: IncidentState, acknowledgedBy: String?,
    acknowledgedAtMs: Int64?, note: String?, closedBy: String?, closedAtMs: Int64?,
    escalationLevel: Int, boxNotifiedState: IncidentState?
  ) {
    self.id = id
    self.deviceID = deviceID
    self.device = device
    self.household = household
    self.kind = kind
    self.detail = detail
    self.epoch = epoch
    self.seq = seq
    self.openedAtMs = openedAtMs
    self.receivedAtMs = receivedAtMs
    self.presses = presses
    self.position = position
    self.state = state
    self.acknowledgedBy = acknowledgedBy
    self.acknowledgedAtMs = acknowledgedAtMs
    self.note = note
    self.closedBy = closedBy
    self.closedAtMs = closedAtMs
    self.escalationLevel = escalationLevel
    self.boxNotifiedState = boxNotifiedState
  }
}

/// What a store call changed, for the live view, fan-out and logs.
public enum StoreEvent: Sendable, Hashable {
  case incidentOpened(Incident)
  /// Another SOS record of the same incident: presses and position updated.
  case incidentJoined(Incident)
  case incidentCancelled(Incident)
  /// An alert that ended by itself (the box came back, checked in).
  case alertCleared(Incident)
  case alertRaised(Incident)
  case checkIn(device: String, who: String?, atMs: Int64)
  /// A lower station reported what happened to an incident it forwarded (``IncidentUpdate``);
  /// `incidentID` is the incident its forwarded record opened here, nil when none did. Applied
  /// by the station after the commit, as an officer's action is.
  case forwardedIncidentUpdated(station: String, incidentID: Int64?, update: IncidentUpdate)
}

/// One line of the audit log.
public struct AuditEntry: Sendable, Hashable {
  public var id: Int64
  public var atMs: Int64
  /// An officer's name, or `station` for what the station did by itself.
  public var actor: String
  /// e.g. `device-add`, `device-revoke`, `incident-open`, `incident-ack`, `incident-resolve`,
  /// `incident-cancel`, `incident-escalate`, `alert-raise`, `alert-clear`.
  public var action: String
  public var incidentID: Int64?
  public var device: String?
  public var detail: String
  public init(
    id: Int64, atMs: Int64, actor: String, action: String, incidentID: Int64?, device: String?,
    detail: String
  ) {
    self.id = id
    self.atMs = atMs
    self.actor = actor
    self.action = action
    self.incidentID = incidentID
    self.device = device
    self.detail = detail
  }
}

/// A store failure with what and where.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
  case deviceExists(String)
  case unknownDevice(String)
  case unknownIncident(Int64)
  case incidentClosed(Int64, state: IncidentState)
  /// The database cannot be used (unreachable, full disk, …); nothing was committed.
  case unavailable(String)
  /// The schema in the database is newer than this program knows.
  case schemaTooNew(found: Int, known: Int)
  /// An ingest gave way to an alarm (``IngestPreemption``) before it committed; nothing of it
  /// was stored, and it is to be run again.
  case preempted

  public var description: String {
    switch self {
    case .deviceExists(let name): "device \"\(name)\" exists; revoke it first to re-enroll"
    case .unknownDevice(let name): "no device named \"\(name)\""
    case .unknownIncident(let id): "no incident \(id)"
    case .incidentClosed(let id, let state): "incident \(id) is already \(state.rawValue)"
    case .unavailable(let why): "store unavailable: \(why)"
    case .schemaTooNew(let found, let known):
      "the database schema is version \(found); this station knows up to \(known)"
    case .preempted: "the ingest gave way to an alarm before it committed; nothing was stored"
    }
  }
}
