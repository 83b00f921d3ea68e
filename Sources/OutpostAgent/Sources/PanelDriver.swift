import Synchronization

/// Drives a ``ButtonPanel`` in real time: edges come from the device, and a timer lets long
/// presses mature and debounce locks end while no edge arrives. Roles are handed to `fire` in
/// the order they happen.
final class PanelDriver: Sendable {
  private let state: Mutex<(panel: ButtonPanel, timer: Task<Void, Never>?)>
  private let fire: @Sendable ([ButtonRole]) async -> Void
  private let now: @Sendable () -> Int64

  /// - Parameters:
  ///   - now: monotonic ms, the time base of the edges' timestamps.
  ///   - fire: records the roles.
  init(
    panel: ButtonPanel, now: @escaping @Sendable () -> Int64 = monotonicNowMs,
    fire: @escaping @Sendable ([ButtonRole]) async -> Void
  ) {
    state = Mutex((panel, nil))
    self.fire = fire
    self.now = now
  }

  /// Whether `code` is one of the panel's keys.
  func handles(_ code: UInt16) -> Bool { state.withLock { $0.panel.handles(code) } }

  /// An edge of key `code` at `timeMs`.
  func edge(_ code: UInt16, down: Bool, atMs timeMs: Int64) async {
    let roles = state.withLock { $0.panel.edge(code, down: down, atMs: timeMs) }
    reschedule()
    if !roles.isEmpty { await fire(roles) }
  }

  /// Stops the timer (the device went away: its keys are up as far as we know).
  func stop() {
    state.withLock { state in
      state.timer?.cancel()
      state.timer = nil
    }
  }

  private func reschedule() {
    state.withLock { state in
      state.timer?.cancel()
      state.timer = nil
      guard let deadline = state.panel.nextDeadlineMs else { return }
      let delay = max(0, deadline - now())
      state.timer = Task { [weak self] in
        try? await Task.sleep(for: .milliseconds(delay))
        guard !Task.isCancelled, let self else { return }
        await self.tick()
      }
    }
  }

  private func tick() async {
    let time = now()
    let roles = state.withLock { $0.panel.advance(toMs: time) }
    reschedule()
    if !roles.isEmpty { await fire(roles) }
  }
}
