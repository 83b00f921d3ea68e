import Glibc

/// A failure of the agent's own, with what failed, where and what to do.
public struct AgentError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The whole message.
  public var description: String

  public init(_ description: String) {
    self.description = description
  }

  /// A system call `operation` on `path` failed with `errno`; the message adds a hint for the
  /// causes an administrator can fix (permissions, missing files).
  public static func system(_ operation: String, path: String, errno number: Int32) -> AgentError {
    var message = "\(operation) \(path): \(String(cString: strerror(number)))"
    switch number {
    case EACCES, EPERM:
      message += " (check the file's owner and mode, and that the outpost user is in its group)"
    case ENOENT:
      message += " (no such file: is the device plugged in, the path right?)"
    case ENOSPC:
      message += " (the disk is full)"
    default:
      break
    }
    return AgentError(message)
  }
}
