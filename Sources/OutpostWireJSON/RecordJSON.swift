import OutpostCore
import OutpostWire

/// A record as JSON, the shape `outpostctl journal dump --json` prints, plus an optional
/// `content` object with the decoded body. On input, either `body` (hex) or `content` gives
/// the body; when both are present they must agree.
public struct RecordJSON: Codable, Sendable, Hashable {
  public var seq: UInt64
  public var kind: String
  /// Defaults to the kind's priority.
  public var priority: String?
  public var time: TimeJSON
  /// The body in the journal's encoding, as hex.
  public var body: String?
  /// The body's fields, for kinds this version knows.
  public var content: BodyJSON?

  public init(_ record: WireRecord) {
    seq = record.seq
    kind = record.kind.description
    priority = record.priority.description
    time = TimeJSON(
      wallMs: record.wallMs, clockTrusted: record.clockTrusted, boot: record.monotonic?.boot,
      sinceBootMs: record.monotonic?.sinceBootMs)
    body = Hex.encode(record.body)
    // Only a body that re-encodes to the same bytes is shown decoded, so that the JSON reads
    // back to the same record.
    if let decoded = try? RecordBody(kind: record.kind, bytes: record.body),
      decoded.encoded() == record.body
    {
      content = BodyJSON(decoded)
    }
  }

  /// The wire record this JSON describes.
  ///
  /// A time without `boot` and `since_boot_ms` has no monotonic stamp; with them, the stamp
  /// travels even for a trusted time.
  /// - Throws: ``JSONInputError`` naming the field that is wrong.
  public func wireRecord() throws(JSONInputError) -> WireRecord {
    guard let kind = RecordKind(name: kind) else {
      throw JSONInputError(
        "kind",
        "unknown kind \"\(self.kind)\"; use sos, sos-cancel, check-in, report, sensor-reading, sensor-alarm, position, box-health, journal-gap, test or unknown-N"
      )
    }
    var priority = kind.defaultPriority
    if let name = self.priority {
      guard let named = Priority(name: name) else {
        throw JSONInputError("priority", "unknown priority \"\(name)\"; use alarm, normal or bulk")
      }
      priority = named
    }
    var bytes: [UInt8]?
    if let body {
      guard let decoded = Hex.decode(body) else {
        throw JSONInputError("body", "not hex")
      }
      bytes = decoded
    }
    if let content {
      let encoded = try content.recordBody(kind: kind).encoded()
      if let bytes, bytes != encoded {
        throw JSONInputError("content", "does not match body")
      }
      bytes = encoded
    }
    guard let bytes else { throw JSONInputError("body", "a record needs body (hex) or content") }
    let stamp: MonotonicStamp?
    switch (time.boot, time.sinceBootMs) {
    case (let boot?, let since?): stamp = MonotonicStamp(boot: boot, sinceBootMs: since)
    case (nil, nil): stamp = nil
    default: throw JSONInputError("time", "give both boot and since_boot_ms, or neither")
    }
    return WireRecord(
      seq: seq, kind: kind, priority: priority, wallMs: time.wallMs,
      clockTrusted: time.clockTrusted, monotonic: stamp, body: bytes)
  }
}

/// A record time as JSON.
public struct TimeJSON: Codable, Sendable, Hashable {
  public var wallMs: Int64
  public var clockTrusted: Bool
  public var boot: UInt32?
  public var sinceBootMs: UInt64?

  public init(wallMs: Int64, clockTrusted: Bool, boot: UInt32?, sinceBootMs: UInt64?) {
    self.wallMs = wallMs
    self.clockTrusted = clockTrusted
    self.boot = boot
    self.sinceBootMs = sinceBootMs
  }

  enum CodingKeys: String, CodingKey {
    case wallMs = "wall_ms"
    case clockTrusted = "clock_trusted"
    case boot
    case sinceBootMs = "since_boot_ms"
  }
}

/// A GPS fix as JSON, in the integer units of ``Position``.
public struct PositionJSON: Codable, Sendable, Hashable {
  public var latE7: Int32
  public var lonE7: Int32
  public var altDm: Int32?
  public var speedCmS: UInt32?
  public var headingCdeg: UInt16?
  public var hdopCenti: UInt16?
  public var satellites: UInt8?
  public var fixTimeMs: Int64?

  public init(_ p: Position) {
    latE7 = p.latitudeE7
    lonE7 = p.longitudeE7
    altDm = p.altitudeDm
    speedCmS = p.speedCmPerS
    headingCdeg = p.headingCdeg
    hdopCenti = p.hdopCenti
    satellites = p.satellites
    fixTimeMs = p.fixTimeMs
  }

  public var position: Position {
    Position(
      latitudeE7: latE7, longitudeE7: lonE7, altitudeDm: altDm, speedCmPerS: speedCmS,
      headingCdeg: headingCdeg, hdopCenti: hdopCenti, satellites: satellites,
      fixTimeMs: fixTimeMs)
  }

  enum CodingKeys: String, CodingKey {
    case latE7 = "lat_e7"
    case lonE7 = "lon_e7"
    case altDm = "alt_dm"
    case speedCmS = "speed_cm_s"
    case headingCdeg = "heading_cdeg"
    case hdopCenti = "hdop_centi"
    case satellites
    case fixTimeMs = "fix_time_ms"
  }
}

/// The fields of a typed body as JSON; which ones apply depends on the record's kind.
public struct BodyJSON: Codable, Sendable, Hashable {
  public var presses: UInt32?
  public var who: String?
  public var category: String?
  public var note: String?
  public var sensor: String?
  public var milliValue: Int64?
  public var alarm: String?
  public var raised: Bool?
  public var position: PositionJSON?
  public var supplyMillivolts: UInt32?
  public var batteryPercent: UInt8?
  public var uptimeSeconds: UInt64?
  public var journalFillPermille: UInt16?
  public var link: String?
  public var count: UInt64?
  public var firstSeq: UInt64?
  public var lastSeq: UInt64?
  /// A forwarded incident's number at its station, kind, box, household, detail and time.
  public var incident: UInt64?
  public var incidentKind: String?
  public var device: String?
  public var household: String?
  public var detail: String?
  public var openedAtMs: Int64?
  /// An incident update: the forwarded record it follows, the new state, who and when
  /// (`incident`, `note` above).
  public var forwardedEpoch: String?
  public var forwardedSeq: UInt64?
  public var state: String?
  public var officer: String?
  public var atMs: Int64?

  public init() {}

  /// The JSON of a decoded body; nil for test and unknown kinds, whose bodies stay hex.
  public init?(_ body: RecordBody) {
    switch body {
    case .sos(let presses, let position):
      self.presses = presses
      self.position = position.map(PositionJSON.init)
    case .sosCancel:
      break
    case .checkIn(let who, let position):
      self.who = who
      self.position = position.map(PositionJSON.init)
    case .report(let category, let note, let position):
      self.category = category.description
      self.note = note
      self.position = position.map(PositionJSON.init)
    case .sensorReading(let sensor, let milliValue):
      self.sensor = sensor
      self.milliValue = milliValue
    case .sensorAlarm(let sensor, let alarm, let milliValue, let raised):
      self.sensor = sensor
      self.alarm = alarm.description
      self.milliValue = milliValue
      self.raised = raised
    case .position(let position):
      self.position = PositionJSON(position)
    case .boxHealth(let health):
      supplyMillivolts = health.supplyMillivolts
      batteryPercent = health.batteryPercent
      uptimeSeconds = health.uptimeSeconds
      journalFillPermille = health.journalFillPermille
      link = health.link.description
    case .journalGap(let count, let firstSeq, let lastSeq):
      self.count = count
      self.firstSeq = firstSeq
      self.lastSeq = lastSeq
    case .forwardedIncident(let forwarded):
      incident = forwarded.incident
      incidentKind = forwarded.kind
      device = forwarded.device
      household = forwarded.household
      detail = forwarded.detail
      presses = forwarded.presses
      openedAtMs = forwarded.openedAtMs
      position = forwarded.position.map(PositionJSON.init)
    case .incidentUpdate(let update):
      forwardedEpoch = hex64(update.forwardedEpoch)
      forwardedSeq = update.forwardedSeq
      incident = update.incident
      state = update.state.description
      officer = update.officer
      note = update.note
      atMs = update.atMs
    case .test, .opaque:
      return nil
    }
  }

  /// The typed body of `kind` these fields describe.
  public func recordBody(kind: RecordKind) throws(JSONInputError) -> RecordBody {
    func need<T>(_ value: T?, _ field: String) throws(JSONInputError) -> T {
      guard let value else { throw JSONInputError("content.\(field)", "missing for \(kind)") }
      return value
    }
    switch kind {
    case .sos: return .sos(presses: presses ?? 1, position: position?.position)
    case .sosCancel: return .sosCancel
    case .checkIn: return .checkIn(who: who, position: position?.position)
    case .report:
      let name = try need(category, "category")
      guard let category = ReportCategory(name: name) else {
        throw JSONInputError("content.category", "unknown category \"\(name)\"")
      }
      return .report(category: category, note: note, position: position?.position)
    case .sensorReading:
      return .sensorReading(
        sensor: try need(sensor, "sensor"), milliValue: try need(milliValue, "milli_value"))
    case .sensorAlarm:
      let name = try need(alarm, "alarm")
      guard let alarm = SensorAlarmKind.allCases.first(where: { $0.description == name }) else {
        throw JSONInputError("content.alarm", "unknown alarm \"\(name)\"")
      }
      return .sensorAlarm(
        sensor: try need(sensor, "sensor"), alarm: alarm,
        milliValue: try need(milliValue, "milli_value"),
        raised: raised ?? true)
    case .position: return .position(try need(position, "position").position)
    case .boxHealth:
      let name = link ?? "unknown"
      guard let link = LinkState.allCases.first(where: { $0.description == name }) else {
        throw JSONInputError("content.link", "unknown link state \"\(name)\"")
      }
      return .boxHealth(
        BoxHealth(
          supplyMillivolts: supplyMillivolts, batteryPercent: batteryPercent,
          uptimeSeconds: try need(uptimeSeconds, "uptime_s"),
          journalFillPermille: journalFillPermille ?? 0, link: link))
    case .journalGap:
      return .journalGap(
        count: try need(count, "count"), firstSeq: try need(firstSeq, "first_seq"),
        lastSeq: try need(lastSeq, "last_seq"))
    case .forwardedIncident:
      return .forwardedIncident(
        ForwardedIncident(
          incident: try need(incident, "incident"), kind: try need(incidentKind, "incident_kind"),
          device: try need(device, "device"), household: household, detail: detail,
          presses: presses ?? 0, openedAtMs: try need(openedAtMs, "opened_at_ms"),
          position: position?.position))
    case .incidentUpdate:
      let epoch = try parseHex64(
        need(forwardedEpoch, "forwarded_epoch"), field: "content.forwarded_epoch")
      let name = try need(state, "state")
      guard let state = IncidentUpdate.State.allCases.first(where: { $0.description == name })
      else { throw JSONInputError("content.state", "unknown state \"\(name)\"") }
      return .incidentUpdate(
        IncidentUpdate(
          forwardedEpoch: epoch, forwardedSeq: try need(forwardedSeq, "forwarded_seq"),
          incident: try need(incident, "incident"), state: state, officer: officer ?? "",
          note: note, atMs: try need(atMs, "at_ms")))
    case .test, .unknown:
      throw JSONInputError("content", "\(kind) records have no typed content; give body as hex")
    }
  }

  enum CodingKeys: String, CodingKey {
    case presses, who, category, note, sensor
    case milliValue = "milli_value"
    case alarm, raised, position
    case supplyMillivolts = "supply_mv"
    case batteryPercent = "battery_percent"
    case uptimeSeconds = "uptime_s"
    case journalFillPermille = "journal_fill_permille"
    case link, count
    case firstSeq = "first_seq"
    case lastSeq = "last_seq"
    case incident
    case incidentKind = "incident_kind"
    case device, household, detail
    case openedAtMs = "opened_at_ms"
    case forwardedEpoch = "forwarded_epoch"
    case forwardedSeq = "forwarded_seq"
    case state, officer
    case atMs = "at_ms"
  }
}

/// JSON input that parses but does not describe a valid record or message.
public struct JSONInputError: Error, Sendable, Hashable, CustomStringConvertible {
  public var field: String
  public var problem: String

  public init(_ field: String, _ problem: String) {
    self.field = field
    self.problem = problem
  }

  public var description: String { "\(field): \(problem)" }
}

extension RecordKind {
  /// The kind named as in JSON and on the command line (`sos`, `unknown-77`).
  public init?(name: String) {
    if name.hasPrefix("unknown-"), let raw = UInt8(name.dropFirst("unknown-".count)) {
      self.init(rawValue: raw)
      return
    }
    for raw in UInt8.min...UInt8.max {
      let kind = RecordKind(rawValue: raw)
      if case .unknown = kind { continue }
      if kind.description == name {
        self = kind
        return
      }
    }
    return nil
  }
}
