/// One NMEA 0183 sentence, checked: `$` or `!`, an address (talker and type, or a proprietary
/// `P…` address), comma-separated fields, `*` and two hex digits of checksum.
///
/// Receivers use any talker: `GP` (GPS), `GL` (GLONASS), `GA` (Galileo), `BD` or `GB` (BeiDou),
/// `GN` (combined). The type is what the sources care about; the talker is kept for the log.
public struct NMEASentence: Sendable, Hashable {
  /// The talker: two letters, or `P` for a proprietary sentence.
  public var talker: String
  /// The sentence type (`GGA`, `RMC`, …) or, for a proprietary sentence, the rest of the
  /// address (`SRFEPE`).
  public var type: String
  /// The fields after the address, empty strings for empty fields.
  public var fields: [String]

  /// The longest line accepted, characters between `$` and the end of the checksum. The
  /// standard says 82 with the line ending; receivers exceed it with extra fields, so a little
  /// room is left.
  public static let maxLength = 120

  /// Parses and checks one line (without its line ending; spaces around it are ignored).
  ///
  /// - Throws: ``NMEAError`` saying why the line is not a good sentence.
  public init(line: some StringProtocol) throws(NMEAError) {
    var bytes = Array(line.utf8)[...]
    while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
    while let last = bytes.last, last == 0x20 || last == 0x09 || last == 0x0D {
      bytes = bytes.dropLast()
    }
    guard let start = bytes.first, start == UInt8(ascii: "$") || start == UInt8(ascii: "!") else {
      throw .notASentence
    }
    guard bytes.count <= Self.maxLength else { throw .tooLong(bytes.count) }
    guard let star = bytes.lastIndex(of: UInt8(ascii: "*")) else { throw .missingChecksum }
    guard bytes.endIndex - star == 3,
      let high = hexValue(bytes[star + 1]), let low = hexValue(bytes[star + 2])
    else { throw .malformedChecksum }
    var sum: UInt8 = 0
    for (offset, byte) in bytes[(bytes.startIndex + 1)..<star].enumerated() {
      guard byte >= 0x20, byte < 0x7F else { throw .nonPrintable(at: offset + 1) }
      sum ^= byte
    }
    let expected = high << 4 | low
    guard sum == expected else { throw .badChecksum(expected: expected, computed: sum) }
    let body = String(decoding: bytes[(bytes.startIndex + 1)..<star], as: UTF8.self)
    var parts = body.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    let address = parts.removeFirst()
    if address.first == "P" {
      guard address.count >= 2 else { throw .malformedAddress(address) }
      talker = "P"
      type = String(address.dropFirst())
    } else {
      guard address.count == 5, address.allSatisfy({ $0.isASCII && $0.isUppercase || $0.isNumber })
      else { throw .malformedAddress(address) }
      talker = String(address.prefix(2))
      type = String(address.suffix(3))
    }
    fields = parts
  }

  /// Field `index`, or nil when the sentence is shorter or the field is empty.
  public subscript(field index: Int) -> String? {
    guard index < fields.count, !fields[index].isEmpty else { return nil }
    return fields[index]
  }
}

/// Why a line is not a usable sentence. Serial lines carry junk (a receiver starting up, a
/// baud-rate mismatch, a half line after the port opened): such lines are counted and skipped.
public enum NMEAError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The line does not start with `$` or `!`.
  case notASentence
  /// Longer than ``NMEASentence/maxLength``.
  case tooLong(Int)
  /// No `*` before the end.
  case missingChecksum
  /// The `*` is not followed by exactly two hex digits.
  case malformedChecksum
  /// A control or non-ASCII byte inside the sentence, at this offset from `$`.
  case nonPrintable(at: Int)
  /// The checksum does not match the sentence.
  case badChecksum(expected: UInt8, computed: UInt8)
  /// The address is neither `TTSSS` nor a proprietary `P…`.
  case malformedAddress(String)
  /// A field of a known sentence holds something that is not a valid value.
  case malformedField(type: String, field: Int, value: String)

  public var description: String {
    switch self {
    case .notASentence: "not an NMEA sentence (no leading $)"
    case .tooLong(let length): "sentence of \(length) characters is longer than NMEA allows"
    case .missingChecksum: "sentence has no checksum"
    case .malformedChecksum: "sentence checksum is not two hex digits at the end"
    case .nonPrintable(let at): "control or non-ASCII byte at offset \(at) of the sentence"
    case .badChecksum(let expected, let computed):
      "checksum mismatch: the sentence says \(hex2(expected)), its bytes give \(hex2(computed))"
    case .malformedAddress(let address): "malformed sentence address \"\(address)\""
    case .malformedField(let type, let field, let value):
      "\(type) field \(field) holds \"\(value)\", which is not a valid value"
    }
  }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
  switch byte {
  case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
  case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
  case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
  default: nil
  }
}

private func hex2(_ byte: UInt8) -> String {
  let digits = String(byte, radix: 16, uppercase: true)
  return digits.count < 2 ? "0" + digits : digits
}
