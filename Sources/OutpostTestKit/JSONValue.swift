/// A parsed JSON value, enough to check what our programs print. Numbers keep their text, so
/// 64-bit integers come through exactly.
public enum JSONValue: Sendable, Equatable {
  /// `{...}`; a key given twice makes the text invalid.
  case object([String: JSONValue])
  /// `[...]`.
  case array([JSONValue])
  /// A string, unescaped.
  case string(String)
  /// An integer, as written (fractions and exponents are refused).
  case number(String)
  /// `true` or `false`.
  case bool(Bool)
  /// `null`.
  case null

  /// Parses one complete JSON text; nil when it is not valid JSON or has trailing bytes.
  public init?(parsing text: String) {
    var parser = JSONParser(bytes: Array(text.utf8))
    guard let value = parser.value() else { return nil }
    parser.skipSpace()
    guard parser.atEnd else { return nil }
    self = value
  }

  /// The member `key` of an object; nil for other values and missing keys.
  public subscript(key: String) -> JSONValue? {
    if case .object(let members) = self { return members[key] }
    return nil
  }

  /// The value as an unsigned integer, when it is one.
  public var uint64: UInt64? {
    if case .number(let text) = self { return UInt64(text) }
    return nil
  }

  /// The value as a signed integer, when it is one.
  public var double: Double? {
    if case .number(let text) = self { return Double(text) }
    return nil
  }

  public var int64: Int64? {
    if case .number(let text) = self { return Int64(text) }
    return nil
  }

  /// The string, when the value is one.
  public var string: String? {
    if case .string(let text) = self { return text }
    return nil
  }

  /// The boolean, when the value is one.
  public var bool: Bool? {
    if case .bool(let flag) = self { return flag }
    return nil
  }

  /// The members, when the value is an object.
  public var members: [String: JSONValue]? {
    if case .object(let members) = self { return members }
    return nil
  }
}

/// A strict recursive-descent parser over UTF-8 bytes (RFC 8259).
private struct JSONParser {
  let bytes: [UInt8]
  var at = 0

  var atEnd: Bool { at == bytes.count }

  mutating func skipSpace() {
    while at < bytes.count {
      switch bytes[at] {
      case 0x20, 0x09, 0x0A, 0x0D: at += 1
      default: return
      }
    }
  }

  mutating func value() -> JSONValue? {
    skipSpace()
    guard at < bytes.count else { return nil }
    switch bytes[at] {
    case UInt8(ascii: "{"): return object()
    case UInt8(ascii: "["): return array()
    case UInt8(ascii: "\""): return string().map(JSONValue.string)
    case UInt8(ascii: "t"): return literal("true", .bool(true))
    case UInt8(ascii: "f"): return literal("false", .bool(false))
    case UInt8(ascii: "n"): return literal("null", .null)
    default: return number()
    }
  }

  mutating func literal(_ word: String, _ value: JSONValue) -> JSONValue? {
    for byte in word.utf8 {
      guard at < bytes.count, bytes[at] == byte else { return nil }
      at += 1
    }
    return value
  }

  mutating func object() -> JSONValue? {
    at += 1
    var members: [String: JSONValue] = [:]
    skipSpace()
    if at < bytes.count, bytes[at] == UInt8(ascii: "}") {
      at += 1
      return .object(members)
    }
    while true {
      skipSpace()
      guard at < bytes.count, bytes[at] == UInt8(ascii: "\""), let key = string() else {
        return nil
      }
      skipSpace()
      guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return nil }
      at += 1
      guard let member = value(), members[key] == nil else { return nil }
      members[key] = member
      skipSpace()
      guard at < bytes.count else { return nil }
      if bytes[at] == UInt8(ascii: ",") {
        at += 1
      } else if bytes[at] == UInt8(ascii: "}") {
        at += 1
        return .object(members)
      } else {
        return nil
      }
    }
  }

  mutating func array() -> JSONValue? {
    at += 1
    var elements: [JSONValue] = []
    skipSpace()
    if at < bytes.count, bytes[at] == UInt8(ascii: "]") {
      at += 1
      return .array(elements)
    }
    while true {
      guard let element = value() else { return nil }
      elements.append(element)
      skipSpace()
      guard at < bytes.count else { return nil }
      if bytes[at] == UInt8(ascii: ",") {
        at += 1
      } else if bytes[at] == UInt8(ascii: "]") {
        at += 1
        return .array(elements)
      } else {
        return nil
      }
    }
  }

  mutating func string() -> String? {
    at += 1
    // Most strings have no escapes: take them in one piece.
    var end = at
    while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"),
      bytes[end] >= 0x20
    {
      end += 1
    }
    if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
      defer { at = end + 1 }
      return String(decoding: bytes[at..<end], as: UTF8.self)
    }
    var scalars = String.UnicodeScalarView()
    var run: [UInt8] = []
    func flush() {
      scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
      run.removeAll()
    }
    while at < bytes.count {
      let byte = bytes[at]
      at += 1
      switch byte {
      case UInt8(ascii: "\""):
        flush()
        return String(scalars)
      case 0..<0x20:
        return nil
      case UInt8(ascii: "\\"):
        flush()
        guard at < bytes.count else { return nil }
        let escape = bytes[at]
        at += 1
        switch escape {
        case UInt8(ascii: "\""): scalars.append("\"")
        case UInt8(ascii: "\\"): scalars.append("\\")
        case UInt8(ascii: "/"): scalars.append("/")
        case UInt8(ascii: "b"): scalars.append("\u{08}")
        case UInt8(ascii: "f"): scalars.append("\u{0C}")
        case UInt8(ascii: "n"): scalars.append("\n")
        case UInt8(ascii: "r"): scalars.append("\r")
        case UInt8(ascii: "t"): scalars.append("\t")
        case UInt8(ascii: "u"):
          guard var code = hex4() else { return nil }
          if (0xD800..<0xDC00).contains(code) {
            guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"),
              bytes[at + 1] == UInt8(ascii: "u")
            else { return nil }
            at += 2
            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let scalar = Unicode.Scalar(code) else { return nil }
          scalars.append(scalar)
        default:
          return nil
        }
      default:
        run.append(byte)
      }
    }
    return nil
  }

  mutating func hex4() -> UInt32? {
    guard at + 4 <= bytes.count,
      let code = UInt32(String(decoding: bytes[at..<(at + 4)], as: UTF8.self), radix: 16)
    else { return nil }
    at += 4
    return code
  }

  mutating func number() -> JSONValue? {
    let start = at
    if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
    let digitsStart = at
    while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) {
      at += 1
    }
    guard at > digitsStart else { return nil }
    if bytes[digitsStart] == UInt8(ascii: "0") && at - digitsStart > 1 { return nil }
    // A fraction and an exponent (the station prints degrees as decimals).
    let digit = UInt8(ascii: "0")...UInt8(ascii: "9")
    if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
      at += 1
      let fraction = at
      while at < bytes.count, digit.contains(bytes[at]) { at += 1 }
      guard at > fraction else { return nil }
    }
    if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
      at += 1
      if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") {
        at += 1
      }
      let exponent = at
      while at < bytes.count, digit.contains(bytes[at]) { at += 1 }
      guard at > exponent else { return nil }
    }
    return .number(String(decoding: bytes[start..<at], as: UTF8.self))
  }
}
