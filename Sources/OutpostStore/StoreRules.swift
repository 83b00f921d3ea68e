import OutpostCore

/// The words and rules both stores share: audit actions and actors, which states an incident
/// may move between, and how stored names map back to enums.
enum StoreRules {
  /// The actor of what the station does by itself (timers, escalation).
  static let stationActor = "station"

  /// States in which an incident is still running: a second SOS joins it, a cancel or a
  /// check-in applies to it, and no second one of the same kind and detail is opened.
  static let runningStates: [IncidentState] = [.open, .acknowledged]
  /// `runningStates` as a SQL list.
  static let runningStatesSQL = "('open', 'acknowledged')"

  /// Box-originated incident kinds, as a SQL list.
  static let fromBoxKindsSQL = "('sos', 'sensor-alarm', 'forwarded')"
  /// The states a box is told about, as a SQL list.
  static let notifiedStatesSQL = "('acknowledged', 'resolved', 'false-alarm')"

  static func openDetail(kind: IncidentKind, detail: String?, seq: UInt64, epoch: UInt64)
    -> String
  {
    let id = "\(String(epoch, radix: 16))/\(seq)"
    switch kind {
    case .sos: return "sos, record \(id)"
    case .sensorAlarm: return "sensor alarm \(detail ?? ""), record \(id)"
    case .forwarded: return "forwarded: \(detail ?? ""), record \(id)"
    case .checkInOverdue, .offline: return kind.rawValue
    }
  }

  /// The detail of a forwarded incident: what it is, whose, and which incident of which
  /// station (unique among the forwarding station's running incidents).
  static func forwardedDetail(_ incident: ForwardedIncident, from station: String) -> String {
    let who = incident.household.map { "\(incident.device) (\($0))" } ?? incident.device
    let what = incident.detail.map { "\(incident.kind) \($0)" } ?? incident.kind
    return "\(what) at \(who); incident \(incident.incident) of \(station)"
  }

  static func cancelDetail(seq: UInt64) -> String {
    "sos cancelled on the box, record \(seq)"
  }

  /// An SOS record that arrived after a later one of its incident, and now opens it.
  static func reorderDetail(epoch: UInt64, seq: UInt64) -> String {
    "earlier sos record \(String(epoch, radix: 16))/\(seq) arrived late; the incident opens at it"
  }

  /// The station → box datagram counters a lease hands out after `leased` were: the next
  /// `count` of them.
  /// - Throws: ``StoreError/unavailable(_:)`` when the key's counters are used up (the station
  ///   must move to a new key index; at a lease a second that takes 2^54 years).
  static func nextLease(after leased: UInt64, count: UInt64) throws -> ClosedRange<UInt64> {
    guard leased <= UInt64.max - count else {
      throw StoreError.unavailable("the key's station → box datagram counters are used up")
    }
    return (leased + 1)...(leased + count)
  }

  /// A datagram key as both stores read it, its columns as stored.
  /// - Throws: ``StoreError/unavailable(_:)`` when the stored secret is not 32 bytes.
  static func datagramKey(
    deviceID: Int64, name: String, number: UInt32, keyIndex: UInt8, secret: [UInt8],
    highest: Int64, seen: Int64, epoch: Int64?
  ) throws -> DatagramKeyEntry {
    guard secret.count == 32 else {
      throw StoreError.unavailable(
        "datagram key \(keyIndex) of device \(number) is \(secret.count) bytes, not 32")
    }
    return DatagramKeyEntry(
      deviceID: deviceID, deviceName: name, deviceNumber: number,
      secret: DatagramSecret(index: keyIndex, bytes: secret),
      uplinkWindow: StoredReplayWindow(
        highest: SequenceColumns.value(highest), seen: SequenceColumns.value(seen)),
      epoch: epoch.map(SequenceColumns.value))
  }

  static func overdueDetail(lastCheckInMs: Int64?, intervalMs: Int64) -> String {
    let last = lastCheckInMs.map { "last check-in at \($0) ms" } ?? "no check-in since registration"
    return "check-in overdue: \(last), interval \(intervalMs) ms"
  }

  static func offlineDetail(lastSeenMs: Int64?, limitMs: Int64) -> String {
    let last = lastSeenMs.map { "last contact at \($0) ms" } ?? "no contact since registration"
    return "box offline: \(last), limit \(limitMs) ms"
  }

  /// Whether the box still has to be told `state`, having been told `notified`.
  static func boxNeedsNotice(state: IncidentState, notified: IncidentState?) -> Bool {
    guard state == .acknowledged || state == .resolved || state == .falseAlarm else { return false }
    guard let notified else { return true }
    return notified < state
  }

  static func kind(_ stored: String) throws -> IncidentKind {
    guard let kind = IncidentKind(rawValue: stored) else {
      throw StoreError.unavailable("unknown incident kind \"\(stored)\" in the database")
    }
    return kind
  }

  static func state(_ stored: String) throws -> IncidentState {
    guard let state = IncidentState(rawValue: stored) else {
      throw StoreError.unavailable("unknown incident state \"\(stored)\" in the database")
    }
    return state
  }

  /// The `StoreError` for a device id that is not in the database.
  static func unknownDevice(id: Int64) -> StoreError { .unknownDevice("#\(id)") }
}
