import Glibc

/// The box's boot counter, kept in the state directory as `boot`: one line
/// `BOOT_ID COUNT`. It goes up by one when the kernel's boot id differs from the stored one, so
/// restarts of the daemon within one boot keep the number and every boot gets a new one.
public enum BootCounter {
  /// The file's name in the state directory.
  public static let fileName = "boot"

  /// The kernel's id of this boot.
  public static func kernelBootID() -> String {
    guard let text = try? readSmallFile("/proc/sys/kernel/random/boot_id") else { return "" }
    return String(text.filter { !$0.isWhitespace })
  }

  /// This boot's number: the stored one when `bootID` matches, else the next, stored durably
  /// before it is returned.
  ///
  /// - Throws: ``AgentError`` when the file cannot be written; a damaged file is replaced (it
  ///   restarts counting above its number if one can be read, else at 1).
  public static func current(stateDirectory: String, bootID: String = kernelBootID())
    throws(AgentError) -> UInt32
  {
    let path = "\(stateDirectory)/\(fileName)"
    var stored: (id: Substring, count: UInt32)?
    if let text = try? readSmallFile(path) {
      let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
      if words.count == 2, let count = UInt32(words[1]) { stored = (words[0], count) }
    }
    if let stored, stored.id == bootID, !bootID.isEmpty { return stored.count }
    let next = (stored?.count ?? 0) &+ 1
    try writeDurably(path: path, contents: "\(bootID) \(next)\n")
    return next
  }
}

/// Reads a small text file whole.
func readSmallFile(_ path: String, limit: Int = 65536) throws(AgentError) -> String {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { throw AgentError.system("open", path: path, errno: errno) }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while bytes.count < limit {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 {
      if errno == EINTR { continue }
      throw AgentError.system("read", path: path, errno: errno)
    }
    if n == 0 { break }
    bytes += chunk[0..<n]
  }
  return String(decoding: bytes, as: UTF8.self)
}

/// Writes `contents` to `path` through a temporary file, fsync and rename, then syncs the
/// directory, so the file is either the old one or the new one after a power cut.
func writeDurably(path: String, contents: String) throws(AgentError) {
  let temporary = path + ".new"
  let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
  guard fd >= 0 else { throw AgentError.system("create", path: temporary, errno: errno) }
  let bytes = Array(contents.utf8)
  var written = 0
  while written < bytes.count {
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
    if n < 0 {
      if errno == EINTR { continue }
      let e = errno
      close(fd)
      throw AgentError.system("write", path: temporary, errno: e)
    }
    written += n
  }
  if fsync(fd) != 0 {
    let e = errno
    close(fd)
    throw AgentError.system("fsync", path: temporary, errno: e)
  }
  close(fd)
  guard rename(temporary, path) == 0 else {
    throw AgentError.system("rename", path: path, errno: errno)
  }
  let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
    .joined(separator: "/")
  let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
  if dirFD >= 0 {
    _ = fsync(dirFD)
    close(dirFD)
  }
}
