/// Reading and writing the little-endian integers of kernel records (the byte order of every
/// board we target), shared by the input and GPIO record types.
enum LittleEndian {
  /// The integer at `offset` from the collection's start.
  ///
  /// - Precondition: the collection holds `offset + MemoryLayout<T>.size` bytes.
  static func read<T: FixedWidthInteger, Bytes: RandomAccessCollection>(
    _: T.Type, from bytes: Bytes, at offset: Int
  ) -> T where Bytes.Element == UInt8, Bytes.Index == Int {
    var value: T = 0
    for i in 0..<MemoryLayout<T>.size {
      value |= T(truncatingIfNeeded: bytes[bytes.startIndex + offset + i]) << (8 * i)
    }
    return value
  }

  /// Appends `value`'s bytes, low byte first.
  static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    for i in 0..<MemoryLayout<T>.size { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
  }
}
