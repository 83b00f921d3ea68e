import Glibc
import Logging

/// The station's limit on open files, which bounds the boxes it can serve at once: each box is
/// a socket. systemd starts services with a soft limit of 1,024 (and a hard limit far above):
/// a station serving a thousand boxes would stop accepting near the thousandth. As systemd
/// advises, the station raises its soft limit to the hard one itself, whoever starts it.
enum OpenFilesLimit {
  /// Files the station needs beside its connections: the store, its journal and WAL, the CA,
  /// the control socket, the event loops' descriptors.
  static let reserve = 256

  /// Raises the soft limit to the hard one, logs what changed, and warns when even the hard
  /// limit leaves fewer than `maxConnections` connections possible.
  static func raise(forConnections maxConnections: Int, logger: Logger) {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
      logger.warning("cannot read the open-files limit: errno \(errno)")
      return
    }
    let before = UInt64(limit.rlim_cur)
    if limit.rlim_cur < limit.rlim_max {
      var raised = limit
      raised.rlim_cur = limit.rlim_max
      if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 {
        limit = raised
        logger.info("open-files limit raised from \(before) to \(UInt64(limit.rlim_cur))")
      } else {
        logger.warning(
          "cannot raise the open-files limit from \(before) to \(UInt64(limit.rlim_max)): errno \(errno)"
        )
      }
    }
    let now = UInt64(limit.rlim_cur)
    let wanted = UInt64(maxConnections + reserve)
    if now < wanted {
      logger.warning(
        "only \(now) files may be open, fewer than link.max_connections = \(maxConnections) connections and \(reserve) for the station itself need; raise LimitNOFILE= in the unit (or ulimit -n) or lower link.max_connections"
      )
    }
  }
}
