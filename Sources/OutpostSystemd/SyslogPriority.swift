import Logging

/// A syslog severity, as journald stores it in the `PRIORITY=` field (`syslog(3)`, RFC 5424).
///
/// Raw values are the wire values 0 (most severe) to 7 (least), so `journalctl -p` filters work
/// on entries from ``JournaldLogHandler``.
public enum SyslogPriority: Int, Sendable, Hashable, CaseIterable {
  /// 0: the system is unusable.
  case emergency = 0
  /// 1: action must be taken immediately.
  case alert = 1
  /// 2: critical conditions.
  case critical = 2
  /// 3: error conditions.
  case error = 3
  /// 4: warning conditions.
  case warning = 4
  /// 5: normal but significant conditions.
  case notice = 5
  /// 6: informational messages.
  case informational = 6
  /// 7: debug-level messages.
  case debug = 7

  /// The severity journald should record for a swift-log level.
  ///
  /// `critical` → 2, `error` → 3, `warning` → 4, `notice` → 5, `info` → 6, and both `debug` and
  /// `trace` → 7, since syslog has nothing below debug. Levels 0 and 1 are never produced: they
  /// mean the whole system, not one daemon, is in trouble.
  public init(_ level: Logger.Level) {
    switch level {
    case .trace, .debug: self = .debug
    case .info: self = .informational
    case .notice: self = .notice
    case .warning: self = .warning
    case .error: self = .error
    case .critical: self = .critical
    }
  }
}
