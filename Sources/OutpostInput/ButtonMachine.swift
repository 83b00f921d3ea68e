/// What a debounced button did.
public enum ButtonAction: Sendable, Hashable {
  /// It went down (a press is reported at once; a help button must not wait for the release).
  case pressed
  /// It has been held down for the long-press time (reported once per press, while still held).
  case longPressed
  /// It came up after being held this long.
  case released(heldMs: Int64)
}

/// Debounces one button and recognises long presses, from timestamped edges.
///
/// Contacts bounce for a few milliseconds. The first edge after a quiet period is taken at once
/// (a press is reported without delay) and the level is then locked for ``debounceMs``; edges
/// inside the lock only move the raw level, and when the lock ends the button takes whatever
/// level the raw line settled on, so a release hidden in the bounce is never lost. A button held
/// for ``longPressMs`` reports ``ButtonAction/longPressed`` once.
///
/// Pure and clock-free: edges carry their times (the kernel's event timestamps), and the owner
/// calls ``advance(toMs:)`` at ``nextDeadlineMs`` to let locks end and long presses mature.
public struct ButtonMachine: Sendable, Hashable {
  /// How long the level is locked after a change, in ms.
  public let debounceMs: Int64
  /// How long a press must be held to count as long, in ms.
  public let longPressMs: Int64

  /// The debounced level.
  public private(set) var isDown = false
  /// The raw level last seen.
  private var rawDown = false
  private var lockedUntilMs: Int64 = .min
  private var pressedAtMs: Int64 = 0
  private var longReported = false

  /// - Precondition: `debounceMs >= 0`, `longPressMs > debounceMs`.
  public init(debounceMs: Int64 = 30, longPressMs: Int64 = 2000) {
    precondition(debounceMs >= 0 && longPressMs > debounceMs, "long press must outlast debounce")
    self.debounceMs = debounceMs
    self.longPressMs = longPressMs
  }

  /// When the owner must call ``advance(toMs:)`` next, if anything is pending.
  public var nextDeadlineMs: Int64? {
    var deadline: Int64?
    if rawDown != isDown, lockedUntilMs != .min { deadline = lockedUntilMs }
    if isDown, !longReported {
      let long = pressedAtMs + longPressMs
      deadline = min(deadline ?? long, long)
    }
    return deadline
  }

  /// The raw line went down (`true`) or up at `timeMs`. Edges must come in time order; an edge
  /// earlier than the last is taken as happening at the last one's time.
  public mutating func edge(down: Bool, atMs timeMs: Int64) -> [ButtonAction] {
    var actions = advance(toMs: timeMs)
    rawDown = down
    if down != isDown, timeMs >= lockedUntilMs {
      actions += change(to: down, atMs: timeMs)
    }
    return actions
  }

  /// Lets time pass to `timeMs`: a lock that ended adopts the raw level, a press held long
  /// enough becomes a long press.
  public mutating func advance(toMs timeMs: Int64) -> [ButtonAction] {
    var actions: [ButtonAction] = []
    // Events in time order: a lock may end before or after the long-press time.
    while true {
      let lockEnd = rawDown != isDown && lockedUntilMs != .min ? lockedUntilMs : nil
      let longAt = isDown && !longReported ? pressedAtMs + longPressMs : nil
      guard let next = [lockEnd, longAt].compactMap({ $0 }).min(), next <= timeMs else { break }
      if let longAt, next == longAt {
        longReported = true
        actions.append(.longPressed)
      } else {
        actions += change(to: rawDown, atMs: next)
      }
    }
    return actions
  }

  private mutating func change(to down: Bool, atMs timeMs: Int64) -> [ButtonAction] {
    isDown = down
    lockedUntilMs = timeMs + debounceMs
    if down {
      pressedAtMs = timeMs
      longReported = false
      return [.pressed]
    }
    return [.released(heldMs: timeMs - pressedAtMs)]
  }
}
