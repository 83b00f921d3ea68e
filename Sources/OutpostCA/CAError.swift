/// A certificate authority problem: what was wrong, where, and what to do about it.
public struct CAError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The message for a person: it names the file or the input at fault.
  public var description: String

  /// Creates an error with the message a person will read.
  public init(_ description: String) { self.description = description }
}
