/// What a record is about. The raw values are part of the journal format and the wire protocol.
///
/// Kinds this version does not know are carried as ``unknown(_:)`` so that a journal or a station
/// can store and forward them without understanding them.
public enum RecordKind: Sendable, Hashable, CustomStringConvertible {
  /// The help button was pressed.
  case sos
  /// A pending SOS was cancelled on the box.
  case sosCancel
  /// A household's "we are fine" press, or a visitor's card tap.
  case checkIn
  /// A sighting report by category.
  case report
  /// A periodic sensor reading.
  case sensorReading
  /// A sensor crossed a threshold (fire, flood, low battery…).
  case sensorAlarm
  /// A GPS fix.
  case position
  /// Supply voltage, battery, uptime, journal fill, link state.
  case boxHealth
  /// The journal had to overwrite unacknowledged records: how many, which sequence range.
  case journalGap
  /// An incident a station forwards to a higher one (post → township → banner) because nobody
  /// acknowledged it in time; written by stations, never by boxes.
  case forwardedIncident
  /// What this station's officers (or the box) did with an incident it forwarded earlier, sent
  /// after it so the higher station's copy follows; written by stations, never by boxes.
  case incidentUpdate
  /// Synthetic records written by `outpostctl journal append` for crash and load tests.
  case test
  /// A kind from a newer version; its body is kept opaque.
  case unknown(UInt8)

  public init(rawValue: UInt8) {
    switch rawValue {
    case 1: self = .sos
    case 2: self = .sosCancel
    case 3: self = .checkIn
    case 4: self = .report
    case 5: self = .sensorReading
    case 6: self = .sensorAlarm
    case 7: self = .position
    case 8: self = .boxHealth
    case 9: self = .journalGap
    case 10: self = .forwardedIncident
    case 11: self = .incidentUpdate
    case 0xF0: self = .test
    default: self = .unknown(rawValue)
    }
  }

  public var rawValue: UInt8 {
    switch self {
    case .sos: 1
    case .sosCancel: 2
    case .checkIn: 3
    case .report: 4
    case .sensorReading: 5
    case .sensorAlarm: 6
    case .position: 7
    case .boxHealth: 8
    case .journalGap: 9
    case .forwardedIncident: 10
    case .incidentUpdate: 11
    case .test: 0xF0
    case .unknown(let raw): raw
    }
  }

  /// The name used in JSON output and on the command line.
  public var description: String {
    switch self {
    case .sos: "sos"
    case .sosCancel: "sos-cancel"
    case .checkIn: "check-in"
    case .report: "report"
    case .sensorReading: "sensor-reading"
    case .sensorAlarm: "sensor-alarm"
    case .position: "position"
    case .boxHealth: "box-health"
    case .journalGap: "journal-gap"
    case .forwardedIncident: "forwarded-incident"
    case .incidentUpdate: "incident-update"
    case .test: "test"
    case .unknown(let raw): "unknown-\(raw)"
    }
  }

  /// The priority a record of this kind gets unless its source says otherwise.
  public var defaultPriority: Priority {
    switch self {
    case .sos, .sosCancel, .sensorAlarm, .forwardedIncident, .incidentUpdate: .alarm
    case .checkIn, .report, .position, .journalGap, .boxHealth, .test, .unknown: .normal
    case .sensorReading: .bulk
    }
  }
}
