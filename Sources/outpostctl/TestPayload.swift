/// The body of a record written by `outpostctl journal append`: a documented, deterministic
/// function of the record's sequence number, so anyone holding the journal (or a copy that went
/// through the station) can check every byte without knowing what was appended.
///
/// For sequence number `seq` and body length `B`, byte `i` (0 ≤ i < B) is
///
///     UInt8(truncatingIfNeeded: (seq &* 0x9E3779B97F4A7C15) >> ((i % 8) * 8))
///       ^ UInt8(truncatingIfNeeded: i)
///
/// that is, the 8 little-endian bytes of `seq` times the 64-bit golden-ratio constant (wrapping),
/// repeated, each XORed with the low byte of its index. Neighbouring sequence numbers give
/// entirely different bodies, so a body that slid to another record is caught, and the index
/// term makes a body that repeats itself after 8 bytes stand out too.
enum TestPayload {
  /// Fibonacci hashing's multiplier: 2⁶⁴ divided by the golden ratio.
  static let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15

  /// The first `count` bytes of the body for `seq`.
  static func body(seq: UInt64, count: Int) -> [UInt8] {
    let mixed = seq &* multiplier
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
      bytes[i] =
        UInt8(truncatingIfNeeded: mixed >> UInt64((i % 8) * 8)) ^ UInt8(truncatingIfNeeded: i)
    }
    return bytes
  }
}
