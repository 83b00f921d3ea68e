internal import CSystemd
import Glibc

/// Sockets systemd passed in (socket activation, `sd_listen_fds(3)`).
public enum SocketActivation {
  /// The listening sockets passed to this process, in order, or an empty array when none were
  /// (no `LISTEN_FDS`, or they were meant for another process). Unsets the variables, so
  /// children do not take the sockets for theirs; sets close-on-exec on each.
  ///
  /// - Throws: ``SystemdError`` when the variables are malformed.
  public static func listeningSockets() throws(SystemdError) -> [Int32] {
    let count = sd_listen_fds(1)
    guard count >= 0 else { throw SystemdError(.listenFDs, errno: -count) }
    return (0..<count).map { SD_LISTEN_FDS_START + $0 }.filter { fd in
      sd_is_socket(fd, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1) > 0
    }
  }
}
