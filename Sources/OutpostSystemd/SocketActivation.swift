internal import CSystemd
import Glibc

/// Sockets systemd passed in (socket activation, `sd_listen_fds(3)`).
public enum SocketActivation {
  /// The sockets systemd passed this process, by kind.
  public struct PassedSockets: Sendable, Hashable {
    /// Listening stream sockets (`ListenStream=`), in order.
    public var stream: [Int32]
    /// Datagram sockets (`ListenDatagram=`), in order.
    public var datagram: [Int32]
  }

  /// The listening stream sockets passed to this process, in order, or an empty array when none
  /// were (no `LISTEN_FDS`, or they were meant for another process). Unsets the variables, so
  /// children do not take the sockets for theirs; sets close-on-exec on each.
  ///
  /// - Throws: ``SystemdError`` when the variables are malformed.
  public static func listeningSockets() throws(SystemdError) -> [Int32] {
    try passedSockets().stream
  }

  /// The stream and datagram sockets passed to this process, each kind in order; both empty
  /// when none were. Like ``listeningSockets()``, unsets the variables (so call it once) and
  /// sets close-on-exec on each socket.
  ///
  /// - Throws: ``SystemdError`` when the variables are malformed.
  public static func passedSockets() throws(SystemdError) -> PassedSockets {
    let count = sd_listen_fds(1)
    guard count >= 0 else { throw SystemdError(.listenFDs, errno: -count) }
    let passed = (0..<count).map { SD_LISTEN_FDS_START + $0 }
    return PassedSockets(
      stream: passed.filter { fd in
        sd_is_socket(fd, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1) > 0
      },
      datagram: passed.filter { fd in
        sd_is_socket(fd, AF_UNSPEC, Int32(SOCK_DGRAM.rawValue), -1) > 0
      })
  }
}
