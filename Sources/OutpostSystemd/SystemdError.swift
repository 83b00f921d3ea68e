import Glibc

/// A libsystemd call that failed: which one, and the errno it returned.
///
/// libsystemd reports failures as a negative errno; this type carries the positive value and a
/// ``description`` that says what went wrong and what to check.
public struct SystemdError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The libsystemd operation that failed.
  public enum Operation: String, Sendable, Hashable {
    /// `sd_notify`: sending a state change to the service manager over `NOTIFY_SOCKET`.
    case notify
    /// `sd_watchdog_enabled`: reading `WATCHDOG_USEC` and `WATCHDOG_PID`.
    case watchdog
    /// `sd_journal_sendv`: sending an entry to journald's native socket.
    case journalSend
    /// `sd_listen_fds`: reading `LISTEN_FDS` and `LISTEN_PID` (socket activation).
    case listenFDs
  }

  /// The operation that failed.
  public var operation: Operation

  /// The positive errno the operation failed with.
  public var errno: Int32

  /// Creates an error for `operation` failing with the positive errno `errno`.
  public init(_ operation: Operation, errno: Int32) {
    self.operation = operation
    self.errno = errno
  }

  /// Creates an error from a libsystemd return value, which is a negative errno on failure.
  init(_ operation: Operation, returned result: Int32) {
    self.init(operation, errno: -result)
  }

  /// What failed, why, and what to check, in words an administrator can act on.
  public var description: String {
    let cause = Self.explain(errno)
    switch operation {
    case .notify:
      return "sd_notify failed: \(cause). NOTIFY_SOCKET must name the service manager's "
        + "notification socket (an absolute path or an '@' abstract name); check the unit's "
        + "Type= and NotifyAccess= settings."
    case .watchdog:
      return "sd_watchdog_enabled failed: \(cause). WATCHDOG_USEC must be a positive number of "
        + "microseconds and WATCHDOG_PID a process id; check the unit's WatchdogSec= setting."
    case .journalSend:
      return "sd_journal_sendv failed: \(cause). Is systemd-journald running and "
        + "/run/systemd/journal/socket reachable from this service?"
    case .listenFDs:
      return "sd_listen_fds failed: \(cause). LISTEN_FDS and LISTEN_PID must be numbers; check "
        + "the .socket unit that starts this service."
    }
  }

  static func explain(_ errno: Int32) -> String {
    switch errno {
    case EPERM: "operation not permitted (EPERM)"
    case ENOENT: "no such file or socket (ENOENT)"
    case EAGAIN: "resource temporarily unavailable (EAGAIN): the receiver is not keeping up"
    case ENOMEM: "out of memory (ENOMEM)"
    case EACCES: "permission denied (EACCES)"
    case EINVAL: "invalid argument (EINVAL)"
    case ERANGE: "number out of range (ERANGE)"
    case EMSGSIZE: "message too long (EMSGSIZE)"
    case EPROTOTYPE: "wrong socket type (EPROTOTYPE)"
    case ECONNREFUSED: "connection refused (ECONNREFUSED): nobody is listening on the socket"
    default: "errno \(errno)"
    }
  }
}
