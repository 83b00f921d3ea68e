import OutpostCore

/// The hard limits of protocol version 1. Decoders check each one before they allocate or read
/// further; encoders refuse input that would break one.
public enum WireLimits {
  /// The most bytes of a stream frame after its length prefix (message type and payload).
  public static let maxFrameLength = 65_536
  /// The most bytes of a whole datagram. Fits one UDP packet on any path with IPv6's minimum MTU.
  public static let maxDatagramLength = 1_200
  /// The most records in one batch.
  public static let maxRecordsPerBatch = 256
  /// The longest record body, as in the journal.
  public static let maxBodyLength = JournalFrame.maxBodyLength
  /// The most ranges in one acknowledgement or welcome.
  public static let maxRanges = 512
  /// Text fields, in UTF-8 bytes: a device's enrolled name.
  public static let maxDeviceName = 64
  /// An officer's short name in incident messages.
  public static let maxOfficerName = 32
  /// The short text an officer sends a household.
  public static let maxNote = 120
  /// A household's name in a neighbour alert.
  public static let maxHousehold = 64
  /// The text of an error message.
  public static let maxErrorMessage = 200
  /// Strings inside record bodies, as the journal's body coding allows them.
  public static let maxCheckInWho = 255
  /// A sighting report's note.
  public static let maxReportNote = 1024
  /// A datagram key's length in bytes.
  public static let datagramKeyLength = 32
}

/// Why a message could not be encoded: the input breaks a limit or a rule of the protocol.
public enum WireEncodingError: Error, Sendable, Hashable, CustomStringConvertible {
  case recordCount(Int)
  case recordsNotAscending(previous: UInt64, next: UInt64)
  case bodyTooLong(seq: UInt64, length: Int)
  case fieldTooLong(field: String, length: Int, limit: Int)
  case frameTooLong(length: Int, limit: Int)
  case tooManyRanges(Int)
  case rangesNotAscending
  case invalidKeyLength(Int)
  case notEncodable(String)

  /// What was wrong with the input, for people.
  public var description: String {
    switch self {
    case .recordCount(let count):
      "a batch holds 1–\(WireLimits.maxRecordsPerBatch) records, not \(count)"
    case .recordsNotAscending(let previous, let next):
      "records of a batch must have ascending sequence numbers; \(next) follows \(previous)"
    case .bodyTooLong(let seq, let length):
      "record \(seq) has a \(length)-byte body; the limit is \(WireLimits.maxBodyLength)"
    case .fieldTooLong(let field, let length, let limit):
      "\(field) is \(length) bytes; the limit is \(limit)"
    case .frameTooLong(let length, let limit):
      "the message takes \(length) bytes; the limit is \(limit)"
    case .tooManyRanges(let count):
      "\(count) ranges; the limit is \(WireLimits.maxRanges)"
    case .rangesNotAscending:
      "ranges must be ascending and neither overlap nor touch"
    case .invalidKeyLength(let length):
      "a datagram key is \(WireLimits.datagramKeyLength) bytes, not \(length)"
    case .notEncodable(let what): what
    }
  }
}
