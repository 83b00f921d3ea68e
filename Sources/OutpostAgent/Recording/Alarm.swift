import OutpostCore
import OutpostHooks

/// What a button, a card reader or `outpostctl` asks the agent to record.
public enum Trigger: Sendable, Hashable, CustomStringConvertible {
  /// Call for help.
  case help
  /// "We are fine": the household's own press (`who` nil) or a card's id.
  case checkIn(who: String?)
  /// Cancel the last SOS.
  case cancel
  /// A sighting of this category.
  case report(ReportCategory)

  /// The role's spelling: `help`, `check-in`, `cancel`, `report:CATEGORY`.
  public var description: String {
    switch self {
    case .help: "help"
    case .checkIn: "check-in"
    case .cancel: "cancel"
    case .report(let category): "report:\(category)"
    }
  }

  /// The trigger a button of `role` pulls.
  public init(_ role: ButtonRole) {
    switch role {
    case .help: self = .help
    case .checkIn: self = .checkIn(who: nil)
    case .cancel: self = .cancel
    case .report(let category): self = .report(category)
    }
  }
}

/// How far an alarm (or check-in, or report) has got. Ordered: each step implies the ones
/// before, except that a cancelled SOS stays cancelled.
public enum AlarmProgress: String, Sendable, Hashable, Comparable, CaseIterable {
  /// Durable in the box's journal.
  case recorded
  /// Stored by the station (its acknowledgement reached the box).
  case delivered
  /// An officer acknowledged the incident.
  case acknowledged
  /// The herder cancelled it.
  case cancelled

  private var rank: Int { Self.allCases.firstIndex(of: self)! }

  public static func < (lhs: AlarmProgress, rhs: AlarmProgress) -> Bool { lhs.rank < rhs.rank }
}

/// One recorded alarm, check-in or report that the box follows until an officer has seen it.
public struct TrackedAlarm: Sendable, Hashable {
  /// The record's sequence number.
  public var seq: UInt64
  /// `sos`, `sos-cancel`, `sensor-alarm`, `check-in` or `report`.
  public var kind: RecordKind
  /// The SOS incident it belongs to: the sequence number of the incident's first SOS.
  public var incident: UInt64?
  /// For an SOS, the presses counted into the incident so far.
  public var presses: UInt32?
  /// A report's category, or a sensor alarm's kind and sensor.
  public var detail: String?
  public var progress: AlarmProgress
  /// When it was recorded.
  public var time: RecordTime
  /// When the station's ack for it reached the box (µs of `CLOCK_MONOTONIC`; nil before).
  public var ackReceivedAtMicros: UInt64? = nil
  /// The officer who acknowledged it, when one has.
  public var acknowledgedBy: String?
  /// The officer's note for the household.
  public var note: String?

  /// The context a feedback hook runs with, at `moment`.
  func feedbackContext(_ moment: FeedbackMoment) -> FeedbackContext {
    FeedbackContext(
      moment: moment, kind: kind.description, seq: seq, presses: presses, category: detail,
      incident: incident.map { String($0) } ?? String(seq))
  }
}

/// What recording a trigger came to.
public struct TriggerOutcome: Sendable, Hashable {
  /// The record written for it; nil when a press joined an incident whose next record will
  /// carry its count (presses are joined at most once per record interval).
  public var seq: UInt64?
  /// The alarm as the box now follows it (for a joined press: the incident's latest record).
  public var alarm: TrackedAlarm
  /// Whether a help press joined an incident that was already open.
  public var joined: Bool
}
