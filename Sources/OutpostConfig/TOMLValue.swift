/// A value of a TOML document, with the line it was written on, so that a configuration error
/// can say where to look.
public indirect enum TOMLValue: Sendable, Hashable {
  case string(String)
  case integer(Int64)
  case float(Double)
  case boolean(Bool)
  case array([TOMLValue])
  case table(TOMLTable)

  /// The TOML name of the value's type, for error messages ("expected an integer, found a
  /// string").
  public var typeName: String {
    switch self {
    case .string: "a string"
    case .integer: "an integer"
    case .float: "a float"
    case .boolean: "a boolean"
    case .array: "an array"
    case .table: "a table"
    }
  }
}

/// A TOML table: keys in the order they were written, each with its value and its line.
public struct TOMLTable: Sendable, Hashable {
  public struct Entry: Sendable, Hashable {
    public var key: String
    public var value: TOMLValue
    /// The 1-based line the key was written on.
    public var line: Int
  }

  public private(set) var entries: [Entry] = []
  /// The 1-based line the table was opened on (0 for the document itself).
  public var line: Int

  /// How a table came to exist, which decides whether it may be reopened.
  enum Origin: Sendable, Hashable {
    /// Written as `[name]`.
    case header
    /// Created as the parent of a dotted key or header, never written itself.
    case implicit
    /// Written inline `{ … }`: closed.
    case inline
    /// An element of an array of tables `[[name]]`.
    case arrayElement
  }

  var origin: Origin

  init(line: Int, origin: Origin) {
    self.line = line
    self.origin = origin
  }

  /// The value for `key`, if there is one.
  public subscript(key: String) -> TOMLValue? {
    entries.first { $0.key == key }?.value
  }

  /// The entry for `key`, with its line.
  public func entry(_ key: String) -> Entry? {
    entries.first { $0.key == key }
  }

  /// The keys, in document order.
  public var keys: [String] { entries.map(\.key) }

  mutating func set(_ key: String, _ value: TOMLValue, line: Int) {
    if let index = entries.firstIndex(where: { $0.key == key }) {
      entries[index].value = value
    } else {
      entries.append(Entry(key: key, value: value, line: line))
    }
  }
}
