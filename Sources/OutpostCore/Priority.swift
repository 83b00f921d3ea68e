/// How urgently a record must travel and how hard the journal fights to keep it.
///
/// The raw values are part of the journal's on-disk format and of the wire protocol; never
/// renumber them.
public enum Priority: UInt8, Sendable, CaseIterable, Comparable, CustomStringConvertible {
  /// A person or a sensor is calling for help. Made durable before the trigger returns, sent ahead
  /// of any backlog, and never overwritten while unacknowledged.
  case alarm = 0
  /// Check-ins, reports, positions, health: kept as long as the journal has room.
  case normal = 1
  /// Routine telemetry: the first to be overwritten when the journal is full.
  case bulk = 2

  public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }

  public var description: String {
    switch self {
    case .alarm: "alarm"
    case .normal: "normal"
    case .bulk: "bulk"
    }
  }

  /// Parses the names used in configuration files and on the command line.
  public init?(name: String) {
    switch name {
    case "alarm": self = .alarm
    case "normal": self = .normal
    case "bulk": self = .bulk
    default: return nil
    }
  }
}
