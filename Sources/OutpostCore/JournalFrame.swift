/// The on-disk framing of one journal record. Pure: encodes into and checks bytes in memory.
///
/// ```
/// offset size field
///      0    2 magic "OJ"
///      2    2 frame length in bytes (multiple of 8: header + body + padding + trailer)
///      4    2 body length
///      6    1 kind
///      7    1 bits 0-1 priority (0 alarm, 1 normal, 2 bulk); bit 2 clock trusted;
///             bit 3 moved by the cleaner; bit 4 padding frame; bits 5-7 zero
///      8    8 logical offset of this frame in the ring (position + laps × ring size)
///     16    8 sequence number
///     24    4 boot counter
///     28    6 monotonic ms since boot (unsigned 48-bit)
///     34    6 wall-clock ms since the Unix epoch (signed 48-bit)
///     40    n body, then zero padding up to length - 8
/// len - 8   4 CRC-32C of bytes 0 ..< len - 8
/// len - 4   4 commit marker "OPJC"
/// ```
/// All integers are little-endian. The commit marker and checksum are the last bytes of the
/// frame, so a write torn anywhere leaves a frame that fails the check. The logical offset makes
/// a frame valid at one place in one lap only: a stale frame from an earlier lap, or bytes that
/// slid, never pass for a live record. 48-bit times reach ±4,459 years (wall clock) and 8,900
/// years (since boot); values beyond are stored saturated.
public enum JournalFrame {
  public static let magic: UInt16 = 0x4A4F  // "OJ"
  public static let commitMarker: UInt32 = 0x434A_504F  // "OPJC"
  public static let headerLength = 40
  public static let trailerLength = 8
  public static let alignment = 8
  /// The largest body a record may carry. Records are small by design; the limit keeps a
  /// damaged length field from sending a reader far away.
  public static let maxBodyLength = 4096
  /// The smallest frame (an empty body): 48 bytes.
  public static let minFrameLength = frameLength(bodyLength: 0)
  public static let maxFrameLength = frameLength(bodyLength: maxBodyLength)

  /// Bits of byte 7 beside the priority.
  public static let flagClockTrusted: UInt8 = 0x04
  public static let flagRelocated: UInt8 = 0x08
  /// A padding frame fills the end of the ring when the next frame does not fit there; it
  /// carries no record and readers continue at the start of the next lap.
  public static let flagPadding: UInt8 = 0x10
  static let priorityMask: UInt8 = 0x03
  static let unusedBits: UInt8 = 0xE0

  static let maxWallMs: Int64 = (1 << 47) - 1
  static let maxSinceBootMs: UInt64 = (1 << 48) - 1

  /// The frame length for a body of `bodyLength` bytes.
  public static func frameLength(bodyLength: Int) -> Int {
    let raw = headerLength + bodyLength + trailerLength
    return (raw + alignment - 1) / alignment * alignment
  }

  /// Writes the frame for `record` at `logicalOffset` into `buffer`, which must hold at least
  /// ``frameLength(bodyLength:)`` bytes.
  ///
  /// - Precondition: `record.body.count <= maxBodyLength`.
  /// - Returns: the frame length.
  @discardableResult
  public static func encode(
    _ record: Record, logicalOffset: UInt64, relocated: Bool = false,
    into buffer: UnsafeMutableRawBufferPointer
  ) -> Int {
    encode(
      seq: record.seq, kind: record.kind, priority: record.priority, time: record.time,
      body: record.body, logicalOffset: logicalOffset, relocated: relocated, into: buffer)
  }

  /// Writes the frame of a record given by its parts; see ``encode(_:logicalOffset:relocated:into:)``.
  @discardableResult
  public static func encode(
    seq: UInt64, kind: RecordKind, priority: Priority, time: RecordTime, body: [UInt8],
    logicalOffset: UInt64, relocated: Bool, into buffer: UnsafeMutableRawBufferPointer
  ) -> Int {
    precondition(body.count <= maxBodyLength, "record body exceeds the frame limit")
    let length = frameLength(bodyLength: body.count)
    precondition(buffer.count >= length)
    let frame = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
    frame.storeLE(magic, at: 0)
    frame.storeLE(UInt16(length), at: 2)
    frame.storeLE(UInt16(body.count), at: 4)
    frame[6] = kind.rawValue
    var bits = priority.rawValue
    if time.clockTrusted { bits |= flagClockTrusted }
    if relocated { bits |= flagRelocated }
    frame[7] = bits
    frame.storeLE(logicalOffset, at: 8)
    frame.storeLE(seq, at: 16)
    frame.storeLE(time.boot, at: 24)
    frame.store48(min(time.sinceBootMs, maxSinceBootMs), at: 28)
    let wall = max(-maxWallMs - 1, min(maxWallMs, time.wallMs))
    frame.store48(UInt64(bitPattern: wall), at: 34)
    body.withUnsafeBytes { body in
      UnsafeMutableRawBufferPointer(rebasing: frame[headerLength..<(headerLength + body.count)])
        .copyMemory(from: body)
    }
    // Zero the padding between body and trailer.
    let bodyEnd = headerLength + body.count
    if bodyEnd < length - trailerLength {
      UnsafeMutableRawBufferPointer(rebasing: frame[bodyEnd..<(length - trailerLength)])
        .initializeMemory(as: UInt8.self, repeating: 0)
    }
    let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[0..<(length - 8)]))
    frame.storeLE(crc, at: length - 8)
    frame.storeLE(commitMarker, at: length - 4)
    return length
  }

  /// Writes a padding frame of exactly `length` bytes (a multiple of 8, at least
  /// ``minFrameLength``, at most ``maxFrameLength``) at `logicalOffset` into `buffer`.
  public static func encodePadding(
    length: Int, logicalOffset: UInt64, into buffer: UnsafeMutableRawBufferPointer
  ) {
    precondition(
      length % alignment == 0 && length >= minFrameLength && length <= maxFrameLength)
    let frame = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
    frame.initializeMemory(as: UInt8.self, repeating: 0)
    frame.storeLE(magic, at: 0)
    frame.storeLE(UInt16(length), at: 2)
    frame[7] = flagPadding
    frame.storeLE(logicalOffset, at: 8)
    let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[0..<(length - 8)]))
    frame.storeLE(crc, at: length - 8)
    frame.storeLE(commitMarker, at: length - 4)
  }

  /// Encodes into a new array.
  public static func encode(_ record: Record, logicalOffset: UInt64, relocated: Bool = false)
    -> [UInt8]
  {
    var bytes = [UInt8](repeating: 0, count: frameLength(bodyLength: record.body.count))
    bytes.withUnsafeMutableBytes {
      _ = encode(record, logicalOffset: logicalOffset, relocated: relocated, into: $0)
    }
    return bytes
  }

  /// The frame length announced by the bytes at the start of `bytes`, if they begin like a frame
  /// of ours (magic, a sane aligned length, the expected logical offset). Nothing is trusted until
  /// ``decode(_:expectedLogicalOffset:)`` has checked the CRC and commit marker.
  public static func announcedLength(_ bytes: UnsafeRawBufferPointer, expectedLogicalOffset: UInt64)
    -> Int?
  {
    guard bytes.count >= 16, bytes.loadLE(UInt16.self, at: 0) == magic else { return nil }
    let length = Int(bytes.loadLE(UInt16.self, at: 2))
    guard length >= minFrameLength, length <= maxFrameLength, length % alignment == 0,
      bytes[7] & unusedBits == 0,
      bytes.loadLE(UInt64.self, at: 8) == expectedLogicalOffset
    else { return nil }
    return length
  }

  /// What a frame's header says, before the checksum is checked.
  public struct Header: Sendable, Hashable {
    public var length: Int
    public var seq: UInt64
    public var priority: Priority
    public var isPadding: Bool
  }

  /// Checks the frame at the start of `bytes` (checksum and commit marker included) and returns
  /// its header without decoding the record: for the cleaner, which reclaims acknowledged
  /// records and needs no more than their number, priority and length.
  public static func checkedHeader(_ bytes: UnsafeRawBufferPointer, expectedLogicalOffset: UInt64)
    -> Header?
  {
    guard let length = announcedLength(bytes, expectedLogicalOffset: expectedLogicalOffset),
      bytes.count >= length,
      bytes.loadLE(UInt32.self, at: length - 4) == commitMarker,
      bytes.loadLE(UInt32.self, at: length - 8)
        == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(length - 8)])),
      let priority = Priority(rawValue: bytes[7] & priorityMask)
    else { return nil }
    return Header(
      length: length, seq: bytes.loadLE(UInt64.self, at: 16), priority: priority,
      isPadding: bytes[7] & flagPadding != 0)
  }

  /// The header of the frame at the start of `bytes` after the cheap checks only (magic,
  /// length, logical offset, unused bits, priority, commit marker), without the checksum: for
  /// the cleaner reclaiming acknowledged records in stretches known to be free of torn writes.
  public static func uncheckedHeader(
    _ bytes: UnsafeRawBufferPointer, expectedLogicalOffset: UInt64
  ) -> Header? {
    guard let length = announcedLength(bytes, expectedLogicalOffset: expectedLogicalOffset),
      bytes.count >= length,
      bytes.loadLE(UInt32.self, at: length - 4) == commitMarker,
      let priority = Priority(rawValue: bytes[7] & priorityMask)
    else { return nil }
    return Header(
      length: length, seq: bytes.loadLE(UInt64.self, at: 16), priority: priority,
      isPadding: bytes[7] & flagPadding != 0)
  }

  /// A frame that passed every check.
  public struct Decoded: Sendable, Hashable {
    public var record: Record
    public var length: Int
    public var relocated: Bool
    /// A padding frame: no record; `record` is empty and must be ignored.
    public var isPadding: Bool
  }

  /// Why bytes at a position are not a valid frame.
  public enum Failure: Error, Sendable, Hashable {
    /// Not enough bytes to hold the frame the header announces.
    case short(needed: Int)
    /// No frame starts here (wrong magic, length or logical offset).
    case notAFrame
    /// A frame header, but the checksum or commit marker does not match: torn or corrupt.
    case damaged(length: Int)
  }

  /// Checks and decodes the frame at the start of `bytes`.
  ///
  /// - Returns: the record, or why there is none. Never returns a record whose checksum, commit
  ///   marker, logical offset or field values do not check.
  public static func decode(_ bytes: UnsafeRawBufferPointer, expectedLogicalOffset: UInt64)
    -> Result<Decoded, Failure>
  {
    guard bytes.count >= 16 else { return .failure(.short(needed: 16)) }
    guard let length = announcedLength(bytes, expectedLogicalOffset: expectedLogicalOffset) else {
      return .failure(.notAFrame)
    }
    guard bytes.count >= length else { return .failure(.short(needed: length)) }
    let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(length - 8)]))
    guard bytes.loadLE(UInt32.self, at: length - 8) == crc,
      bytes.loadLE(UInt32.self, at: length - 4) == commitMarker
    else { return .failure(.damaged(length: length)) }
    let bits = bytes[7]
    let bodyLength = Int(bytes.loadLE(UInt16.self, at: 4))
    if bits & flagPadding != 0 {
      guard bodyLength == 0 else { return .failure(.damaged(length: length)) }
      let empty = Record(
        seq: 0, kind: .unknown(0), priority: .bulk,
        time: RecordTime(wallMs: 0, clockTrusted: false, boot: 0, sinceBootMs: 0), body: [])
      return .success(Decoded(record: empty, length: length, relocated: false, isPadding: true))
    }
    guard frameLength(bodyLength: bodyLength) == length,
      let priority = Priority(rawValue: bits & priorityMask)
    else { return .failure(.damaged(length: length)) }
    let wall = Int64(bitPattern: bytes.load48(at: 34) << 16) >> 16
    let time = RecordTime(
      wallMs: wall, clockTrusted: bits & flagClockTrusted != 0,
      boot: bytes.loadLE(UInt32.self, at: 24), sinceBootMs: bytes.load48(at: 28))
    let record = Record(
      seq: bytes.loadLE(UInt64.self, at: 16),
      kind: RecordKind(rawValue: bytes[6]),
      priority: priority,
      time: time,
      body: Array(bytes[headerLength..<(headerLength + bodyLength)]))
    return .success(
      Decoded(
        record: record, length: length, relocated: bits & flagRelocated != 0, isPadding: false))
  }
}

extension UnsafeMutableRawBufferPointer {
  /// Stores `value` little-endian at `offset`; unaligned stores are fine.
  @inlinable
  public func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
    storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
  }
}

extension UnsafeMutableRawBufferPointer {
  /// Stores the low 48 bits of `value` little-endian at `offset`.
  @inlinable
  public func store48(_ value: UInt64, at offset: Int) {
    for i in 0..<6 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
  }
}

extension UnsafeRawBufferPointer {
  /// Loads 48 bits little-endian at `offset`, zero-extended.
  @inlinable
  public func load48(at offset: Int) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<6 { value |= UInt64(self[offset + i]) << (8 * UInt64(i)) }
    return value
  }

  /// Loads a little-endian `T` at `offset`; unaligned loads are fine.
  @inlinable
  public func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
    T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
  }
}
