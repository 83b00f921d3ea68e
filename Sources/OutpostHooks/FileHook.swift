import Glibc

/// Writing a file hook's contents: opened with `O_WRONLY | O_CREAT | O_TRUNC` and written in
/// place, because a sysfs attribute cannot be replaced by renaming a temporary file onto it.
enum FileHook {
  /// Writes `contents` to `path` (created with mode 0644 less the umask when missing).
  ///
  /// - Returns: why it failed, or nil.
  static func write(_ contents: String, to path: String) -> HookFailure? {
    var fd: Int32
    repeat {
      fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    } while fd < 0 && errno == EINTR
    guard fd >= 0 else { return .file(path: path, operation: "open", errno: errno) }
    let bytes = Array(contents.utf8)
    var done = 0
    while done < bytes.count {
      let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        let error = n < 0 ? errno : EIO
        _ = close(fd)
        return .file(path: path, operation: "write", errno: error)
      }
      done += n
    }
    // A file system may report a failed write only at close (NFS, a full disk).
    guard close(fd) == 0 || errno == EINTR else {
      return .file(path: path, operation: "close", errno: errno)
    }
    return nil
  }
}
