/// Collects the key events of a card or badge reader that "types" like a keyboard into whole ids:
/// characters accumulate until Enter, which completes the id.
///
/// Readers type a card's id in a burst of a few milliseconds. Keys more than ``gapLimitMs``
/// apart do not belong to the same card: the partial id is dropped and counted, so a half-read
/// card cannot join the next one. Ids longer than ``maxLength`` are dropped whole (counted) at
/// their Enter, and a line shorter than ``minLength`` is ignored, so a stray Enter records
/// nothing.
public struct TypedLine: Sendable, Hashable {
  /// The shortest id accepted.
  public let minLength: Int
  /// The longest id accepted.
  public let maxLength: Int
  /// The longest pause between two keys of one id, in ms.
  public let gapLimitMs: Int64
  /// Ids dropped: too long, interrupted by a pause, or with keys that type no character.
  public private(set) var dropped = 0

  private var characters: [Character] = []
  private var overlong = false
  private var unknownKey = false
  private var shiftsDown: Set<UInt16> = []
  private var lastKeyMs: Int64?

  /// - Precondition: `1 <= minLength <= maxLength`, `gapLimitMs > 0`.
  public init(minLength: Int = 1, maxLength: Int = 64, gapLimitMs: Int64 = 1000) {
    precondition(minLength >= 1 && minLength <= maxLength && gapLimitMs > 0)
    self.minLength = minLength
    self.maxLength = maxLength
    self.gapLimitMs = gapLimitMs
  }

  /// Takes one input event; returns an id when this event was the Enter that completed one.
  public mutating func feed(_ event: InputEvent) -> String? {
    guard event.type == InputEvent.typeKey else { return nil }
    if KeyCode.shiftCodes.contains(event.code) {
      if event.value == 0 { shiftsDown.remove(event.code) } else { shiftsDown.insert(event.code) }
      return nil
    }
    // Only presses type: releases (0) and autorepeat (2) do not.
    guard event.value == 1 else { return nil }
    let nowMs = event.timeUs / 1000
    if let lastKeyMs, nowMs - lastKeyMs > gapLimitMs, !characters.isEmpty || overlong {
      dropped += 1
      reset()
    }
    lastKeyMs = nowMs
    if KeyCode.enterCodes.contains(event.code) {
      defer { reset() }
      if overlong || unknownKey {
        dropped += 1
        return nil
      }
      guard characters.count >= minLength else { return nil }
      return String(characters)
    }
    if Self.modifierCodes.contains(event.code) { return nil }
    guard let character = KeyCode.character(for: event.code, shifted: !shiftsDown.isEmpty) else {
      unknownKey = true
      return nil
    }
    if characters.count >= maxLength {
      overlong = true
    } else {
      characters.append(character)
    }
    return nil
  }

  /// Ctrl, Alt, Caps Lock, Num Lock and the Meta keys: they type nothing and spoil nothing.
  private static let modifierCodes: Set<UInt16> = [29, 56, 58, 69, 97, 100, 125, 126]

  private mutating func reset() {
    characters.removeAll(keepingCapacity: true)
    overlong = false
    unknownKey = false
  }
}
