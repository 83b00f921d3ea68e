/// One assignment in a service-manager notification, as described in `sd_notify(3)`.
///
/// A notification is a newline-separated list of `NAME=value` assignments; each case renders to
/// exactly one of them, and never contains a newline or a NUL byte, so no value can smuggle in a
/// second assignment or cut the message short.
public enum NotifyState: Sendable, Hashable {
  /// `READY=1`: start-up is finished; for `Type=notify` units, systemd now considers the service
  /// started.
  case ready

  /// `RELOADING=1`: the service is reloading its configuration. For `Type=notify-reload` units,
  /// systemd 253 and later also expect ``monotonicTimestamp(_:)`` in the same notification.
  case reloading

  /// `STOPPING=1`: the service is beginning its shutdown.
  case stopping

  /// `STATUS=text`: a one-line status shown by `systemctl status`.
  ///
  /// Line breaks (LF, CR, VT, FF, NEL, U+2028, U+2029) and NUL bytes in the text are each
  /// replaced by a space when rendered, because a newline would start a new assignment and a NUL would end the message.
  case status(String)

  /// `ERRNO=n`: the service failed with this errno; shown by `systemctl status`.
  case errno(Int32)

  /// `MAINPID=pid`: the main process of the service is `pid`.
  case mainPID(Int32)

  /// `WATCHDOG=1`: the keep-alive ping. Send it only while the service is really making
  /// progress, at least every ``SystemdNotifier/watchdogInterval()``.
  case watchdog

  /// `WATCHDOG=trigger`: ask the service manager to act as if the watchdog timeout had expired.
  case watchdogTrigger

  /// `WATCHDOG_USEC=n`: change the watchdog timeout of the running service to this duration,
  /// rounded down to whole microseconds (negative durations render as 0).
  case watchdogTimeout(Duration)

  /// `EXTEND_TIMEOUT_USEC=n`: extend the current start-up, runtime or shutdown timeout by this
  /// duration from now, rounded down to whole microseconds (negative durations render as 0).
  /// Use it while a long journal recovery delays `READY=1`.
  case extendTimeout(Duration)

  /// `MONOTONIC_USEC=n`: the `CLOCK_MONOTONIC` time at which a reload started, rounded down to
  /// whole microseconds (negative durations render as 0).
  case monotonicTimestamp(Duration)

  /// The `NAME=value` assignment this state sends, without a trailing newline.
  public var rendered: String {
    switch self {
    case .ready: "READY=1"
    case .reloading: "RELOADING=1"
    case .stopping: "STOPPING=1"
    case .status(let text): "STATUS=" + Self.singleLine(text)
    case .errno(let number): "ERRNO=\(number)"
    case .mainPID(let pid): "MAINPID=\(pid)"
    case .watchdog: "WATCHDOG=1"
    case .watchdogTrigger: "WATCHDOG=trigger"
    case .watchdogTimeout(let timeout): "WATCHDOG_USEC=\(Self.microseconds(timeout))"
    case .extendTimeout(let delay): "EXTEND_TIMEOUT_USEC=\(Self.microseconds(delay))"
    case .monotonicTimestamp(let time): "MONOTONIC_USEC=\(Self.microseconds(time))"
    }
  }

  /// Renders `states` as one notification message: their assignments joined by newlines.
  public static func message(_ states: [NotifyState]) -> String {
    states.map(\.rendered).joined(separator: "\n")
  }

  /// `text` with every line break (LF, CR, VT, FF, NEL, and the Unicode line and paragraph
  /// separators) and every NUL replaced by a space, one space per replaced scalar.
  static func singleLine(_ text: String) -> String {
    var scalars = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\n", "\r", "\0", "\u{0B}", "\u{0C}", "\u{85}", "\u{2028}", "\u{2029}":
        scalars.append(" ")
      default:
        scalars.append(scalar)
      }
    }
    return String(scalars)
  }

  /// `duration` in whole microseconds, rounded down, clamped to `0...UInt64.max`.
  static func microseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    guard seconds >= 0, attoseconds >= 0 else { return 0 }
    let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
    guard !overflow else { return UInt64.max }
    let (total, carry) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000_000))
    return carry ? UInt64.max : total
  }
}
