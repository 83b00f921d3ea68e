/// Linux input key codes (`<linux/input-event-codes.h>`) by name, for configuration files and
/// log lines, and the characters a keyboard-type card reader sends with them.
public enum KeyCode {
  /// `KEY_ENTER` and `KEY_KPENTER`: the end of an id typed by a card reader.
  public static let enterCodes: Set<UInt16> = [28, 96]
  /// `KEY_LEFTSHIFT` and `KEY_RIGHTSHIFT`.
  public static let shiftCodes: Set<UInt16> = [42, 54]

  /// The code named `name` (`KEY_F1`, `BTN_0`, or a decimal number such as `"59"`), or nil.
  public static func code(named name: String) -> UInt16? {
    if let number = UInt16(name), number <= maxCode { return number }
    return byName[name]
  }

  /// The name of `code` when it has one we know, else its number.
  public static func name(of code: UInt16) -> String {
    names.first { $0.1 == code }?.0 ?? String(code)
  }

  /// The highest key code the kernel defines (`KEY_MAX`).
  public static let maxCode: UInt16 = 0x2FF

  /// The character a US-layout keyboard produces for `code`, with shift held or not; nil for
  /// keys that produce none.
  public static func character(for code: UInt16, shifted: Bool) -> Character? {
    guard let pair = characters[code] else { return nil }
    return shifted ? pair.1 : pair.0
  }

  private static let byName: [String: UInt16] = Dictionary(
    names.map { ($0.0, $0.1) }, uniquingKeysWith: { first, _ in first })

  /// Names of the keys a field box's buttons and readers are likely to send.
  private static let names: [(String, UInt16)] = {
    var table: [(String, UInt16)] = [
      ("KEY_ESC", 1), ("KEY_MINUS", 12), ("KEY_EQUAL", 13), ("KEY_BACKSPACE", 14),
      ("KEY_TAB", 15), ("KEY_ENTER", 28), ("KEY_LEFTCTRL", 29), ("KEY_LEFTSHIFT", 42),
      ("KEY_RIGHTSHIFT", 54), ("KEY_KPASTERISK", 55), ("KEY_LEFTALT", 56), ("KEY_SPACE", 57),
      ("KEY_CAPSLOCK", 58), ("KEY_NUMLOCK", 69), ("KEY_KPMINUS", 74), ("KEY_KPPLUS", 78),
      ("KEY_KPDOT", 83), ("KEY_KPENTER", 96), ("KEY_RIGHTCTRL", 97), ("KEY_KPSLASH", 98),
      ("KEY_UP", 103), ("KEY_LEFT", 105), ("KEY_RIGHT", 106), ("KEY_DOWN", 108),
      ("KEY_MUTE", 113), ("KEY_VOLUMEDOWN", 114), ("KEY_VOLUMEUP", 115), ("KEY_POWER", 116),
      ("KEY_HELP", 138), ("KEY_MENU", 139), ("KEY_PROG1", 148), ("KEY_PROG2", 149),
      ("KEY_PROG3", 202), ("KEY_PROG4", 203), ("KEY_OK", 352), ("KEY_SELECT", 353),
      ("BTN_LEFT", 0x110), ("BTN_RIGHT", 0x111), ("BTN_MIDDLE", 0x112),
    ]
    let digits = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]
    for (index, digit) in digits.enumerated() { table.append(("KEY_\(digit)", UInt16(2 + index))) }
    for (row, start) in [("QWERTYUIOP", 16), ("ASDFGHJKL", 30), ("ZXCVBNM", 44)] {
      for (index, letter) in row.enumerated() {
        table.append(("KEY_\(letter)", UInt16(start + index)))
      }
    }
    for number in 1...10 { table.append(("KEY_F\(number)", UInt16(58 + number))) }
    table += [("KEY_F11", 87), ("KEY_F12", 88)]
    for number in 13...24 { table.append(("KEY_F\(number)", UInt16(170 + number))) }
    let keypad: [UInt16] = [82, 79, 80, 81, 75, 76, 77, 71, 72, 73]
    for (digit, code) in keypad.enumerated() { table.append(("KEY_KP\(digit)", code)) }
    for number in 0...9 { table.append(("BTN_\(number)", UInt16(0x100 + number))) }
    for number in 1...40 { table.append(("BTN_TRIGGER_HAPPY\(number)", UInt16(0x2BF + number))) }
    return table
  }()

  private static let characters: [UInt16: (Character, Character)] = {
    var table: [UInt16: (Character, Character)] = [
      11: ("0", ")"), 12: ("-", "_"), 13: ("=", "+"), 26: ("[", "{"), 27: ("]", "}"),
      39: (";", ":"), 40: ("'", "\""), 41: ("`", "~"), 43: ("\\", "|"), 51: (",", "<"),
      52: (".", ">"), 53: ("/", "?"), 57: (" ", " "), 55: ("*", "*"), 74: ("-", "-"),
      78: ("+", "+"), 83: (".", "."), 98: ("/", "/"),
    ]
    let shiftedDigits = Array("!@#$%^&*(")
    for index in 0..<9 {
      table[UInt16(2 + index)] = (Character(String(index + 1)), shiftedDigits[index])
    }
    for (row, start) in [("qwertyuiop", 16), ("asdfghjkl", 30), ("zxcvbnm", 44)] {
      for (index, letter) in row.enumerated() {
        table[UInt16(start + index)] = (letter, Character(letter.uppercased()))
      }
    }
    let keypad: [UInt16] = [82, 79, 80, 81, 75, 76, 77, 71, 72, 73]
    for (digit, code) in keypad.enumerated() {
      let character = Character(String(digit))
      table[code] = (character, character)
    }
    return table
  }()
}
