import Glibc
import Logging
import Synchronization

/// A directory under /tmp for one test, removed with what is in it (one level of files and
/// empty directories) when the test lets go of it.
final class TemporaryDirectory {
  let path: String

  init() {
    var template = Array("/tmp/outpost-hooks-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp: \(String(cString: strerror(errno)))")
    path = String(cString: made!)
  }

  /// The path of `name` inside the directory.
  func file(_ name: String) -> String { "\(path)/\(name)" }

  deinit { Self.remove(path) }

  private static func remove(_ path: String) {
    if unlink(path) == 0 || errno == ENOENT { return }
    if let directory = opendir(path) {
      while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
          String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { remove("\(path)/\(name)") }
      }
      closedir(directory)
    }
    rmdir(path)
  }
}

/// What a ``RecordingLogHandler`` saw: every entry, at every level.
final class LogRecords: Sendable {
  struct Entry: Sendable {
    var level: Logger.Level
    var message: String
    var metadata: Logger.Metadata
  }

  private let storage = Mutex<[Entry]>([])

  var entries: [Entry] { storage.withLock { $0 } }

  /// The entries at `level`.
  func at(_ level: Logger.Level) -> [Entry] { entries.filter { $0.level == level } }

  func append(_ entry: Entry) { storage.withLock { $0.append(entry) } }
}

/// A log handler that keeps every message in memory, for tests that check what was logged.
struct RecordingLogHandler: LogHandler {
  let records: LogRecords
  var metadata: Logger.Metadata = [:]
  var metadataProvider: Logger.MetadataProvider?
  var logLevel: Logger.Level = .trace

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    records.append(
      LogRecords.Entry(
        level: event.level, message: event.message.description,
        metadata: metadata.merging(event.metadata ?? [:]) { _, new in new }))
  }

  /// A logger whose messages land in a fresh ``LogRecords``.
  static func logger() -> (Logger, LogRecords) {
    let records = LogRecords()
    let logger = Logger(label: "outpost.hooks.test") { _ in RecordingLogHandler(records: records) }
    return (logger, records)
  }
}
