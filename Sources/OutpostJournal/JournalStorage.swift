/// The one narrow interface through which the journal touches its file.
///
/// Everything the journal does to stable storage is one of these calls, so a simulated disk
/// (`SimulatedDisk` in the test kit) can stand in for the file and tear, drop and corrupt writes
/// under a seeded random generator.
///
/// Contract, as for a file on Linux:
/// - ``write(_:at:)`` may reach stable storage partially, in any order, or not at all until
///   ``sync()`` returns; a crash before then may leave any prefix, suffix or mix of old and new
///   bytes.
/// - After ``sync()`` returns, every write that returned before it is durable.
/// - Errors are reported as ``StorageError`` with the operation, offset and errno.
public protocol JournalStorage: AnyObject {
  /// The size of the storage in bytes.
  var size: UInt64 { get }

  /// Reads `buffer.count` bytes at `offset`, or fewer at the end of storage.
  ///
  /// - Returns: the number of bytes read.
  func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws
    -> Int

  /// Writes all of `bytes` at `offset`. Never extends the storage.
  func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws

  /// Makes every completed write durable (`fdatasync`).
  func sync() throws
}

/// A failed storage operation: what, where, and the errno it failed with.
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Operation: String, Sendable {
    case open, read, write, sync, allocate, close, lock
  }

  public var operation: Operation
  public var offset: UInt64?
  public var errno: Int32
  public var path: String?

  public init(_ operation: Operation, offset: UInt64? = nil, errno: Int32, path: String? = nil) {
    self.operation = operation
    self.offset = offset
    self.errno = errno
    self.path = path
  }

  public static let eio: Int32 = 5
  public static let enospc: Int32 = 28

  public var description: String {
    var text = "\(operation.rawValue) failed"
    if let path { text += " on \(path)" }
    if let offset { text += " at byte \(offset)" }
    text += ": " + Self.explain(errno)
    return text
  }

  static func explain(_ errno: Int32) -> String {
    switch errno {
    case 2: "no such file (ENOENT)"
    case 5: "input/output error (EIO): the storage is failing"
    case 13: "permission denied (EACCES)"
    case 17: "file exists (EEXIST)"
    case 21: "is a directory (EISDIR)"
    case 28: "no space left on device (ENOSPC)"
    case 30: "read-only file system (EROFS)"
    case 11: "in use by another process (EWOULDBLOCK): is outpostd running on this journal?"
    default: "errno \(errno)"
    }
  }
}
