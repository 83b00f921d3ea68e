/// A JSON value as gpsd writes it, read by our own small parser rather than `JSONDecoder`:
/// numbers keep their text, so that coordinates are scaled to integer units exactly (see
/// ``GPSDFields``), and a malformed line is reported with the byte offset where it went wrong.
enum GPSDJSON: Equatable {
  /// `{…}`; each key once.
  case object([String: GPSDJSON])
  /// `[…]`.
  case array([GPSDJSON])
  /// A string, unescaped.
  case string(String)
  /// A number, exactly as written (JSON's grammar, checked).
  case number(String)
  /// `true` or `false`.
  case bool(Bool)
  /// `null`.
  case null

  /// The value as it might appear in a message: strings quoted, containers abbreviated.
  var shortText: String {
    switch self {
    case .object: "{…}"
    case .array: "[…]"
    case .string(let text): "\"\(text)\""
    case .number(let text): text
    case .bool(let flag): flag ? "true" : "false"
    case .null: "null"
    }
  }
}

/// Where and why a line is not one JSON value.
struct GPSDJSONSyntaxError: Error, Equatable {
  /// The offset, in bytes from the start of the line, of the first byte that does not fit.
  var offset: Int
  /// What the parser expected there.
  var reason: String
}

/// A recursive-descent reader of one JSON text, with a nesting limit so that a hostile line
/// cannot exhaust the stack (gpsd nests three levels deep at most: SKY → satellites → object).
struct GPSDJSONParser {
  private let bytes: [UInt8]
  private var index = 0

  /// The deepest nesting of objects and arrays accepted.
  static let maxDepth = 32

  /// Parses `bytes` as exactly one JSON value, with optional white space around it.
  static func parse(_ bytes: [UInt8]) throws(GPSDJSONSyntaxError) -> GPSDJSON {
    var parser = GPSDJSONParser(bytes: bytes)
    parser.skipSpace()
    let value = try parser.value(depth: 0)
    parser.skipSpace()
    guard parser.index == bytes.count else {
      throw parser.fail("unexpected bytes after the JSON value")
    }
    return value
  }

  private init(bytes: [UInt8]) {
    self.bytes = bytes
  }

  private func fail(_ reason: String) -> GPSDJSONSyntaxError {
    GPSDJSONSyntaxError(offset: index, reason: reason)
  }

  private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

  private mutating func skipSpace() {
    while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
      index += 1
    }
  }

  private mutating func expect(_ byte: UInt8, _ reason: String) throws(GPSDJSONSyntaxError) {
    guard current == byte else { throw fail(reason) }
    index += 1
  }

  private mutating func value(depth: Int) throws(GPSDJSONSyntaxError) -> GPSDJSON {
    guard let byte = current else { throw fail("the line ends where a value should start") }
    switch byte {
    case UInt8(ascii: "{"):
      guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
      return try object(depth: depth + 1)
    case UInt8(ascii: "["):
      guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
      return try array(depth: depth + 1)
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"):
      try literal("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try literal("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try literal("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
    default: throw fail("expected a value")
    }
  }

  /// `true`, `false` or `null`. A mismatch is reported where the word starts: as that word
  /// when two letters of it matched (`tru`), else as no value at all (`not json`).
  private mutating func literal(_ word: String) throws(GPSDJSONSyntaxError) {
    let start = index
    for (matched, byte) in word.utf8.enumerated() {
      guard current == byte else {
        let reason = matched >= 2 ? "expected \(word)" : "expected a value"
        throw GPSDJSONSyntaxError(offset: start, reason: reason)
      }
      index += 1
    }
  }

  private mutating func object(depth: Int) throws(GPSDJSONSyntaxError) -> GPSDJSON {
    index += 1  // {
    var members: [String: GPSDJSON] = [:]
    skipSpace()
    if current == UInt8(ascii: "}") {
      index += 1
      return .object(members)
    }
    while true {
      skipSpace()
      let keyOffset = index
      guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
      let key = try string()
      skipSpace()
      try expect(UInt8(ascii: ":"), "expected ':' after the key \"\(key)\"")
      skipSpace()
      let member = try value(depth: depth)
      guard members.updateValue(member, forKey: key) == nil else {
        throw GPSDJSONSyntaxError(offset: keyOffset, reason: "duplicate key \"\(key)\"")
      }
      skipSpace()
      switch current {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "}"):
        index += 1
        return .object(members)
      default: throw fail("expected ',' or '}' after the member \"\(key)\"")
      }
    }
  }

  private mutating func array(depth: Int) throws(GPSDJSONSyntaxError) -> GPSDJSON {
    index += 1  // [
    var elements: [GPSDJSON] = []
    skipSpace()
    if current == UInt8(ascii: "]") {
      index += 1
      return .array(elements)
    }
    while true {
      skipSpace()
      elements.append(try value(depth: depth))
      skipSpace()
      switch current {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "]"):
        index += 1
        return .array(elements)
      default: throw fail("expected ',' or ']' after an array element")
      }
    }
  }

  private mutating func string() throws(GPSDJSONSyntaxError) -> String {
    index += 1  // "
    var text: [UInt8] = []
    while true {
      guard let byte = current else { throw fail("the line ends inside a string") }
      switch byte {
      case UInt8(ascii: "\""):
        index += 1
        return String(decoding: text, as: UTF8.self)
      case UInt8(ascii: "\\"):
        index += 1
        try escape(into: &text)
      case 0..<0x20:
        throw fail("control character in a string")
      default:
        text.append(byte)
        index += 1
      }
    }
  }

  private mutating func escape(into text: inout [UInt8]) throws(GPSDJSONSyntaxError) {
    guard let byte = current else { throw fail("the line ends inside an escape") }
    let simple: UInt8? =
      switch byte {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
      case UInt8(ascii: "b"): 0x08
      case UInt8(ascii: "f"): 0x0C
      case UInt8(ascii: "n"): 0x0A
      case UInt8(ascii: "r"): 0x0D
      case UInt8(ascii: "t"): 0x09
      default: nil
      }
    if let simple {
      text.append(simple)
      index += 1
      return
    }
    guard byte == UInt8(ascii: "u") else { throw fail("invalid escape") }
    index += 1
    let escapeStart = index - 2
    var scalar = UInt32(try hex4())
    if (0xD800..<0xDC00).contains(scalar) {
      guard current == UInt8(ascii: "\\"), index + 1 < bytes.count,
        bytes[index + 1] == UInt8(ascii: "u")
      else { throw GPSDJSONSyntaxError(offset: escapeStart, reason: "unpaired surrogate") }
      index += 2
      let low = UInt32(try hex4())
      guard (0xDC00..<0xE000).contains(low) else {
        throw GPSDJSONSyntaxError(offset: escapeStart, reason: "unpaired surrogate")
      }
      scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
    } else if (0xDC00..<0xE000).contains(scalar) {
      throw GPSDJSONSyntaxError(offset: escapeStart, reason: "unpaired surrogate")
    }
    // Every value left is a Unicode scalar: surrogates were paired or refused above.
    text.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
  }

  private mutating func hex4() throws(GPSDJSONSyntaxError) -> UInt16 {
    var value: UInt16 = 0
    for _ in 0..<4 {
      let digit: UInt8
      switch current {
      case let byte? where (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte):
        digit = byte - UInt8(ascii: "0")
      case let byte? where (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte):
        digit = byte - UInt8(ascii: "a") + 10
      case let byte? where (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte):
        digit = byte - UInt8(ascii: "A") + 10
      default: throw fail("expected four hex digits after \\u")
      }
      value = value << 4 | UInt16(digit)
      index += 1
    }
    return value
  }

  /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
  private mutating func number() throws(GPSDJSONSyntaxError) -> String {
    let start = index
    if current == UInt8(ascii: "-") { index += 1 }
    if current == UInt8(ascii: "0") {
      index += 1
    } else {
      try digits()
    }
    if current == UInt8(ascii: ".") {
      index += 1
      try digits()
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      index += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
      try digits()
    }
    return String(decoding: bytes[start..<index], as: UTF8.self)
  }

  private mutating func digits() throws(GPSDJSONSyntaxError) {
    guard let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
      throw fail("expected a digit")
    }
    while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
      index += 1
    }
  }
}
