/// Lower-case hexadecimal, as record bodies, frames and epochs are shown to people and scripts.
public enum Hex {
  private static let digits = Array("0123456789abcdef".utf8)

  /// Two hex digits per byte, in order.
  public static func encode(_ bytes: some Sequence<UInt8>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The bytes of `text`: pairs of hex digits in either case. Spaces, tabs and colons between
  /// bytes are ignored, so pasted dumps read back.
  ///
  /// - Returns: nil when `text` holds anything else or an odd number of digits.
  public static func decode(_ text: some StringProtocol) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(text.utf8.count / 2)
    var high: UInt8?
    for char in text.utf8 {
      let nibble: UInt8
      switch char {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = char - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = char - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = char - UInt8(ascii: "A") + 10
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: ":"):
        guard high == nil else { return nil }
        continue
      default: return nil
      }
      if let h = high {
        out.append(h << 4 | nibble)
        high = nil
      } else {
        high = nibble
      }
    }
    return high == nil ? out : nil
  }
}
