/// Appends little-endian integers and LEB128 varints to a byte array. Pure; no I/O.
public struct ByteWriter: Sendable {
  public private(set) var bytes: [UInt8]

  public init(capacity: Int = 0) {
    bytes = []
    bytes.reserveCapacity(capacity)
  }

  public mutating func write(_ value: UInt8) { bytes.append(value) }

  public mutating func write<T: FixedWidthInteger>(littleEndian value: T) {
    var v = value.littleEndian
    withUnsafeBytes(of: &v) { bytes.append(contentsOf: $0) }
  }

  /// Unsigned LEB128: seven bits a byte, low bits first.
  public mutating func writeVarint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  /// Zigzag then LEB128, so small negative numbers stay short.
  public mutating func writeSignedVarint(_ value: Int64) {
    writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
  }

  /// A varint length followed by the UTF-8 bytes.
  public mutating func writeString(_ value: String) {
    let utf8 = Array(value.utf8)
    writeVarint(UInt64(utf8.count))
    bytes.append(contentsOf: utf8)
  }

  public mutating func write(contentsOf other: some Sequence<UInt8>) {
    bytes.append(contentsOf: other)
  }
}

/// Reads what ``ByteWriter`` wrote, checking every length against what is left before using it.
public struct ByteReader: Sendable {
  public let bytes: [UInt8]
  public private(set) var offset: Int

  public init(_ bytes: [UInt8]) {
    self.bytes = bytes
    offset = 0
  }

  public var remaining: Int { bytes.count - offset }

  public mutating func readByte() throws(RecordBodyError) -> UInt8 {
    guard offset < bytes.count else { throw .truncated(at: offset) }
    defer { offset += 1 }
    return bytes[offset]
  }

  public mutating func read<T: FixedWidthInteger>(
    littleEndian: T.Type
  ) throws(RecordBodyError) -> T {
    let size = MemoryLayout<T>.size
    guard remaining >= size else { throw .truncated(at: offset) }
    var value: T = 0
    for i in 0..<size {
      value |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i)
    }
    offset += size
    return value
  }

  public mutating func readVarint() throws(RecordBodyError) -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    let start = offset
    while true {
      let byte = try readByte()
      if shift == 63 && byte > 1 { throw .varintOverflow(at: start) }
      result |= UInt64(byte & 0x7F) << shift
      if byte & 0x80 == 0 { return result }
      shift += 7
      if shift > 63 { throw .varintOverflow(at: start) }
    }
  }

  public mutating func readSignedVarint() throws(RecordBodyError) -> Int64 {
    let raw = try readVarint()
    return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
  }

  /// Reads a length-prefixed UTF-8 string of at most `maxLength` bytes.
  public mutating func readString(maxLength: Int = 255) throws(RecordBodyError) -> String {
    let start = offset
    let length = try readVarint()
    guard length <= UInt64(maxLength) else {
      throw .fieldTooLong(at: start, length: length, limit: maxLength)
    }
    guard UInt64(remaining) >= length else { throw .truncated(at: offset) }
    let slice = bytes[offset..<(offset + Int(length))]
    offset += Int(length)
    return String(decoding: slice, as: UTF8.self)
  }

  public mutating func readBytes(_ count: Int) throws(RecordBodyError) -> [UInt8] {
    guard count >= 0, remaining >= count else { throw .truncated(at: offset) }
    defer { offset += count }
    return Array(bytes[offset..<(offset + count)])
  }
}

extension String {
  /// The string cut to at most `limit` UTF-8 bytes without splitting a character: what fits a
  /// length-limited string field of the journal or the wire, whose limits count bytes.
  public func clipped(toUTF8Bytes limit: Int) -> String {
    guard utf8.count > limit else { return self }
    var result = ""
    var bytes = 0
    for character in self {
      let size = character.utf8.count
      if bytes + size > limit { break }
      bytes += size
      result.append(character)
    }
    return result
  }
}
