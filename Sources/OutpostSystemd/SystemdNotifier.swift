internal import CSystemd
import Glibc

/// Tells the service manager about the daemon's state over `NOTIFY_SOCKET` (`sd_notify(3)`).
///
/// The notifier holds no state: every call reads `NOTIFY_SOCKET` afresh and leaves it set, so
/// copies may be used from any task. When the daemon does not run under systemd (the variable is
/// unset), every send is a no-op that returns `false`, so callers need no separate code path.
public struct SystemdNotifier: Sendable {
  /// Creates a notifier for the service manager named by this process's `NOTIFY_SOCKET`.
  public init() {}

  /// Whether a service manager is listening: `NOTIFY_SOCKET` is set and not empty.
  ///
  /// The socket may be a path or an abstract socket name starting with `@`; this does not check
  /// that anyone is bound to it.
  public var isEnabled: Bool {
    guard let value = getenv("NOTIFY_SOCKET") else { return false }
    return value.pointee != 0
  }

  /// Sends `states` as one notification, their assignments joined by newlines.
  ///
  /// - Returns: `true` if the message was sent; `false` if `NOTIFY_SOCKET` is unset or empty
  ///   or `states` is empty, in which case nothing is sent.
  /// - Throws: ``SystemdError`` with operation `.notify` if `NOTIFY_SOCKET` is malformed or the
  ///   message could not be sent to it.
  @discardableResult
  public func notify(_ states: [NotifyState]) throws(SystemdError) -> Bool {
    guard !states.isEmpty, isEnabled else { return false }
    let result = sd_notify(0, NotifyState.message(states))
    guard result >= 0 else { throw SystemdError(.notify, returned: result) }
    return result > 0
  }

  /// Sends `READY=1`, followed by `STATUS=status` when `status` is given.
  ///
  /// - Returns: `true` if sent, `false` if not running under a service manager.
  /// - Throws: ``SystemdError`` as ``notify(_:)`` does.
  @discardableResult
  public func ready(status: String? = nil) throws(SystemdError) -> Bool {
    try notify([.ready] + (status.map { [.status($0)] } ?? []))
  }

  /// Sends `RELOADING=1` with `MONOTONIC_USEC=` set to the current `CLOCK_MONOTONIC` time, as
  /// `Type=notify-reload` units require; send ``ready(status:)`` when the reload is done.
  ///
  /// - Returns: `true` if sent, `false` if not running under a service manager.
  /// - Throws: ``SystemdError`` as ``notify(_:)`` does.
  @discardableResult
  public func reloading() throws(SystemdError) -> Bool {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let monotonic = Duration.seconds(now.tv_sec) + Duration.nanoseconds(now.tv_nsec)
    return try notify([.reloading, .monotonicTimestamp(monotonic)])
  }

  /// Sends `STOPPING=1`.
  ///
  /// - Returns: `true` if sent, `false` if not running under a service manager.
  /// - Throws: ``SystemdError`` as ``notify(_:)`` does.
  @discardableResult
  public func stopping() throws(SystemdError) -> Bool {
    try notify([.stopping])
  }

  /// Sends `STATUS=text`, with line breaks and NULs in `text` replaced by spaces.
  ///
  /// - Returns: `true` if sent, `false` if not running under a service manager.
  /// - Throws: ``SystemdError`` as ``notify(_:)`` does.
  @discardableResult
  public func status(_ text: String) throws(SystemdError) -> Bool {
    try notify([.status(text)])
  }

  /// Sends the keep-alive ping `WATCHDOG=1`.
  ///
  /// Call it only after checking that the daemon is really making progress, at least once per
  /// ``watchdogInterval()``.
  ///
  /// - Returns: `true` if sent, `false` if not running under a service manager.
  /// - Throws: ``SystemdError`` as ``notify(_:)`` does.
  @discardableResult
  public func watchdog() throws(SystemdError) -> Bool {
    try notify([.watchdog])
  }

  /// Sends `MAINPID=pid`.
  ///
  /// - Returns: `true` if sent, `false` if not running under a service manager.
  /// - Throws: ``SystemdError`` as ``notify(_:)`` does.
  @discardableResult
  public func mainPID(_ pid: Int32) throws(SystemdError) -> Bool {
    try notify([.mainPID(pid)])
  }

  /// Sends `ERRNO=number`, reporting that the daemon failed with that errno.
  ///
  /// - Returns: `true` if sent, `false` if not running under a service manager.
  /// - Throws: ``SystemdError`` as ``notify(_:)`` does.
  @discardableResult
  public func errno(_ number: Int32) throws(SystemdError) -> Bool {
    try notify([.errno(number)])
  }

  /// How often to send ``watchdog()``: half of `WATCHDOG_USEC`, as `sd_watchdog_enabled(3)`
  /// recommends, so one late ping does not get the daemon killed.
  ///
  /// - Returns: the ping period, or `nil` if the watchdog is not enabled for this process
  ///   (`WATCHDOG_USEC` unset, or `WATCHDOG_PID` set to another process).
  /// - Throws: ``SystemdError`` with operation `.watchdog` if `WATCHDOG_USEC` or `WATCHDOG_PID`
  ///   is set but not a valid number; ignoring that could get the daemon killed by a watchdog it
  ///   never pings.
  public func watchdogInterval() throws(SystemdError) -> Duration? {
    var timeout: UInt64 = 0
    let result = sd_watchdog_enabled(0, &timeout)
    guard result >= 0 else { throw SystemdError(.watchdog, returned: result) }
    guard result > 0 else { return nil }
    return Duration.microseconds(Int64(clamping: timeout)) / 2
  }
}
