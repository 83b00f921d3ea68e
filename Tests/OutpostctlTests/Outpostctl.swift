import Glibc
import OutpostTestKit
import Testing

/// The real `outpostctl` binary, built into the same products directory as this test bundle
/// (`swift build --build-tests` builds every product of the package).
enum Outpostctl {
  /// The binary's path.
  ///
  /// - Throws: when it is not there, saying where it was looked for and how to build it.
  static func path() throws -> String {
    try ProductBinary.path("outpostctl")
  }

  /// Runs `outpostctl` with `arguments` to the end.
  static func run(_ arguments: [String]) throws -> ChildResult {
    try runChild(path(), arguments)
  }
}

/// A directory under `$TMPDIR` (or `/tmp`) for one test, removed with everything in it by
/// ``remove()``.
struct TemporaryDirectory {
  /// The directory's path.
  let path: String

  /// Creates a fresh directory named after `label`.
  init(_ label: String) throws {
    var template = Array("/tmp/outpostctl-\(label)-XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { throw SpawnError("mkdtemp", errno: errno) }
    path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
  }

  /// `name` inside the directory.
  func file(_ name: String) -> String { path + "/" + name }

  /// Removes the directory and the files in it (it holds no subdirectories).
  func remove() {
    if let dir = opendir(path) {
      while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
          String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != "." && name != ".." { unlink(file(name)) }
      }
      closedir(dir)
    }
    rmdir(path)
  }
}
