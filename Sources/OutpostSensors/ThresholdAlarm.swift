/// Turns a stream of readings into alarm edges with hysteresis, so that a value wobbling around
/// its threshold raises one alarm, not one a minute.
///
/// For a sensor that alarms when high (fire: temperature), the alarm is raised when a reading
/// reaches ``raiseAt`` and cleared only when one falls to ``clearAt`` or below, which lies below
/// it. For one that alarms when low (a battery's voltage, a water tank), the other way round.
public struct ThresholdAlarm: Sendable, Hashable {
  /// Which side of the threshold is the alarm.
  public enum Direction: Sendable, Hashable {
    case above
    case below
  }

  public let direction: Direction
  /// The reading at which the alarm is raised, in milli-units.
  public let raiseAt: Int64
  /// The reading at which a raised alarm clears, in milli-units; on the safe side of `raiseAt`.
  public let clearAt: Int64
  /// Whether the alarm is raised now.
  public private(set) var isRaised = false

  /// - Returns: nil when `clearAt` is not on the safe side of `raiseAt` (the configuration
  ///   check reports it by name).
  public init?(direction: Direction, raiseAt: Int64, clearAt: Int64) {
    switch direction {
    case .above: guard clearAt < raiseAt else { return nil }
    case .below: guard clearAt > raiseAt else { return nil }
    }
    self.direction = direction
    self.raiseAt = raiseAt
    self.clearAt = clearAt
  }

  /// What a reading did to the alarm.
  public enum Change: Sendable, Hashable {
    case raised
    case cleared
  }

  /// Takes a reading; returns the change it caused, if any.
  public mutating func reading(_ value: Int64) -> Change? {
    let alarming = direction == .above ? value >= raiseAt : value <= raiseAt
    let safe = direction == .above ? value <= clearAt : value >= clearAt
    if !isRaised, alarming {
      isRaised = true
      return .raised
    }
    if isRaised, safe {
      isRaised = false
      return .cleared
    }
    return nil
  }
}
