import Glibc

/// The CA directory's files: created with their final mode, written whole or not at all.
///
/// A key file is created 0600 by `open(2)` itself, never loosened and tightened afterwards, so
/// there is no moment at which another user could open it. A file appears under its name only
/// after its bytes are on disk (temporary file, `fsync`, `rename`, `fsync` of the directory), so
/// a crash leaves either the old state or the new one, never half a key.
enum CAFiles {
  /// Creates `path` with mode 0700 (and missing parents with mode 0755).
  ///
  /// An existing directory is kept, made owner-only if it was not; whether it already holds a
  /// CA is the caller's question.
  static func makeDirectory(_ path: String) throws(CAError) {
    var info = stat()
    if lstat(path, &info) == 0 {
      guard info.st_mode & S_IFMT == S_IFDIR else {
        throw CAError("\(path): exists and is not a directory")
      }
      guard info.st_mode & 0o077 != 0 else { return }
      guard chmod(path, 0o700) == 0 else {
        throw CAError("\(path): cannot make the CA directory owner-only: \(lastError())")
      }
      return
    }
    let parent = parentDirectory(of: path)
    if parent != path, !parent.isEmpty, lstat(parent, &info) != 0 {
      try makeParent(parent)
    }
    guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
      throw CAError("\(path): cannot create the CA directory: \(lastError())")
    }
  }

  /// Whether something (of any kind, a dangling link included) is at `path`.
  static func exists(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0
  }

  /// The permission bits of `path`, or nil when it cannot be examined.
  static func permissions(_ path: String) -> UInt32? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return UInt32(info.st_mode) & 0o7777
  }

  /// Replaces `path` atomically with `bytes`; the file is created with `mode` (less the umask).
  static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws(CAError) {
    let directory = parentDirectory(of: path)
    let name = path.split(separator: "/").last.map(String.init) ?? path
    let temporary = "\(directory)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
    guard fd >= 0 else { throw CAError("\(path): cannot create: \(lastError())") }
    do throws(CAError) {
      try writeAll(bytes, to: fd, path: path)
      guard fsync(fd) == 0 else { throw CAError("\(path): fsync failed: \(lastError())") }
      guard close(fd) == 0 else { throw CAError("\(path): close failed: \(lastError())") }
    } catch {
      close(fd)
      unlink(temporary)
      throw error
    }
    guard rename(temporary, path) == 0 else {
      let message = lastError()
      unlink(temporary)
      throw CAError("\(path): cannot rename into place: \(message)")
    }
    let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard directoryFD >= 0 else {
      throw CAError("\(directory): cannot open to sync: \(lastError())")
    }
    defer { close(directoryFD) }
    guard fsync(directoryFD) == 0 else {
      throw CAError("\(directory): fsync failed: \(lastError())")
    }
  }

  /// The bytes of `path`.
  ///
  /// - Throws: ``CAError`` naming the file, whether it is missing or unreadable, and the
  ///   command that makes a CA.
  static func contents(of path: String) throws(CAError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      let code = errno
      let what = code == ENOENT ? "missing" : "unreadable (\(String(cString: strerror(code))))"
      throw CAError("\(path): \(what); run `outpost-station ca init` to create the CA")
    }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        throw CAError("\(path): read failed: \(lastError())")
      }
      if count == 0 { return result }
      // A CA file is a few hundred bytes; anything large is not ours.
      guard result.count + count <= 1 << 20 else {
        throw CAError("\(path): larger than 1 MiB; not a CA file")
      }
      result += chunk[..<count]
    }
  }

  private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(CAError) {
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if written < 0 {
        if errno == EINTR { continue }
        throw CAError("\(path): write failed: \(lastError())")
      }
      offset += written
    }
  }

  private static func makeParent(_ path: String) throws(CAError) {
    let parent = parentDirectory(of: path)
    var info = stat()
    if parent != path, !parent.isEmpty, lstat(parent, &info) != 0 {
      try makeParent(parent)
    }
    guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
      throw CAError("\(path): cannot create: \(lastError())")
    }
  }

  private static func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
  }

  private static func lastError() -> String { String(cString: strerror(errno)) }
}
