/// JSON text for `--json` output, written by hand: one object per line, keys in the order they
/// are added. Only what `outpostctl` and the control socket print is supported, so the output stays predictable for
/// the admin scripts that parse it.
public struct JSONObject: Sendable {
  private var text = "{"
  private var isEmpty = true

  /// An object with no members yet.
  public init() {}

  /// The object's JSON text.
  public var json: String { text + "}" }

  private mutating func key(_ key: String) {
    if !isEmpty { text += "," }
    isEmpty = false
    text += JSONObject.quoted(key)
    text += ":"
  }

  /// Adds an unsigned integer member, written exactly (no floating-point rounding).
  public mutating func add(_ name: String, _ value: UInt64) {
    key(name)
    text += String(value)
  }

  /// Adds a signed integer member.
  public mutating func add(_ name: String, _ value: Int64) {
    key(name)
    text += String(value)
  }

  /// Adds an integer member, or `null` when `value` is nil.
  public mutating func add(_ name: String, _ value: UInt64?) {
    key(name)
    text += value.map { String($0) } ?? "null"
  }

  /// Adds a `true`/`false` member.
  public mutating func add(_ name: String, _ value: Bool) {
    key(name)
    text += value ? "true" : "false"
  }

  /// Adds a string member, escaped.
  public mutating func add(_ name: String, _ value: String) {
    key(name)
    text += JSONObject.quoted(value)
  }

  /// Adds a string member, or `null` when `value` is nil.
  public mutating func add(_ name: String, _ value: String?) {
    key(name)
    text += value.map(JSONObject.quoted) ?? "null"
  }

  /// Adds a member whose value is already JSON text (a nested object rendered elsewhere).
  public mutating func addRaw(_ name: String, _ json: String) {
    key(name)
    text += json
  }

  /// Adds a nested object, or `null` when `value` is nil.
  public mutating func add(_ name: String, _ value: JSONObject?) {
    key(name)
    text += value?.json ?? "null"
  }

  /// `value` as a JSON string literal: quotes, backslashes and control characters escaped
  /// (RFC 8259, section 7); everything else passes through as UTF-8.
  public static func quoted(_ value: String) -> String {
    // Most values (hex bodies, kinds, paths) need no escaping at all.
    let plain = value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 < 0x7F }
    if plain { return "\"" + value + "\"" }
    var out = "\""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case "\u{00}"..."\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}":
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    out += "\""
    return out
  }
}
