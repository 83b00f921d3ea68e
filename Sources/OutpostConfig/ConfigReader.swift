/// A configuration value that is wrong: which key, on which line, what was found and what would
/// be valid. Its description is what `--check-config` prints and what the daemon logs before it
/// refuses to start.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The file, as given on the command line (empty when the text did not come from a file).
  public var file: String
  /// The dotted key, with array-of-tables elements numbered from 1: `sensor[2].raise_at`.
  public var key: String
  /// The 1-based line of the key, or of its table when the key is missing; 0 when unknown.
  public var line: Int
  /// What is wrong and what would be valid.
  public var message: String

  public init(file: String = "", key: String, line: Int, message: String) {
    self.file = file
    self.key = key
    self.line = line
    self.message = message
  }

  /// `agent.toml:12: gps.still_interval_s: must be from 1 to 86400 seconds (found 0)`.
  public var description: String {
    let place = file.isEmpty ? "line \(line)" : "\(file):\(line)"
    return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
  }

  /// The same error, placed in `file`.
  public func inFile(_ file: String) -> ConfigError {
    var copy = self
    copy.file = file
    return copy
  }

  /// A TOML syntax error, as a configuration error of the whole document.
  public init(_ error: TOMLError) {
    self.init(key: "", line: error.line, message: "column \(error.column): \(error.message)")
  }
}

/// Reads one table of a configuration document with typed, range-checked accessors, and
/// remembers which keys were read so that ``finish()`` can refuse the ones nobody knows (a typo
/// in a key must not silently leave a default in force).
///
/// A reader is used once, by one thread, while a configuration is decoded.
public final class ConfigTable {
  /// The TOML table read.
  public let table: TOMLTable
  /// The table's dotted path in the document (empty for the document itself).
  public let path: String
  private var read: Set<String> = []

  /// A reader of `table`, which sits at `path` in the document.
  public init(_ table: TOMLTable, path: String = "") {
    self.table = table
    self.path = path
  }

  /// The dotted name of `key` in this table.
  public func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  /// The line of `key`, or of this table when the key is absent.
  public func line(_ key: String) -> Int { table.entry(key)?.line ?? table.line }

  /// An error about `key`.
  public func error(_ key: String, _ message: String) -> ConfigError {
    ConfigError(key: name(key), line: line(key), message: message)
  }

  /// Whether `key` is present (and marks it read).
  public func has(_ key: String) -> Bool {
    read.insert(key)
    return table[key] != nil
  }

  private func value(_ key: String) -> TOMLValue? {
    read.insert(key)
    return table[key]
  }

  private func mismatch(_ key: String, _ expected: String, _ found: TOMLValue) -> ConfigError {
    error(key, "expected \(expected), found \(found.typeName)")
  }

  /// The string at `key`, or nil when absent.
  ///
  /// - Throws: ``ConfigError`` when the value is not a string, or is empty and `allowEmpty` is
  ///   false.
  public func optionalString(_ key: String, allowEmpty: Bool = false) throws(ConfigError)
    -> String?
  {
    guard let found = value(key) else { return nil }
    guard case .string(let text) = found else { throw mismatch(key, "a string", found) }
    if !allowEmpty && text.isEmpty { throw error(key, "must not be empty") }
    return text
  }

  /// The string at `key`, or `fallback` when absent.
  public func string(_ key: String, default fallback: String) throws(ConfigError) -> String {
    try optionalString(key) ?? fallback
  }

  /// The string at `key`, which must be present.
  public func requiredString(_ key: String, _ what: String) throws(ConfigError) -> String {
    guard let text = try optionalString(key) else { throw error(key, "missing: \(what)") }
    return text
  }

  /// The integer at `key` within `range`, or nil when absent.
  ///
  /// - Parameter unit: words after the bounds in the message ("seconds", "bytes").
  public func optionalInteger(_ key: String, in range: ClosedRange<Int64>, unit: String = "")
    throws(ConfigError) -> Int64?
  {
    guard let found = value(key) else { return nil }
    guard case .integer(let number) = found else { throw mismatch(key, "an integer", found) }
    guard range.contains(number) else {
      let bounds = "from \(range.lowerBound) to \(range.upperBound)"
      throw error(key, "must be \(bounds)\(unit.isEmpty ? "" : " \(unit)") (found \(number))")
    }
    return number
  }

  /// The integer at `key` within `range`, or `fallback` when absent.
  public func integer(
    _ key: String, default fallback: Int64, in range: ClosedRange<Int64>, unit: String = ""
  ) throws(ConfigError) -> Int64 {
    try optionalInteger(key, in: range, unit: unit) ?? fallback
  }

  /// A number of milli-units at `key`: an integer or a float (`60` or `60.5`, in the sensor's
  /// unit), scaled by 1000 and rounded to the nearest milli-unit; nil when absent.
  public func optionalMilli(_ key: String) throws(ConfigError) -> Int64? {
    guard let found = value(key) else { return nil }
    switch found {
    case .integer(let number):
      guard number.magnitude <= Int64.max / 1000 else { throw error(key, "is too large") }
      return number * 1000
    case .float(let number):
      let scaled = (number * 1000).rounded()
      guard scaled.isFinite, scaled.magnitude < 9.0e18 else { throw error(key, "is too large") }
      return Int64(scaled)
    default:
      throw mismatch(key, "a number", found)
    }
  }

  /// The boolean at `key`, or `fallback` when absent.
  public func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
    guard let found = value(key) else { return fallback }
    guard case .boolean(let flag) = found else { throw mismatch(key, "true or false", found) }
    return flag
  }

  /// One of `choices` (matched by name) at `key`, or `fallback` when absent.
  public func choice<T>(_ key: String, _ choices: [(String, T)], default fallback: T)
    throws(ConfigError) -> T
  {
    guard let name = try optionalString(key) else { return fallback }
    guard let match = choices.first(where: { $0.0 == name }) else {
      let valid = choices.map { "\"\($0.0)\"" }.joined(separator: ", ")
      throw error(key, "\"\(name)\" is not one of \(valid)")
    }
    return match.1
  }

  /// The array of strings at `key`, or nil when absent.
  public func optionalStrings(_ key: String) throws(ConfigError) -> [String]? {
    guard let found = value(key) else { return nil }
    if case .string(let single) = found { return [single] }
    guard case .array(let items) = found else { throw mismatch(key, "an array of strings", found) }
    var strings: [String] = []
    for (index, item) in items.enumerated() {
      guard case .string(let text) = item else {
        throw error(key, "element \(index + 1): expected a string, found \(item.typeName)")
      }
      strings.append(text)
    }
    return strings
  }

  /// The table at `key` as a reader, or nil when absent.
  public func optionalTable(_ key: String) throws(ConfigError) -> ConfigTable? {
    guard let found = value(key) else { return nil }
    guard case .table(let inner) = found else { throw mismatch(key, "a table", found) }
    return ConfigTable(inner, path: name(key))
  }

  /// The elements of the array of tables at `key` (`[[key]]`), each a reader named `key[N]`;
  /// empty when absent.
  public func tables(_ key: String) throws(ConfigError) -> [ConfigTable] {
    guard let found = value(key) else { return [] }
    if case .table(let single) = found { return [ConfigTable(single, path: name(key))] }
    guard case .array(let items) = found else {
      throw mismatch(key, "tables ([[\(name(key))]])", found)
    }
    var readers: [ConfigTable] = []
    for (index, item) in items.enumerated() {
      guard case .table(let inner) = item else {
        throw error(key, "element \(index + 1): expected a table, found \(item.typeName)")
      }
      readers.append(ConfigTable(inner, path: "\(name(key))[\(index + 1)]"))
    }
    return readers
  }

  /// Refuses keys that were never asked for: they are typos or belong elsewhere. Call it after
  /// every key of the table has been asked for, present or not.
  ///
  /// - Throws: ``ConfigError`` naming the first unknown key and listing the valid ones.
  public func finish() throws(ConfigError) {
    for entry in table.entries where !read.contains(entry.key) {
      let known = read.isEmpty ? "none" : read.sorted().joined(separator: ", ")
      throw ConfigError(
        key: name(entry.key), line: entry.line,
        message: "unknown key; valid keys here: \(known)")
    }
  }
}
