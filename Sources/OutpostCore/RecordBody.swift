/// A GPS fix in integer units, so that it encodes exactly and compactly.
public struct Position: Sendable, Hashable {
  /// Latitude in 1e-7 degrees (about 1 cm).
  public var latitudeE7: Int32
  /// Longitude in 1e-7 degrees.
  public var longitudeE7: Int32
  /// Altitude above mean sea level in decimetres, when known.
  public var altitudeDm: Int32?
  /// Ground speed in cm/s, when known.
  public var speedCmPerS: UInt32?
  /// Course over ground in centidegrees (0..<36000), when known.
  public var headingCdeg: UInt16?
  /// Horizontal dilution of precision ×100, when known.
  public var hdopCenti: UInt16?
  /// Satellites used in the fix, when known.
  public var satellites: UInt8?
  /// The receiver's time of the fix in ms since the Unix epoch, when known.
  public var fixTimeMs: Int64?

  public init(
    latitudeE7: Int32, longitudeE7: Int32, altitudeDm: Int32? = nil, speedCmPerS: UInt32? = nil,
    headingCdeg: UInt16? = nil, hdopCenti: UInt16? = nil, satellites: UInt8? = nil,
    fixTimeMs: Int64? = nil
  ) {
    self.latitudeE7 = latitudeE7
    self.longitudeE7 = longitudeE7
    self.altitudeDm = altitudeDm
    self.speedCmPerS = speedCmPerS
    self.headingCdeg = headingCdeg
    self.hdopCenti = hdopCenti
    self.satellites = satellites
    self.fixTimeMs = fixTimeMs
  }
}

/// The sighting categories a sentinel can report.
public enum ReportCategory: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  case smuggling = 1
  case poaching = 2
  case illegalDigging = 3
  case livestockLost = 4
  case other = 255

  public var description: String {
    switch self {
    case .smuggling: "smuggling"
    case .poaching: "poaching"
    case .illegalDigging: "illegal-digging"
    case .livestockLost: "livestock-lost"
    case .other: "other"
    }
  }

  public init?(name: String) {
    guard let match = Self.allCases.first(where: { $0.description == name }) else { return nil }
    self = match
  }
}

/// What a sensor alarm is about.
public enum SensorAlarmKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  case fire = 1
  case flood = 2
  case lowBattery = 3
  case other = 255

  public var description: String {
    switch self {
    case .fire: "fire"
    case .flood: "flood"
    case .lowBattery: "low-battery"
    case .other: "other"
    }
  }
}

/// The state of the box's link to its station, as reported in health records.
public enum LinkState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  case unknown = 0
  case down = 1
  case connecting = 2
  case up = 3

  public var description: String {
    switch self {
    case .unknown: "unknown"
    case .down: "down"
    case .connecting: "connecting"
    case .up: "up"
    }
  }
}

/// The typed content of a record, one case per ``RecordKind``.
///
/// Encoded bodies start with nothing kind-specific: the kind travels beside the body. Optional
/// fields are announced by a leading presence bitmask, so absent fields cost one bit.
public enum RecordBody: Sendable, Hashable {
  /// `presses` counts the presses joined into this SOS; the latest fix is attached when known.
  case sos(presses: UInt32, position: Position?)
  case sosCancel
  /// `who` is nil for the household's own press, else the card or badge id.
  case checkIn(who: String?, position: Position?)
  case report(category: ReportCategory, note: String?, position: Position?)
  /// `value` is in the sensor's unit, ×1000 (milli-degrees, millivolts, millimetres).
  case sensorReading(sensor: String, milliValue: Int64)
  /// `raised` is false when the reading returned past the hysteresis band.
  case sensorAlarm(sensor: String, alarm: SensorAlarmKind, milliValue: Int64, raised: Bool)
  case position(Position)
  case boxHealth(BoxHealth)
  /// `count` records between `firstSeq` and `lastSeq` (inclusive) were overwritten unacknowledged.
  case journalGap(count: UInt64, firstSeq: UInt64, lastSeq: UInt64)
  case forwardedIncident(ForwardedIncident)
  case incidentUpdate(IncidentUpdate)
  case test([UInt8])
  case opaque(kind: UInt8, bytes: [UInt8])

  /// The kind this body belongs to.
  public var kind: RecordKind {
    switch self {
    case .sos: .sos
    case .sosCancel: .sosCancel
    case .checkIn: .checkIn
    case .report: .report
    case .sensorReading: .sensorReading
    case .sensorAlarm: .sensorAlarm
    case .position: .position
    case .boxHealth: .boxHealth
    case .journalGap: .journalGap
    case .forwardedIncident: .forwardedIncident
    case .incidentUpdate: .incidentUpdate
    case .test: .test
    case .opaque(let kind, _): RecordKind(rawValue: kind)
    }
  }

  /// The body's bytes, as stored in the journal.
  public func encoded() -> [UInt8] {
    var w = ByteWriter(capacity: 32)
    switch self {
    case .sos(let presses, let position):
      w.writeVarint(UInt64(presses))
      w.writeOptionalPosition(position)
    case .sosCancel:
      break
    case .checkIn(let who, let position):
      w.write(who == nil ? 0 : 1)
      if let who { w.writeString(who) }
      w.writeOptionalPosition(position)
    case .report(let category, let note, let position):
      w.write(category.rawValue)
      w.write(note == nil ? 0 : 1)
      if let note { w.writeString(note) }
      w.writeOptionalPosition(position)
    case .sensorReading(let sensor, let milliValue):
      w.writeString(sensor)
      w.writeSignedVarint(milliValue)
    case .sensorAlarm(let sensor, let alarm, let milliValue, let raised):
      w.writeString(sensor)
      w.write(alarm.rawValue)
      w.writeSignedVarint(milliValue)
      w.write(raised ? 1 : 0)
    case .position(let position):
      w.writePosition(position)
    case .boxHealth(let health):
      health.encode(into: &w)
    case .journalGap(let count, let firstSeq, let lastSeq):
      w.writeVarint(count)
      w.writeVarint(firstSeq)
      w.writeVarint(lastSeq &- firstSeq)
    case .forwardedIncident(let incident):
      incident.encode(into: &w)
    case .incidentUpdate(let update):
      update.encode(into: &w)
    case .test(let bytes), .opaque(_, let bytes):
      w.write(contentsOf: bytes)
    }
    return w.bytes
  }

  /// Decodes `bytes` as the body of a record of `kind`.
  ///
  /// - Throws: ``RecordBodyError`` naming the offset where the bytes stopped making sense.
  public init(kind: RecordKind, bytes: [UInt8]) throws(RecordBodyError) {
    var r = ByteReader(bytes)
    switch kind {
    case .sos:
      let presses = try r.readVarint()
      guard presses <= UInt64(UInt32.max) else { throw .invalidValue(field: "presses", at: 0) }
      self = .sos(presses: UInt32(presses), position: try r.readOptionalPosition())
    case .sosCancel:
      self = .sosCancel
    case .checkIn:
      let hasWho = try r.readFlag(field: "who")
      let who = hasWho ? try r.readString() : nil
      self = .checkIn(who: who, position: try r.readOptionalPosition())
    case .report:
      let at = r.offset
      guard let category = ReportCategory(rawValue: try r.readByte()) else {
        throw .invalidValue(field: "category", at: at)
      }
      let hasNote = try r.readFlag(field: "note")
      let note = hasNote ? try r.readString(maxLength: 1024) : nil
      self = .report(category: category, note: note, position: try r.readOptionalPosition())
    case .sensorReading:
      self = .sensorReading(sensor: try r.readString(), milliValue: try r.readSignedVarint())
    case .sensorAlarm:
      let sensor = try r.readString()
      let at = r.offset
      guard let alarm = SensorAlarmKind(rawValue: try r.readByte()) else {
        throw .invalidValue(field: "alarm", at: at)
      }
      let value = try r.readSignedVarint()
      let raised = try r.readFlag(field: "raised")
      self = .sensorAlarm(sensor: sensor, alarm: alarm, milliValue: value, raised: raised)
    case .position:
      self = .position(try r.readPosition())
    case .boxHealth:
      self = .boxHealth(try BoxHealth(from: &r))
    case .journalGap:
      let count = try r.readVarint()
      let first = try r.readVarint()
      let span = try r.readVarint()
      self = .journalGap(count: count, firstSeq: first, lastSeq: first &+ span)
    case .forwardedIncident:
      self = .forwardedIncident(try ForwardedIncident(from: &r))
    case .incidentUpdate:
      self = .incidentUpdate(try IncidentUpdate(from: &r))
    case .test:
      self = .test(bytes)
      return
    case .unknown(let raw):
      self = .opaque(kind: raw, bytes: bytes)
      return
    }
    guard r.remaining == 0 else { throw .trailingBytes(at: r.offset, count: r.remaining) }
  }
}

/// An incident as a station forwards it up the chain: which incident of which station, whose
/// box, what kind, and what the officers above need to act on it.
public struct ForwardedIncident: Sendable, Hashable {
  /// The longest kind, device name, household and detail a body holds, in UTF-8 bytes.
  public static let maxKindBytes = 32
  public static let maxDeviceBytes = 64
  public static let maxHouseholdBytes = 128
  public static let maxDetailBytes = 256

  /// The forwarding station's own incident number.
  public var incident: UInt64
  /// The incident's kind at the forwarding station (`sos`, `sensor-alarm`, …).
  public var kind: String
  /// The box it came from, and that box's household.
  public var device: String
  public var household: String?
  /// The sensor alarm and sensor (`fire temp1`), or anything else the kind needs.
  public var detail: String?
  public var presses: UInt32
  /// When the box recorded it, ms since the epoch.
  public var openedAtMs: Int64
  public var position: Position?

  public init(
    incident: UInt64, kind: String, device: String, household: String?, detail: String?,
    presses: UInt32, openedAtMs: Int64, position: Position?
  ) {
    self.incident = incident
    self.kind = kind
    self.device = device
    self.household = household
    self.detail = detail
    self.presses = presses
    self.openedAtMs = openedAtMs
    self.position = position
  }

  func encode(into w: inout ByteWriter) {
    var present: UInt8 = 0
    if household != nil { present |= 1 }
    if detail != nil { present |= 2 }
    if position != nil { present |= 4 }
    w.write(present)
    w.writeVarint(incident)
    w.writeString(kind)
    w.writeString(device)
    if let household { w.writeString(household) }
    if let detail { w.writeString(detail) }
    w.writeVarint(UInt64(presses))
    w.writeSignedVarint(openedAtMs)
    if let position { w.writePosition(position) }
  }

  init(from r: inout ByteReader) throws(RecordBodyError) {
    let at = r.offset
    let present = try r.readByte()
    guard present & ~7 == 0 else { throw .invalidValue(field: "present", at: at) }
    incident = try r.readVarint()
    kind = try r.readString(maxLength: Self.maxKindBytes)
    device = try r.readString(maxLength: Self.maxDeviceBytes)
    household = present & 1 != 0 ? try r.readString(maxLength: Self.maxHouseholdBytes) : nil
    detail = present & 2 != 0 ? try r.readString(maxLength: Self.maxDetailBytes) : nil
    let pressesAt = r.offset
    let presses = try r.readVarint()
    guard presses <= UInt64(UInt32.max) else {
      throw .invalidValue(field: "presses", at: pressesAt)
    }
    self.presses = UInt32(presses)
    openedAtMs = try r.readSignedVarint()
    position = present & 4 != 0 ? try r.readPosition() : nil
  }
}

/// What happened to an incident a station forwarded (``ForwardedIncident``) after it was
/// forwarded: an officer of the forwarding station acknowledged or closed it, or the box
/// cancelled it. The higher station applies it to the incident the forwarded record opened.
public struct IncidentUpdate: Sendable, Hashable {
  /// The longest officer name and note a body holds, in UTF-8 bytes (as the downlinks).
  public static let maxOfficerBytes = 32
  public static let maxNoteBytes = 120

  public enum State: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case acknowledged = 1
    case cancelled = 2
    case resolved = 3
    case falseAlarm = 4

    public var description: String {
      switch self {
      case .acknowledged: "acknowledged"
      case .cancelled: "cancelled"
      case .resolved: "resolved"
      case .falseAlarm: "false-alarm"
      }
    }
  }

  /// The forwarding journal's epoch and the sequence number of the `forwarded-incident` record
  /// this follows.
  public var forwardedEpoch: UInt64
  public var forwardedSeq: UInt64
  /// The forwarding station's own incident number.
  public var incident: UInt64
  public var state: State
  /// Who did it at the forwarding station (empty when the box cancelled).
  public var officer: String
  public var note: String?
  /// When, ms since the epoch.
  public var atMs: Int64

  public init(
    forwardedEpoch: UInt64, forwardedSeq: UInt64, incident: UInt64, state: State,
    officer: String, note: String?, atMs: Int64
  ) {
    self.forwardedEpoch = forwardedEpoch
    self.forwardedSeq = forwardedSeq
    self.incident = incident
    self.state = state
    self.officer = officer
    self.note = note
    self.atMs = atMs
  }

  func encode(into w: inout ByteWriter) {
    w.write(state.rawValue | (note == nil ? 0 : 0x80))
    w.write(littleEndian: forwardedEpoch)
    w.writeVarint(forwardedSeq)
    w.writeVarint(incident)
    w.writeString(officer)
    if let note { w.writeString(note) }
    w.writeSignedVarint(atMs)
  }

  init(from r: inout ByteReader) throws(RecordBodyError) {
    let at = r.offset
    let flags = try r.readByte()
    guard let state = State(rawValue: flags & 0x7F) else {
      throw .invalidValue(field: "state", at: at)
    }
    self.state = state
    forwardedEpoch = try r.read(littleEndian: UInt64.self)
    forwardedSeq = try r.readVarint()
    incident = try r.readVarint()
    officer = try r.readString(maxLength: Self.maxOfficerBytes)
    note = flags & 0x80 != 0 ? try r.readString(maxLength: Self.maxNoteBytes) : nil
    atMs = try r.readSignedVarint()
  }
}

/// Supply and link figures a box reports about itself.
public struct BoxHealth: Sendable, Hashable {
  public var supplyMillivolts: UInt32?
  public var batteryPercent: UInt8?
  public var uptimeSeconds: UInt64
  /// Journal fill in per mille of capacity.
  public var journalFillPermille: UInt16
  public var link: LinkState

  public init(
    supplyMillivolts: UInt32? = nil, batteryPercent: UInt8? = nil, uptimeSeconds: UInt64,
    journalFillPermille: UInt16, link: LinkState
  ) {
    self.supplyMillivolts = supplyMillivolts
    self.batteryPercent = batteryPercent
    self.uptimeSeconds = uptimeSeconds
    self.journalFillPermille = journalFillPermille
    self.link = link
  }

  func encode(into w: inout ByteWriter) {
    var present: UInt8 = 0
    if supplyMillivolts != nil { present |= 1 }
    if batteryPercent != nil { present |= 2 }
    w.write(present)
    if let supplyMillivolts { w.writeVarint(UInt64(supplyMillivolts)) }
    if let batteryPercent { w.write(batteryPercent) }
    w.writeVarint(uptimeSeconds)
    w.writeVarint(UInt64(journalFillPermille))
    w.write(link.rawValue)
  }

  init(from r: inout ByteReader) throws(RecordBodyError) {
    let present = try r.readByte()
    supplyMillivolts = present & 1 != 0 ? UInt32(truncatingIfNeeded: try r.readVarint()) : nil
    batteryPercent = present & 2 != 0 ? try r.readByte() : nil
    uptimeSeconds = try r.readVarint()
    journalFillPermille = UInt16(truncatingIfNeeded: try r.readVarint())
    let at = r.offset
    guard let link = LinkState(rawValue: try r.readByte()) else {
      throw .invalidValue(field: "link", at: at)
    }
    self.link = link
  }
}

/// Why a body could not be decoded, and where.
public enum RecordBodyError: Error, Sendable, Hashable, CustomStringConvertible {
  case truncated(at: Int)
  case varintOverflow(at: Int)
  case fieldTooLong(at: Int, length: UInt64, limit: Int)
  case invalidValue(field: String, at: Int)
  case trailingBytes(at: Int, count: Int)

  public var description: String {
    switch self {
    case .truncated(let at): "record body ends early at byte \(at)"
    case .varintOverflow(let at): "varint at byte \(at) does not fit 64 bits"
    case .fieldTooLong(let at, let length, let limit):
      "field at byte \(at) is \(length) bytes long; the limit is \(limit)"
    case .invalidValue(let field, let at): "invalid \(field) at byte \(at)"
    case .trailingBytes(let at, let count): "\(count) unexpected bytes after the body at byte \(at)"
    }
  }
}

extension ByteWriter {
  fileprivate mutating func writePosition(_ p: Position) {
    var present: UInt8 = 0
    if p.altitudeDm != nil { present |= 1 }
    if p.speedCmPerS != nil { present |= 2 }
    if p.headingCdeg != nil { present |= 4 }
    if p.hdopCenti != nil { present |= 8 }
    if p.satellites != nil { present |= 16 }
    if p.fixTimeMs != nil { present |= 32 }
    write(present)
    write(littleEndian: p.latitudeE7)
    write(littleEndian: p.longitudeE7)
    if let v = p.altitudeDm { writeSignedVarint(Int64(v)) }
    if let v = p.speedCmPerS { writeVarint(UInt64(v)) }
    if let v = p.headingCdeg { writeVarint(UInt64(v)) }
    if let v = p.hdopCenti { writeVarint(UInt64(v)) }
    if let v = p.satellites { write(v) }
    if let v = p.fixTimeMs { writeSignedVarint(v) }
  }

  fileprivate mutating func writeOptionalPosition(_ p: Position?) {
    if let p {
      write(1)
      writePosition(p)
    } else {
      write(0)
    }
  }
}

extension ByteReader {
  fileprivate mutating func readFlag(field: String) throws(RecordBodyError) -> Bool {
    let at = offset
    switch try readByte() {
    case 0: return false
    case 1: return true
    default: throw .invalidValue(field: field, at: at)
    }
  }

  fileprivate mutating func readPosition() throws(RecordBodyError) -> Position {
    let present = try readByte()
    var p = Position(
      latitudeE7: try read(littleEndian: Int32.self),
      longitudeE7: try read(littleEndian: Int32.self))
    if present & 1 != 0 { p.altitudeDm = Int32(truncatingIfNeeded: try readSignedVarint()) }
    if present & 2 != 0 { p.speedCmPerS = UInt32(truncatingIfNeeded: try readVarint()) }
    if present & 4 != 0 { p.headingCdeg = UInt16(truncatingIfNeeded: try readVarint()) }
    if present & 8 != 0 { p.hdopCenti = UInt16(truncatingIfNeeded: try readVarint()) }
    if present & 16 != 0 { p.satellites = try readByte() }
    if present & 32 != 0 { p.fixTimeMs = try readSignedVarint() }
    return p
  }

  fileprivate mutating func readOptionalPosition() throws(RecordBodyError) -> Position? {
    try readFlag(field: "position") ? try readPosition() : nil
  }
}
