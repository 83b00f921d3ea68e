/// Why bytes from the wire were rejected, and where.
///
/// Every failure of the codec is one of these. ``offset`` counts from the first byte of the frame
/// (the length prefix of a stream frame, the form byte of a datagram), so that a log line points
/// at the byte a person would look at in a hex dump. ``code`` is a stable short name, used by the
/// golden test vectors and by a second implementation to check that it fails the same way.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What was wrong.
  public var reason: Reason
  /// Where, in bytes from the start of the frame or datagram.
  public var offset: Int

  /// The error `reason` at `offset` bytes from the start of the frame or datagram.
  public init(_ reason: Reason, at offset: Int) {
    self.reason = reason
    self.offset = offset
  }

  /// The kinds of failure.
  public enum Reason: Sendable, Hashable {
    /// The frame ended inside `field`.
    case truncated(field: String)
    /// A varint ran past 10 bytes, or its 10th byte carried more than the 64th bit.
    case varintOverflow(field: String)
    /// A varint was longer than needed (a trailing zero group): one value, one encoding.
    case varintNotMinimal(field: String)
    /// A stream frame announced more than the limit allows.
    case frameTooLong(length: UInt64, limit: Int)
    /// A stream frame announced a length of zero (there must be a message type).
    case emptyFrame
    /// A datagram shorter than its fixed parts or longer than the limit.
    case datagramLength(length: Int, limit: ClosedRange<Int>)
    /// A batch announced more records than the limit, or none.
    case recordCount(count: UInt64, limit: Int)
    /// A list (of ranges) announced more entries than the limit.
    case listTooLong(field: String, count: UInt64, limit: Int)
    /// A length-prefixed field was longer than its limit.
    case fieldTooLong(field: String, length: UInt64, limit: Int)
    /// A text field was not valid UTF-8.
    case invalidUTF8(field: String)
    /// A field held a value outside its range, or a reserved bit was set.
    case invalidValue(field: String)
    /// A core message type (below 0x40) this version does not know.
    case unknownMessageType(UInt8)
    /// A message that may not travel in this form (hello in a datagram, say).
    case messageNotAllowed(type: UInt8, form: String)
    /// Bytes left inside a frame after its message and extensions were read.
    case trailingBytes(count: Int)
    /// The first byte of a datagram is not a datagram form of a known protocol version.
    case unsupportedDatagramForm(UInt8)
    /// No key is known for the datagram's device and key index.
    case unknownKey(device: UInt32, keyIndex: UInt8)
    /// The datagram's epoch is implied but the receiver knows no epoch for the device.
    case epochUnknown(device: UInt32)
    /// The datagram's tag does not match: forged, corrupted, or sealed with another key.
    case authenticationFailed
    /// The frame counter was already accepted once.
    case replayed(counter: UInt64)
    /// The frame counter is below the replay window; it cannot be told apart from a replay.
    case tooOld(counter: UInt64, lowestAccepted: UInt64)
    /// The frame counter is further ahead of the highest accepted one than the window allows.
    case farFuture(counter: UInt64, highest: UInt64)
    /// The frame counter is zero (counters start at 1) or exhausted.
    case invalidCounter(UInt64)
  }

  /// A stable short name for the reason, as used in the golden vectors.
  public var code: String {
    switch reason {
    case .truncated: "truncated"
    case .varintOverflow: "varint-overflow"
    case .varintNotMinimal: "varint-not-minimal"
    case .frameTooLong: "frame-too-long"
    case .emptyFrame: "empty-frame"
    case .datagramLength: "datagram-length"
    case .recordCount: "record-count"
    case .listTooLong: "list-too-long"
    case .fieldTooLong: "field-too-long"
    case .invalidUTF8: "invalid-utf8"
    case .invalidValue: "invalid-value"
    case .unknownMessageType: "unknown-message-type"
    case .messageNotAllowed: "message-not-allowed"
    case .trailingBytes: "trailing-bytes"
    case .unsupportedDatagramForm: "unsupported-datagram-form"
    case .unknownKey: "unknown-key"
    case .epochUnknown: "epoch-unknown"
    case .authenticationFailed: "authentication-failed"
    case .replayed: "replayed"
    case .tooOld: "too-old"
    case .farFuture: "far-future"
    case .invalidCounter: "invalid-counter"
    }
  }

  /// What was wrong and where, for logs and people: "varint nonce does not fit 64 bits at
  /// byte 2".
  public var description: String {
    let what: String
    switch reason {
    case .truncated(let field): what = "frame ends inside \(field)"
    case .varintOverflow(let field): what = "varint \(field) does not fit 64 bits"
    case .varintNotMinimal(let field): what = "varint \(field) is not minimally encoded"
    case .frameTooLong(let length, let limit):
      what = "frame announces \(length) bytes; the limit is \(limit)"
    case .emptyFrame: what = "frame announces 0 bytes; it must hold at least a message type"
    case .datagramLength(let length, let limit):
      what = "datagram is \(length) bytes; it must be \(limit.lowerBound)–\(limit.upperBound)"
    case .recordCount(let count, let limit):
      what = "batch announces \(count) records; it must hold 1–\(limit)"
    case .listTooLong(let field, let count, let limit):
      what = "\(field) announces \(count) entries; the limit is \(limit)"
    case .fieldTooLong(let field, let length, let limit):
      what = "\(field) is \(length) bytes long; the limit is \(limit)"
    case .invalidUTF8(let field): what = "\(field) is not valid UTF-8"
    case .invalidValue(let field): what = "invalid \(field)"
    case .unknownMessageType(let type): what = "unknown core message type \(hex(type))"
    case .messageNotAllowed(let type, let form):
      what = "message type \(hex(type)) may not travel in the \(form) form"
    case .trailingBytes(let count): what = "\(count) unexpected bytes after the message"
    case .unsupportedDatagramForm(let byte):
      what = "\(hex(byte)) is not a datagram form of a protocol version this side speaks"
    case .unknownKey(let device, let keyIndex):
      what = "no datagram key \(keyIndex) for device \(device)"
    case .epochUnknown(let device):
      what = "datagram implies a journal epoch, but none is known for device \(device)"
    case .authenticationFailed:
      what = "datagram tag does not verify (forged, corrupted, or sealed with another key)"
    case .replayed(let counter): what = "frame counter \(counter) was already accepted (replay)"
    case .tooOld(let counter, let lowest):
      what = "frame counter \(counter) is below the replay window (lowest accepted \(lowest))"
    case .farFuture(let counter, let highest):
      what = "frame counter \(counter) is too far ahead of the highest accepted (\(highest))"
    case .invalidCounter(let counter): what = "frame counter \(counter) is not valid"
    }
    return "\(what) at byte \(offset)"
  }
}

private func hex(_ byte: UInt8) -> String {
  let digits = String(byte, radix: 16, uppercase: true)
  return "0x" + (digits.count < 2 ? "0" + digits : digits)
}
