import CCRC32C

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every journal frame
/// and header slot. Check value: `CRC32C.checksum("123456789") == 0xE3069283`.
///
/// Computed by the CPU's CRC32C instruction where there is one (SSE 4.2, ARMv8 CRC), else by
/// slicing-by-8 tables; both give the same values (`CCRC32C`).
public enum CRC32C {
  /// Whether the hardware instruction is in use on this machine.
  public static var usesHardware: Bool { outpost_crc32c_hardware() != 0 }

  /// The CRC of `bytes`, continuing from `crc` (the value returned for the bytes before them).
  public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0)
    -> UInt32
  {
    guard let base = bytes.baseAddress else { return crc }
    return outpost_crc32c(crc, base, bytes.count)
  }

  /// The CRC by the portable tables, whatever the CPU offers; tests compare it with
  /// ``checksum(_:continuing:)-(UnsafeRawBufferPointer,_)``.
  public static func portableChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0)
    -> UInt32
  {
    guard let base = bytes.baseAddress else { return crc }
    return outpost_crc32c_portable(crc, base, bytes.count)
  }

  /// The CRC of a byte sequence.
  public static func checksum(_ bytes: some Collection<UInt8>, continuing crc: UInt32 = 0) -> UInt32
  {
    if let result = bytes.withContiguousStorageIfAvailable({
      checksum(UnsafeRawBufferPointer($0), continuing: crc)
    }) {
      return result
    }
    return Array(bytes).withUnsafeBytes { checksum($0, continuing: crc) }
  }

  /// The CRC of a string's UTF-8 bytes.
  public static func checksum(_ string: String) -> UInt32 {
    checksum(Array(string.utf8))
  }
}
