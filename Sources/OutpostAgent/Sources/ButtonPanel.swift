import OutpostInput

/// The buttons of one device: each key debounced by its own ``ButtonMachine``, and its presses
/// turned into the roles the configuration gives it.
///
/// A key with only a short role acts the moment it goes down (help must not wait for the
/// release). A key with only a long role acts once held for the long-press time. A key with both
/// acts on release when it was let go before the long-press time, else at that time.
struct ButtonPanel: Sendable {
  private var machines: [UInt16: ButtonMachine] = [:]
  private let short: [UInt16: ButtonRole]
  private let long: [UInt16: ButtonRole]
  private let timing: ButtonTiming

  init(short: [UInt16: ButtonRole], long: [UInt16: ButtonRole], timing: ButtonTiming) {
    self.short = short
    self.long = long
    self.timing = timing
  }

  /// Whether `code` is one of this panel's keys.
  func handles(_ code: UInt16) -> Bool { short[code] != nil || long[code] != nil }

  /// Key `code` went down or up at `timeMs` (monotonic).
  mutating func edge(_ code: UInt16, down: Bool, atMs timeMs: Int64) -> [ButtonRole] {
    guard handles(code) else { return [] }
    var roles = advance(toMs: timeMs)
    var machine =
      machines[code]
      ?? ButtonMachine(debounceMs: timing.debounceMs, longPressMs: timing.longPressMs)
    roles += machine.edge(down: down, atMs: timeMs).compactMap { role(for: code, $0) }
    machines[code] = machine
    return roles
  }

  /// Lets time pass to `timeMs`, maturing long presses and ending debounce locks.
  mutating func advance(toMs timeMs: Int64) -> [ButtonRole] {
    var roles: [ButtonRole] = []
    for code in machines.keys.sorted() {
      roles += machines[code]!.advance(toMs: timeMs).compactMap { role(for: code, $0) }
    }
    return roles
  }

  /// When ``advance(toMs:)`` must be called next.
  var nextDeadlineMs: Int64? {
    machines.values.compactMap(\.nextDeadlineMs).min()
  }

  private func role(for code: UInt16, _ action: ButtonAction) -> ButtonRole? {
    let shortRole = short[code]
    let longRole = long[code]
    switch action {
    case .pressed:
      return longRole == nil ? shortRole : nil
    case .longPressed:
      return longRole
    case .released(let heldMs):
      guard longRole != nil, heldMs < timing.longPressMs else { return nil }
      return shortRole
    }
  }
}
