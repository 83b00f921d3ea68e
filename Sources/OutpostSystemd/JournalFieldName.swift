extension JournaldLogHandler {
  /// The journal field names this handler writes itself; metadata may not take them over.
  static let reservedFieldNames: Set<String> = [
    "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
  ]

  /// The journald field name under which the metadata key `key` is written.
  ///
  /// Journald accepts only names of 1 to 64 characters from `A`–`Z`, `0`–`9` and `_` that start
  /// with a letter, so the key is converted:
  /// 1. ASCII lowercase letters become uppercase; every other character outside `A`–`Z`, `0`–`9`
  ///    and `_` (including each non-ASCII scalar) becomes `_`: `device.id` → `DEVICE_ID`.
  /// 2. Leading underscores are dropped, because they mark fields only journald may write:
  ///    `_pid` → `PID`.
  /// 3. A name that is then empty, starts with a digit, or is one of the fields the handler
  ///    writes itself (`MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `CODE_FILE`, `CODE_LINE`,
  ///    `CODE_FUNC`) gets the prefix `X_`: `1st` → `X_1ST`, `message` → `X_MESSAGE`.
  /// 4. The result is cut to 64 characters.
  ///
  /// Different keys may map to the same name (`a.b` and `a_b`); journald then keeps both values
  /// under that name.
  ///
  /// - Returns: a valid journald field name, never empty.
  public static func fieldName(forMetadataKey key: String) -> String {
    var name = ""
    name.reserveCapacity(key.utf8.count)
    for scalar in key.unicodeScalars {
      switch scalar {
      case "A"..."Z", "0"..."9", "_":
        name.unicodeScalars.append(scalar)
      case "a"..."z":
        name.unicodeScalars.append(Unicode.Scalar(UInt8(scalar.value - 0x20)))
      default:
        name.unicodeScalars.append("_")
      }
    }
    name = String(name.drop { $0 == "_" })
    let startsWithDigit = name.first.map { ("0"..."9").contains($0) } ?? false
    if name.isEmpty || startsWithDigit || reservedFieldNames.contains(name) {
      name = "X_" + name
    }
    return String(name.prefix(JournalField.maximumNameLength))
  }
}
