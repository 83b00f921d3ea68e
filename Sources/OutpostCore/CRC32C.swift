/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every journal frame
/// and header slot. Check value: `CRC32C.checksum("123456789") == 0xE3069283`.
///
/// Software slicing-by-8; at the sizes the journal checksums (a frame is about a hundred bytes)
/// it costs far less than the `fdatasync` it protects.
public enum CRC32C {
  private static let tables: [[UInt32]] = {
    var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
    for i in 0..<256 {
      var crc = UInt32(i)
      for _ in 0..<8 {
        crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
      }
      tables[0][i] = crc
    }
    for i in 0..<256 {
      for t in 1..<8 {
        let previous = tables[t - 1][i]
        tables[t][i] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
      }
    }
    return tables
  }()

  /// The CRC of `bytes`, continuing from `crc` (the value returned for the bytes before them).
  public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0)
    -> UInt32
  {
    var c = ~crc
    var index = 0
    let count = bytes.count
    tables.withUnsafeBufferPointer { t in
      let t0 = t[0]
      let t1 = t[1]
      let t2 = t[2]
      let t3 = t[3]
      let t4 = t[4]
      let t5 = t[5]
      let t6 = t[6]
      let t7 = t[7]
      while count - index >= 8 {
        let lo =
          c
          ^ (UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
            | UInt32(bytes[index + 3]) << 24)
        let hi =
          UInt32(bytes[index + 4]) | UInt32(bytes[index + 5]) << 8
          | UInt32(bytes[index + 6]) << 16 | UInt32(bytes[index + 7]) << 24
        c =
          t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)]
          ^ t4[Int(lo >> 24)] ^ t3[Int(hi & 0xFF)] ^ t2[Int((hi >> 8) & 0xFF)]
          ^ t1[Int((hi >> 16) & 0xFF)] ^ t0[Int(hi >> 24)]
        index += 8
      }
      while index < count {
        c = t0[Int((c ^ UInt32(bytes[index])) & 0xFF)] ^ (c >> 8)
        index += 1
      }
    }
    return ~c
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
