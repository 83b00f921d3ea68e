import Glibc

/// The package's executables, built into the same products directory as the test bundle
/// (`swift build --build-tests` builds every product of the package).
public enum ProductBinary {
  /// The path of executable `name`.
  ///
  /// - Throws: ``SpawnError`` when it is not there, saying where it was looked for and how to
  ///   build it.
  public static func path(_ name: String) throws -> String {
    var candidates: [String] = []
    if let exe = resolvedLink("/proc/self/exe") { candidates.append(directory(of: exe)) }
    if let first = CommandLine.arguments.first, first.contains("/") {
      candidates.append(directory(of: first))
    }
    for directory in candidates {
      let binary = directory + "/" + name
      if access(binary, X_OK) == 0 { return binary }
    }
    throw SpawnError(
      "\(name) not found in \(candidates) (the test bundle's products directory); "
        + "build it first with `swift build --build-tests`", errno: 0)
  }

  private static func resolvedLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink(path, &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  private static func directory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }
}
