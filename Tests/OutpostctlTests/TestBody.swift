/// The body `outpostctl journal append` documents for a test record, written out again here
/// from the help text rather than shared with the tool, so a change to either shows.
///
/// Byte i of the body for `seq` is
/// `UInt8(truncatingIfNeeded: (seq &* 0x9E3779B97F4A7C15) >> ((i % 8) * 8)) ^ UInt8(truncatingIfNeeded: i)`.
func documentedBody(seq: UInt64, count: Int) -> [UInt8] {
  var body = [UInt8](repeating: 0, count: count)
  for i in 0..<count {
    body[i] =
      UInt8(truncatingIfNeeded: (seq &* 0x9E37_79B9_7F4A_7C15) >> UInt64((i % 8) * 8))
      ^ UInt8(truncatingIfNeeded: i)
  }
  return body
}

/// `bytes` as lower-case hex, as `journal dump --json` prints bodies.
func hex(_ bytes: [UInt8]) -> String {
  let digits = Array("0123456789abcdef".utf8)
  var text: [UInt8] = []
  text.reserveCapacity(bytes.count * 2)
  for byte in bytes {
    text.append(digits[Int(byte >> 4)])
    text.append(digits[Int(byte & 0x0F)])
  }
  return String(decoding: text, as: UTF8.self)
}
