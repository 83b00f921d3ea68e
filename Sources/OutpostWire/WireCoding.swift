import NIOCore

/// The primitive writes of the protocol: little-endian integers, minimal LEB128 varints, zigzag,
/// length-prefixed UTF-8. Writers never fail; limits are the caller's contract and are checked by
/// the message encoders before they write.
extension ByteBuffer {
  /// Unsigned LEB128, seven bits a byte, low group first; always minimal.
  @inlinable
  public mutating func writeWireVarint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
    }
    writeInteger(UInt8(v))
  }

  /// Zigzag (`(n << 1) ^ (n >> 63)`), then LEB128, so small negative numbers stay short.
  @inlinable
  public mutating func writeWireSigned(_ value: Int64) {
    writeWireVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
  }

  /// A varint byte length, then the UTF-8 bytes.
  @inlinable
  public mutating func writeWireString(_ value: String) {
    writeWireVarint(UInt64(value.utf8.count))
    writeString(value)
  }
}

/// The number of bytes ``ByteBuffer/writeWireVarint(_:)`` writes for `value`.
@inlinable
public func wireVarintLength(_ value: UInt64) -> Int {
  value == 0 ? 1 : (70 - value.leadingZeroBitCount) / 7
}

/// Reads the primitives of the protocol from one frame, checking every length against what is
/// left and against its limit before anything is allocated, and reporting failures with the
/// offset from the start of the frame.
struct WireReader {
  var buffer: ByteBuffer
  /// The frame offset of `buffer`'s reader index when the reader was made.
  private let base: Int
  private let start: Int

  /// - Parameters:
  ///   - buffer: exactly the bytes of the message (nothing of the next frame).
  ///   - base: the offset in the frame of the buffer's first readable byte.
  init(_ buffer: ByteBuffer, base: Int) {
    self.buffer = buffer
    self.base = base
    self.start = buffer.readerIndex
  }

  /// The current offset from the start of the frame.
  var offset: Int { base + (buffer.readerIndex - start) }
  var remaining: Int { buffer.readableBytes }

  func error(_ reason: WireError.Reason) -> WireError { WireError(reason, at: offset) }

  mutating func readByte(_ field: String) throws(WireError) -> UInt8 {
    guard let byte = buffer.readInteger(as: UInt8.self) else {
      throw error(.truncated(field: field))
    }
    return byte
  }

  mutating func readLittleEndian<T: FixedWidthInteger>(
    _: T.Type, _ field: String
  ) throws(WireError) -> T {
    guard let value = buffer.readInteger(endianness: .little, as: T.self) else {
      throw error(.truncated(field: field))
    }
    return value
  }

  /// Reads a minimal LEB128 varint of at most 10 bytes.
  mutating func readVarint(_ field: String) throws(WireError) -> UInt64 {
    let at = offset
    var result: UInt64 = 0
    var shift: UInt64 = 0
    var count = 0
    while true {
      guard let byte = buffer.readInteger(as: UInt8.self) else {
        throw error(.truncated(field: field))
      }
      count += 1
      if count == 10 && byte > 1 { throw WireError(.varintOverflow(field: field), at: at) }
      result |= UInt64(byte & 0x7F) << shift
      if byte & 0x80 == 0 {
        if byte == 0 && count > 1 { throw WireError(.varintNotMinimal(field: field), at: at) }
        return result
      }
      shift += 7
    }
  }

  /// Reads a varint and checks it against `limit` (inclusive).
  mutating func readVarint(_ field: String, max limit: UInt64) throws(WireError) -> UInt64 {
    let at = offset
    let value = try readVarint(field)
    guard value <= limit else { throw WireError(.invalidValue(field: field), at: at) }
    return value
  }

  mutating func readSigned(_ field: String) throws(WireError) -> Int64 {
    let raw = try readVarint(field)
    return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
  }

  /// Reads a length-prefixed UTF-8 string of at most `limit` bytes.
  mutating func readString(_ field: String, limit: Int) throws(WireError) -> String {
    let at = offset
    let length = try readVarint("\(field) length")
    guard length <= UInt64(limit) else {
      throw WireError(.fieldTooLong(field: field, length: length, limit: limit), at: at)
    }
    let bodyAt = offset
    guard let slice = buffer.readSlice(length: Int(length)) else {
      throw error(.truncated(field: field))
    }
    let text = slice.withUnsafeReadableBytes { String(validating: $0, as: UTF8.self) }
    guard let text else { throw WireError(.invalidUTF8(field: field), at: bodyAt) }
    return text
  }

  /// Reads `count` raw bytes; `count` must already have been checked against its limit.
  mutating func readBytes(_ count: Int, _ field: String) throws(WireError) -> [UInt8] {
    guard let bytes = buffer.readBytes(length: count) else { throw error(.truncated(field: field)) }
    return bytes
  }

  /// Reads a boolean byte (0 or 1).
  mutating func readFlag(_ field: String) throws(WireError) -> Bool {
    let at = offset
    switch try readByte(field) {
    case 0: return false
    case 1: return true
    default: throw WireError(.invalidValue(field: field), at: at)
    }
  }

  /// Reads the extensions that may end any message: (varint tag, varint length, bytes) until
  /// the frame ends. No extension is defined in version 1, so all are skipped; their lengths are
  /// still checked so that a malformed list is an error, not a silent misparse.
  mutating func skipExtensions() throws(WireError) {
    while buffer.readableBytes > 0 {
      _ = try readVarint("extension tag")
      let at = offset
      let length = try readVarint("extension length")
      guard length <= UInt64(buffer.readableBytes) else {
        throw WireError(
          .fieldTooLong(field: "extension", length: length, limit: buffer.readableBytes), at: at)
      }
      buffer.moveReaderIndex(forwardBy: Int(length))
    }
  }
}
