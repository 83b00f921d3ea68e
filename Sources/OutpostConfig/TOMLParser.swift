/// A TOML 1.0 reader for configuration files, written for the agent because the TOML packages
/// at hand import Foundation, which nothing `outpostd` links may do.
///
/// It reads everything a configuration needs: comments, bare, quoted and dotted keys, tables,
/// arrays of tables, inline tables, basic and literal strings (single- and multi-line, with
/// every escape), integers (decimal, hex, octal, binary, with underscores), floats (with `inf`
/// and `nan`), booleans and arrays. Dates and times are refused with a clear error: no setting
/// takes one. Every error names the line and column.
public enum TOML {
  /// Parses a whole document.
  ///
  /// - Throws: ``TOMLError`` at the first thing that is not TOML, or a key or table defined
  ///   twice.
  public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
    var parser = Parser(Array(text.utf8))
    return try parser.document()
  }
}

/// A document that is not valid TOML: where, and what was wrong.
public struct TOMLError: Error, Sendable, Hashable, CustomStringConvertible {
  /// 1-based.
  public var line: Int
  /// 1-based, in characters of the line.
  public var column: Int
  public var message: String

  public var description: String { "line \(line), column \(column): \(message)" }
}

private struct Parser {
  let bytes: [UInt8]
  var index = 0
  var line = 1
  var lineStart = 0
  var root = TOMLTable(line: 0, origin: .implicit)
  var currentPath: [String] = []
  /// Paths created by `[[…]]`, which may take more elements.
  var arrayTablePaths: Set<[String]> = []
  /// Paths written as `[…]` headers, which may not be written again.
  var headerPaths: Set<[String]> = []

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  var peek: UInt8? { index < bytes.count ? bytes[index] : nil }
  func peek(_ offset: Int) -> UInt8? {
    index + offset < bytes.count ? bytes[index + offset] : nil
  }

  func error(_ message: String) -> TOMLError {
    let column =
      String(decoding: bytes[lineStart..<min(index, bytes.count)], as: UTF8.self).count + 1
    return TOMLError(line: line, column: column, message: message)
  }

  mutating func advance() {
    if bytes[index] == 0x0A {
      line += 1
      lineStart = index + 1
    }
    index += 1
  }

  mutating func skipSpaces() {
    while let byte = peek, byte == 0x20 || byte == 0x09 { index += 1 }
  }

  mutating func skipComment() throws(TOMLError) {
    guard peek == UInt8(ascii: "#") else { return }
    while let byte = peek, byte != 0x0A {
      if byte == 0x0D, peek(1) == 0x0A { break }
      if byte < 0x20 && byte != 0x09 || byte == 0x7F {
        throw error("control character in a comment")
      }
      index += 1
    }
  }

  /// Spaces, a comment, and the end of the line (or of the document).
  mutating func endOfLine() throws(TOMLError) {
    skipSpaces()
    try skipComment()
    guard let byte = peek else { return }
    if byte == 0x0D, peek(1) == 0x0A { index += 1 }
    guard peek == 0x0A else {
      throw error("expected the end of the line, found \(describe(peek))")
    }
    advance()
  }

  /// Blank lines, comments and whitespace, across lines (inside arrays).
  mutating func skipBlank() throws(TOMLError) {
    while true {
      skipSpaces()
      try skipComment()
      if peek == 0x0D, peek(1) == 0x0A { index += 1 }
      guard peek == 0x0A else { return }
      advance()
    }
  }

  func describe(_ byte: UInt8?) -> String {
    guard let byte else { return "the end of the file" }
    if byte == 0x0A || byte == 0x0D { return "the end of the line" }
    if byte >= 0x20 && byte < 0x7F { return "\"\(Character(Unicode.Scalar(byte)))\"" }
    return "byte 0x\(String(byte, radix: 16))"
  }

  mutating func document() throws(TOMLError) -> TOMLTable {
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    while true {
      try skipBlank()
      guard let byte = peek else { return root }
      if byte == UInt8(ascii: "[") {
        try header()
      } else {
        try keyValue(into: currentPath, inline: false)
        try endOfLine()
      }
    }
  }

  // MARK: Tables

  mutating func header() throws(TOMLError) {
    let headerLine = line
    index += 1
    let isArray = peek == UInt8(ascii: "[")
    if isArray { index += 1 }
    skipSpaces()
    let path = try key()
    skipSpaces()
    guard peek == UInt8(ascii: "]"), !isArray || peek(1) == UInt8(ascii: "]") else {
      throw error("expected \(isArray ? "]]" : "]") to close the table header")
    }
    index += isArray ? 2 : 1
    try endOfLine()
    let name = path.joined(separator: ".")
    if isArray {
      let extendable = arrayTablePaths.contains(path)
      try withTable(at: Array(path.dropLast()), creating: true) { (table) throws(TOMLError) in
        let last = path.last!
        let element = TOMLValue.table(TOMLTable(line: headerLine, origin: .arrayElement))
        switch table[last] {
        case nil:
          table.set(last, .array([element]), line: headerLine)
        case .array(var elements) where extendable:
          elements.append(element)
          table.set(last, .array(elements), line: table.entry(last)!.line)
        default:
          throw TOMLError(
            line: headerLine, column: 1,
            message:
              "[[\(name)]] names a key that already holds a value that is not an array of tables")
        }
      }
      arrayTablePaths.insert(path)
    } else {
      guard !headerPaths.contains(path) else {
        throw TOMLError(line: headerLine, column: 1, message: "table [\(name)] is defined twice")
      }
      try withTable(at: Array(path.dropLast()), creating: true) { (table) throws(TOMLError) in
        let last = path.last!
        switch table[last] {
        case nil:
          table.set(last, .table(TOMLTable(line: headerLine, origin: .header)), line: headerLine)
        case .table(var existing) where existing.origin == .implicit:
          existing.origin = .header
          existing.line = headerLine
          table.set(last, .table(existing), line: table.entry(last)!.line)
        default:
          throw TOMLError(
            line: headerLine, column: 1, message: "[\(name)] names a key that already has a value")
        }
      }
      headerPaths.insert(path)
    }
    currentPath = path
  }

  /// Runs `body` on the table at `path` below the root, creating implicit tables on the way
  /// when `creating`; the last element of an array of tables stands for the array.
  mutating func withTable(
    at path: [String], creating: Bool, _ body: (inout TOMLTable) throws(TOMLError) -> Void
  ) throws(TOMLError) {
    let here = line
    func descend(_ table: inout TOMLTable, _ rest: ArraySlice<String>) throws(TOMLError) {
      guard let first = rest.first else {
        try body(&table)
        return
      }
      switch table[first] {
      case nil:
        guard creating else { throw TOMLError(line: here, column: 1, message: "no table \(first)") }
        var child = TOMLTable(line: here, origin: .implicit)
        try descend(&child, rest.dropFirst())
        table.set(first, .table(child), line: here)
      case .table(var child):
        guard child.origin != .inline else {
          throw TOMLError(
            line: here, column: 1, message: "\(first) is an inline table, which is closed")
        }
        try descend(&child, rest.dropFirst())
        table.set(first, .table(child), line: table.entry(first)!.line)
      case .array(var elements):
        guard case .table(var last)? = elements.last, last.origin == .arrayElement else {
          throw TOMLError(line: here, column: 1, message: "\(first) is an array, not a table")
        }
        try descend(&last, rest.dropFirst())
        elements[elements.count - 1] = .table(last)
        table.set(first, .array(elements), line: table.entry(first)!.line)
      case let value?:
        throw TOMLError(
          line: here, column: 1, message: "\(first) is already \(value.typeName), not a table")
      }
    }
    try descend(&root, path[...])
  }

  // MARK: Keys and values

  /// `key = value`, stored in the table at `tablePath` (dotted keys create tables below it).
  mutating func keyValue(into tablePath: [String], inline: Bool) throws(TOMLError) {
    let keyLine = line
    let keyColumn = index - lineStart + 1
    let path = try key()
    skipSpaces()
    guard peek == UInt8(ascii: "=") else {
      throw error("expected = after the key \(path.joined(separator: "."))")
    }
    index += 1
    skipSpaces()
    let value = try value()
    try withTable(at: tablePath + path.dropLast(), creating: true) { (table) throws(TOMLError) in
      let last = path.last!
      guard table[last] == nil else {
        throw TOMLError(
          line: keyLine, column: keyColumn,
          message: "key \(path.joined(separator: ".")) is defined twice")
      }
      table.set(last, value, line: keyLine)
    }
  }

  /// A bare, quoted or dotted key.
  mutating func key() throws(TOMLError) -> [String] {
    var parts: [String] = []
    while true {
      skipSpaces()
      guard let byte = peek else { throw error("expected a key, found the end of the file") }
      switch byte {
      case UInt8(ascii: "\""): parts.append(try basicString())
      case UInt8(ascii: "'"): parts.append(try literalString())
      default:
        let start = index
        while let c = peek, isBareKey(c) { index += 1 }
        guard index > start else { throw error("expected a key, found \(describe(peek))") }
        parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
      }
      skipSpaces()
      guard peek == UInt8(ascii: ".") else { return parts }
      index += 1
    }
  }

  func isBareKey(_ c: UInt8) -> Bool {
    (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
      || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
  }

  mutating func value() throws(TOMLError) -> TOMLValue {
    guard let byte = peek else { throw error("expected a value, found the end of the file") }
    switch byte {
    case UInt8(ascii: "\""):
      if peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") {
        return .string(try multilineBasicString())
      }
      return .string(try basicString())
    case UInt8(ascii: "'"):
      if peek(1) == UInt8(ascii: "'"), peek(2) == UInt8(ascii: "'") {
        return .string(try multilineLiteralString())
      }
      return .string(try literalString())
    case UInt8(ascii: "t"), UInt8(ascii: "f"):
      if bytes[index...].starts(with: Array("true".utf8)) {
        index += 4
        return .boolean(true)
      }
      if bytes[index...].starts(with: Array("false".utf8)) {
        index += 5
        return .boolean(false)
      }
      throw error("expected a value (true, false, a number, a string, [ or {)")
    case UInt8(ascii: "["): return try array()
    case UInt8(ascii: "{"): return try inlineTable()
    default: return try number()
    }
  }

  mutating func array() throws(TOMLError) -> TOMLValue {
    index += 1
    var elements: [TOMLValue] = []
    while true {
      try skipBlank()
      if peek == UInt8(ascii: "]") {
        index += 1
        return .array(elements)
      }
      elements.append(try value())
      try skipBlank()
      if peek == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard peek == UInt8(ascii: "]") else {
        throw error("expected , or ] in the array, found \(describe(peek))")
      }
      index += 1
      return .array(elements)
    }
  }

  mutating func inlineTable() throws(TOMLError) -> TOMLValue {
    let tableLine = line
    index += 1
    // Parse into a scratch root, then lift the result out as a closed table.
    let savedRoot = root
    let savedPath = currentPath
    let savedArrays = arrayTablePaths
    let savedHeaders = headerPaths
    root = TOMLTable(line: tableLine, origin: .inline)
    defer {
      root = savedRoot
      currentPath = savedPath
      arrayTablePaths = savedArrays
      headerPaths = savedHeaders
    }
    skipSpaces()
    if peek == UInt8(ascii: "}") {
      index += 1
      return .table(root)
    }
    while true {
      skipSpaces()
      try keyValue(into: [], inline: true)
      skipSpaces()
      if peek == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard peek == UInt8(ascii: "}") else {
        throw error("expected , or } in the inline table, found \(describe(peek))")
      }
      index += 1
      var table = root
      table.origin = .inline
      return .table(table)
    }
  }

  // MARK: Strings

  mutating func basicString() throws(TOMLError) -> String {
    index += 1
    var out: [UInt8] = []
    while true {
      guard let byte = peek else { throw error("the string is not closed before the end") }
      switch byte {
      case UInt8(ascii: "\""):
        index += 1
        return try text(out)
      case UInt8(ascii: "\\"):
        try escape(into: &out)
      case 0x0A, 0x0D:
        throw error("the string is not closed on its line")
      default:
        if byte < 0x20 && byte != 0x09 || byte == 0x7F {
          throw error("control character in a string; write it as an escape")
        }
        out.append(byte)
        index += 1
      }
    }
  }

  mutating func multilineBasicString() throws(TOMLError) -> String {
    index += 3
    try trimFirstNewline()
    var out: [UInt8] = []
    while true {
      guard let byte = peek else { throw error("the \"\"\" string is not closed before the end") }
      if byte == UInt8(ascii: "\""), peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") {
        // Up to two quotes may end the content just before the closing delimiter.
        var extra = 0
        while extra < 2, peek(3 + extra) == UInt8(ascii: "\"") { extra += 1 }
        out += [UInt8](repeating: UInt8(ascii: "\""), count: extra)
        index += 3 + extra
        return try text(out)
      }
      if byte == UInt8(ascii: "\\") {
        // A backslash at the end of a line swallows the newline and the whitespace after it.
        var probe = index + 1
        while probe < bytes.count, bytes[probe] == 0x20 || bytes[probe] == 0x09 { probe += 1 }
        if probe < bytes.count, bytes[probe] == 0x0A || bytes[probe] == 0x0D {
          index = probe
          while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { advance() }
          continue
        }
        try escape(into: &out)
        continue
      }
      if byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D || byte == 0x7F {
        throw error("control character in a string; write it as an escape")
      }
      out.append(byte)
      advance()
    }
  }

  mutating func literalString() throws(TOMLError) -> String {
    index += 1
    let start = index
    while true {
      guard let byte = peek else { throw error("the string is not closed before the end") }
      if byte == UInt8(ascii: "'") { break }
      if byte == 0x0A || byte == 0x0D { throw error("the string is not closed on its line") }
      if byte < 0x20 && byte != 0x09 || byte == 0x7F {
        throw error("control character in a string")
      }
      index += 1
    }
    let content = Array(bytes[start..<index])
    index += 1
    return try text(content)
  }

  mutating func multilineLiteralString() throws(TOMLError) -> String {
    index += 3
    try trimFirstNewline()
    var out: [UInt8] = []
    while true {
      guard let byte = peek else { throw error("the ''' string is not closed before the end") }
      if byte == UInt8(ascii: "'"), peek(1) == UInt8(ascii: "'"), peek(2) == UInt8(ascii: "'") {
        var extra = 0
        while extra < 2, peek(3 + extra) == UInt8(ascii: "'") { extra += 1 }
        out += [UInt8](repeating: UInt8(ascii: "'"), count: extra)
        index += 3 + extra
        return try text(out)
      }
      if byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D || byte == 0x7F {
        throw error("control character in a string")
      }
      out.append(byte)
      advance()
    }
  }

  mutating func trimFirstNewline() throws(TOMLError) {
    if peek == 0x0D, peek(1) == 0x0A { index += 1 }
    if peek == 0x0A { advance() }
  }

  mutating func escape(into out: inout [UInt8]) throws(TOMLError) {
    index += 1
    guard let code = peek else { throw error("the escape is not finished before the end") }
    index += 1
    let simple: [UInt8: UInt8] = [
      UInt8(ascii: "b"): 0x08, UInt8(ascii: "t"): 0x09, UInt8(ascii: "n"): 0x0A,
      UInt8(ascii: "f"): 0x0C, UInt8(ascii: "r"): 0x0D, UInt8(ascii: "\""): 0x22,
      UInt8(ascii: "\\"): 0x5C,
    ]
    if let byte = simple[code] {
      out.append(byte)
      return
    }
    let digits: Int
    switch code {
    case UInt8(ascii: "u"): digits = 4
    case UInt8(ascii: "U"): digits = 8
    default:
      index -= 1
      throw error("unknown escape \\\(describe(code).trimmingQuotes)")
    }
    guard index + digits <= bytes.count,
      let value = UInt32(
        String(decoding: bytes[index..<(index + digits)], as: UTF8.self), radix: 16),
      let scalar = Unicode.Scalar(value)
    else {
      throw error(
        "\\\(Character(Unicode.Scalar(code))) must be followed by \(digits) hex digits of a Unicode scalar"
      )
    }
    index += digits
    out += Array(String(Character(scalar)).utf8)
  }

  func text(_ bytes: [UInt8]) throws(TOMLError) -> String {
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw error("the string is not valid UTF-8")
    }
    return text
  }

  // MARK: Numbers

  mutating func number() throws(TOMLError) -> TOMLValue {
    let start = index
    while let c = peek,
      isBareKey(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":")
    {
      index += 1
    }
    let token = String(decoding: bytes[start..<index], as: UTF8.self)
    guard !token.isEmpty else {
      throw error(
        "expected a value (true, false, a number, a string, [ or {), found \(describe(peek))")
    }
    func fail() -> TOMLError {
      TOMLError(
        line: line, column: start - lineStart + 1, message: "\"\(token)\" is not a valid number")
    }
    if token.contains(":")
      || token.count >= 5 && token.dropFirst(4).first == "-" && token.first?.isNumber == true
    {
      throw TOMLError(
        line: line, column: start - lineStart + 1,
        message: "dates and times are not used in this configuration (\"\(token)\")")
    }
    var body = Substring(token)
    var negative = false
    if body.first == "+" || body.first == "-" {
      negative = body.first == "-"
      body = body.dropFirst()
    }
    switch body {
    case "inf": return .float(negative ? -.infinity : .infinity)
    case "nan": return .float(.nan)
    default: break
    }
    // Underscores only between digits.
    let plain = body.filter { $0 != "_" }
    if body.contains("_") {
      let characters = Array(body)
      for (i, c) in characters.enumerated() where c == "_" {
        guard i > 0, i < characters.count - 1, characters[i - 1].isHexDigit,
          characters[i + 1].isHexDigit
        else { throw fail() }
      }
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where plain.hasPrefix(prefix) {
      guard token.first != "+", token.first != "-",
        let value = Int64(plain.dropFirst(2), radix: radix)
      else { throw fail() }
      return .integer(value)
    }
    if plain.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
      // TOML floats: digits on both sides of the point, an exponent after digits.
      let parts = plain.split(separator: ".", omittingEmptySubsequences: false)
      if parts.count == 2 {
        guard let first = parts[0].first, first.isNumber, let after = parts[1].first, after.isNumber
        else { throw fail() }
      }
      guard let value = Double(plain), plain.first?.isNumber == true else { throw fail() }
      return .float(negative ? -value : value)
    }
    guard plain.allSatisfy(\.isNumber), !plain.isEmpty,
      plain == "0" || plain.first != "0",
      let magnitude = UInt64(plain)
    else { throw fail() }
    if negative {
      guard magnitude <= UInt64(Int64.max) + 1 else { throw fail() }
      return .integer(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude))
    }
    guard magnitude <= UInt64(Int64.max) else { throw fail() }
    return .integer(Int64(magnitude))
  }
}

extension String {
  fileprivate var trimmingQuotes: String { filter { $0 != "\"" } }
}
