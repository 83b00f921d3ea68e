/// One `NAME=value` field of a journal entry, in the form `sd_journal_sendv(3)` takes.
///
/// The name is a valid journald field name (see ``JournalField/isValidName(_:)``); the value is
/// raw bytes and may hold newlines or any other byte.
struct JournalField: Sendable, Hashable {
  var name: String
  var value: [UInt8]

  init(_ name: String, _ value: String) {
    self.init(name, bytes: Array(value.utf8))
  }

  init(_ name: String, bytes: [UInt8]) {
    assert(Self.isValidName(name), "not a journald field name: \(name)")
    self.name = name
    self.value = bytes
  }

  /// The longest field name journald accepts.
  static let maximumNameLength = 64

  /// Whether journald accepts `name` as a field a client may set: 1 to 64 characters from
  /// `A`–`Z`, `0`–`9` and `_`, starting with a letter (a leading `_` marks trusted fields that
  /// only journald itself may write).
  static func isValidName(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard let first = bytes.first, bytes.count <= maximumNameLength else { return false }
    guard (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else { return false }
    return bytes.allSatisfy { byte in
      (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }
  }
}
