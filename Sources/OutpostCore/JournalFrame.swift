/// The on-disk framing of one journal record. Pure: encodes into and checks bytes in memory.
///
/// ```
/// offset size field
///      0    4 magic "OPJF"
///      4    4 frame length in bytes (multiple of 8, header + body + padding + trailer)
///      8    8 logical offset of this frame in the ring (position + laps × ring size)
///     16    8 sequence number
///     24    8 wall-clock time, ms since the Unix epoch (signed)
///     32    8 monotonic ms since boot
///     40    4 boot counter
///     44    1 priority (0 alarm, 1 normal, 2 bulk)
///     45    1 kind
///     46    1 flags: bit 0 clock trusted, bit 1 relocated by the cleaner, bit 2 padding
///     47    1 reserved, 0
///     48    2 body length
///     50    2 reserved, 0
///     52    n body, then zero padding up to length - 8
/// len - 8   4 CRC-32C of bytes 0 ..< len - 8
/// len - 4   4 commit marker "OPJC"
/// ```
/// All integers are little-endian. The commit marker and checksum are the last bytes of the
/// frame, so a write torn anywhere leaves a frame that fails the check. The logical offset makes
/// a frame valid at one place in one lap only: a stale frame from an earlier lap, or bytes that
/// slid, never pass for a live record.
public enum JournalFrame {
  public static let magic: UInt32 = 0x464A_504F  // "OPJF"
  public static let commitMarker: UInt32 = 0x434A_504F  // "OPJC"
  public static let headerLength = 52
  public static let trailerLength = 8
  public static let alignment = 8
  /// The largest body a record may carry. Records are small by design; the limit keeps a
  /// damaged length field from sending a reader far away.
  public static let maxBodyLength = 4096
  /// The smallest frame (an empty body): 64 bytes.
  public static let minFrameLength = frameLength(bodyLength: 0)
  public static let maxFrameLength = frameLength(bodyLength: maxBodyLength)

  /// Flag bits in byte 46.
  public static let flagClockTrusted: UInt8 = 1
  public static let flagRelocated: UInt8 = 2
  /// A padding frame fills the end of the ring when the next frame does not fit there; it
  /// carries no record and readers continue at the start of the next lap.
  public static let flagPadding: UInt8 = 4

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
    precondition(record.body.count <= maxBodyLength, "record body exceeds the frame limit")
    let length = frameLength(bodyLength: record.body.count)
    precondition(buffer.count >= length)
    let frame = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
    frame.initializeMemory(as: UInt8.self, repeating: 0)
    frame.storeLE(magic, at: 0)
    frame.storeLE(UInt32(length), at: 4)
    frame.storeLE(logicalOffset, at: 8)
    frame.storeLE(record.seq, at: 16)
    frame.storeLE(record.time.wallMs, at: 24)
    frame.storeLE(record.time.sinceBootMs, at: 32)
    frame.storeLE(record.time.boot, at: 40)
    frame[44] = record.priority.rawValue
    frame[45] = record.kind.rawValue
    var flags: UInt8 = 0
    if record.time.clockTrusted { flags |= flagClockTrusted }
    if relocated { flags |= flagRelocated }
    frame[46] = flags
    frame.storeLE(UInt16(record.body.count), at: 48)
    record.body.withUnsafeBytes { body in
      UnsafeMutableRawBufferPointer(rebasing: frame[headerLength..<(headerLength + body.count)])
        .copyMemory(from: body)
    }
    let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[0..<(length - 8)]))
    frame.storeLE(crc, at: length - 8)
    frame.storeLE(commitMarker, at: length - 4)
    return length
  }

  /// Writes a padding frame of exactly `length` bytes (a multiple of 8, at least
  /// `frameLength(bodyLength: 0)`) at `logicalOffset` into `buffer`.
  public static func encodePadding(
    length: Int, logicalOffset: UInt64, into buffer: UnsafeMutableRawBufferPointer
  ) {
    precondition(length % alignment == 0 && length >= frameLength(bodyLength: 0))
    let frame = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
    frame.initializeMemory(as: UInt8.self, repeating: 0)
    frame.storeLE(magic, at: 0)
    frame.storeLE(UInt32(length), at: 4)
    frame.storeLE(logicalOffset, at: 8)
    frame[46] = flagPadding
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
    guard bytes.count >= 16, bytes.loadLE(UInt32.self, at: 0) == magic else { return nil }
    let length = Int(bytes.loadLE(UInt32.self, at: 4))
    guard length >= frameLength(bodyLength: 0), length <= maxFrameLength,
      length % alignment == 0,
      bytes.loadLE(UInt64.self, at: 8) == expectedLogicalOffset
    else { return nil }
    return length
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
    let flags = bytes[46]
    let bodyLength = Int(bytes.loadLE(UInt16.self, at: 48))
    if flags & flagPadding != 0 {
      guard bodyLength == 0 else { return .failure(.damaged(length: length)) }
      let empty = Record(
        seq: 0, kind: .unknown(0), priority: .bulk,
        time: RecordTime(wallMs: 0, clockTrusted: false, boot: 0, sinceBootMs: 0), body: [])
      return .success(Decoded(record: empty, length: length, relocated: false, isPadding: true))
    }
    guard frameLength(bodyLength: bodyLength) == length,
      let priority = Priority(rawValue: bytes[44])
    else { return .failure(.damaged(length: length)) }
    let time = RecordTime(
      wallMs: bytes.loadLE(Int64.self, at: 24),
      clockTrusted: flags & flagClockTrusted != 0,
      boot: bytes.loadLE(UInt32.self, at: 40),
      sinceBootMs: bytes.loadLE(UInt64.self, at: 32))
    let record = Record(
      seq: bytes.loadLE(UInt64.self, at: 16),
      kind: RecordKind(rawValue: bytes[45]),
      priority: priority,
      time: time,
      body: Array(bytes[headerLength..<(headerLength + bodyLength)]))
    return .success(
      Decoded(
        record: record, length: length, relocated: flags & flagRelocated != 0, isPadding: false))
  }
}

extension UnsafeMutableRawBufferPointer {
  /// Stores `value` little-endian at `offset`; unaligned stores are fine.
  @inlinable
  public func storeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
    storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
  }
}

extension UnsafeRawBufferPointer {
  /// Loads a little-endian `T` at `offset`; unaligned loads are fine.
  @inlinable
  public func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
    T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
  }
}
