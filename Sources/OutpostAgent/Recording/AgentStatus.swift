import OutpostCore
import OutpostHooks
import OutpostJournal

/// Fixed journald `MESSAGE_ID`s, so that `journalctl MESSAGE_ID=…` finds every SOS of a box
/// across versions. They never change; new kinds get new ids.
public enum MessageIDs {
  public static let sos = "fa463cde30784ccf9340b82b57172e2c"
  public static let sosCancel = "a393a9d3d2e44d69b84d3f580395ae0f"
  public static let checkIn = "ccdafa8ad995437c86690f073f4304dc"
  public static let report = "cda3398a247740fd8d4729617fc4567d"
  public static let sensorAlarm = "62a44099e1844c3d80684c280fd4dcca"
  /// Any other record the agent logs (readings, positions, health).
  public static let record = "589f081b574647a2ae2d43669d2f887d"

  /// The id for records of `kind`.
  public static func `for`(_ kind: RecordKind) -> String {
    switch kind {
    case .sos: sos
    case .sosCancel: sosCancel
    case .checkIn: checkIn
    case .report: report
    case .sensorAlarm: sensorAlarm
    default: record
    }
  }
}

/// How a source is doing.
public enum SourceState: Sendable, Hashable, CustomStringConvertible {
  /// Opening its device for the first time.
  case starting
  /// Reading.
  case up
  /// Its device failed; it tries again after a backoff.
  case retrying(reason: String)

  /// `starting`, `up`, or `retrying: REASON`.
  public var description: String {
    switch self {
    case .starting: "starting"
    case .up: "up"
    case .retrying(let reason): "retrying: \(reason)"
    }
  }
}

/// Something changed that the status line, the feedback hooks or a waiting `outpostctl` may
/// care about.
public enum AgentChange: Sendable, Hashable {
  /// An alarm reached `moment` (recorded, delivered, acknowledged, cancelled).
  case alarm(TrackedAlarm, FeedbackMoment)
  /// The pending count changed by more than an append.
  case journal
  /// The link state changed.
  case link
  /// A source's state changed.
  case source(String)
  /// The clock became trusted.
  case clock
}

/// A snapshot of the agent, for `outpostctl status` and the systemd status line.
public struct AgentStatus: Sendable {
  public var pendingRecords: UInt64
  public var oldestPendingSeq: UInt64?
  public var oldestPendingTime: RecordTime?
  public var link: LinkState
  /// No enrollment bundle is installed: the box records locally only.
  public var waitingForEnrollment = false
  /// The last SOS, cancel or sensor alarm.
  public var lastAlarm: TrackedAlarm?
  /// The last thing recorded by a trigger (alarm, check-in or report).
  public var lastRecorded: TrackedAlarm?
  /// The alarms the box still remembers, oldest first.
  public var alarms: [TrackedAlarm]
  public var clockTrusted: Bool
  public var position: Position?
  public var sources: [String: SourceState]
  /// Full journal statistics, when they were asked for.
  public var journal: JournalStatistics?
  /// The time the snapshot was taken.
  public var now: RecordTime

  /// The oldest pending record's age in seconds (by monotonic time within one boot, else by
  /// wall time), nil when nothing is pending.
  public var oldestPendingAgeSeconds: Int64? {
    guard let oldest = oldestPendingTime else { return nil }
    if oldest.boot == now.boot {
      return Int64(now.sinceBootMs &- min(now.sinceBootMs, oldest.sinceBootMs)) / 1000
    }
    return max(0, now.wallMs - oldest.wallMs) / 1000
  }

  /// The one-line `STATUS=` text: pending count, oldest age, link, last alarm.
  public var statusLine: String {
    var parts = ["\(pendingRecords) pending"]
    if let age = oldestPendingAgeSeconds { parts[0] += " (oldest \(Self.age(age)))" }
    parts.append(waitingForEnrollment ? "waiting for enrollment" : "link \(link)")
    if let alarm = lastAlarm {
      var text = "last \(alarm.kind) \(alarm.progress.rawValue)"
      if let presses = alarm.presses, presses > 1 { text += " (\(presses) presses)" }
      parts.append(text)
    } else {
      parts.append("no alarm")
    }
    let down = sources.filter { if case .retrying = $0.value { true } else { false } }
    if !down.isEmpty { parts.append("\(down.count) source(s) retrying") }
    if !clockTrusted { parts.append("clock untrusted") }
    return parts.joined(separator: "; ")
  }

  /// `45s`, `12m`, `3h`, `2d`.
  static func age(_ seconds: Int64) -> String {
    switch seconds {
    case ..<120: "\(seconds)s"
    case ..<7200: "\(seconds / 60)m"
    case ..<172_800: "\(seconds / 3600)h"
    default: "\(seconds / 86400)d"
    }
  }
}
