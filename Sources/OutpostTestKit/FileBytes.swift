#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Whole-file reads and writes for tests: fixtures, damaged and foreign files, command input.
public enum FileBytes {
  /// Why a file could not be read or written: the call, the path and the system's reason.
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// The file's bytes.
  public static func read(_ path: String) throws(Failure) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw failure("open", path) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { throw failure("read", path) }
      if n == 0 { return bytes }
      bytes.append(contentsOf: chunk[0..<n])
    }
  }

  /// The file's text, decoded as UTF-8.
  public static func readText(_ path: String) throws(Failure) -> String {
    String(decoding: try read(path), as: UTF8.self)
  }

  /// Replaces the file with `bytes` (created owner-only if it does not exist).
  public static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw failure("open", path) }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
      let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw failure("write", path) }
      done += n
    }
  }

  private static func failure(_ call: String, _ path: String) -> Failure {
    Failure(description: "\(call) \(path): \(String(cString: strerror(errno)))")
  }
}
