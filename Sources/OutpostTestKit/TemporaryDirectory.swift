import Glibc

/// A fresh directory under `/tmp` for one test, removed with everything in it when the value
/// is released.
public final class TemporaryDirectory: @unchecked Sendable {
  /// The directory's path.
  public let path: String

  /// Creates `/tmp/outpost-PREFIX-XXXXXX`.
  public init(_ prefix: String = "test") {
    var template = Array("/tmp/outpost-\(prefix)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp: \(String(cString: strerror(errno)))")
    path = String(cString: made!)
  }

  /// `path/name`.
  public func file(_ name: String) -> String { "\(path)/\(name)" }

  deinit {
    Self.remove(path)
  }

  /// Removes `path` and everything under it (no symlinks are followed).
  public static func remove(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if info.st_mode & S_IFMT == S_IFDIR {
      if let directory = opendir(path) {
        while let entry = readdir(directory) {
          let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
          }
          if name != "." && name != ".." { remove("\(path)/\(name)") }
        }
        closedir(directory)
      }
      rmdir(path)
    } else {
      unlink(path)
    }
  }
}
