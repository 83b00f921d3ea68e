import Logging
import OutpostSystemd
import ServiceLifecycle
import Synchronization

/// The agent's side of `Type=notify`: `READY=1` once start-up is done, `STATUS=` kept current,
/// `WATCHDOG=1` only while the agent really makes progress, and `STOPPING=1` when shutdown
/// begins.
///
/// It is the last service of the group, so it is the first told to shut down and `STOPPING=1`
/// goes out before anything else stops.
public struct SystemdService: Service {
  let recorder: Recorder
  let gate: StartupGate
  let watchdog: Watchdog?
  let notifier: SystemdNotifier
  let logger: Logger
  /// How often the status line is refreshed while records are pending (their age changes).
  let ageRefresh: Duration

  public init(
    recorder: Recorder, gate: StartupGate, watchdog: Watchdog?,
    notifier: SystemdNotifier = SystemdNotifier(), logger: Logger,
    ageRefresh: Duration = .seconds(60)
  ) {
    self.recorder = recorder
    self.gate = gate
    self.watchdog = watchdog
    self.notifier = notifier
    self.logger = logger
    self.ageRefresh = ageRefresh
  }

  public func run() async throws {
    let changes = await recorder.changes()
    await withGracefulShutdownHandler {
      await gate.wait()
      var line = (try? await recorder.status().statusLine) ?? "starting"
      send([.ready, .status(line)])
      logger.notice("ready: \(line)")
      CodePages.releaseUnused(logger: logger)
      await withTaskGroup(of: Void.self) { tasks in
        if let watchdog {
          tasks.addTask { await watchdog.run(notifier: notifier) }
        }
        tasks.addTask {
          // Refreshes the age of the oldest pending record in the status line.
          while !Task.isCancelled {
            try? await Task.sleep(for: ageRefresh)
            if let status = try? await recorder.status(), status.pendingRecords > 0 {
              send([.status(status.statusLine)])
            }
          }
        }
        for await _ in changes.cancelOnGracefulShutdown() {
          guard let status = try? await recorder.status() else { continue }
          if status.statusLine != line {
            line = status.statusLine
            send([.status(line)])
          }
        }
        tasks.cancelAll()
      }
    } onGracefulShutdown: {
      send([.stopping, .status("stopping: flushing the journal")])
    }
  }

  private func send(_ states: [NotifyState]) {
    do {
      try notifier.notify(states)
    } catch {
      logger.warning("could not notify the service manager: \(error)")
    }
  }
}

/// Sends `WATCHDOG=1` every period, but only while every probe answers within the period: the
/// event loop runs a task, the journal writer takes a turn, the recorder answers. A writer stuck
/// in `fdatasync` on a failing card, or a wedged event loop, stops the pings, and systemd
/// restarts the agent.
public struct Watchdog: Sendable {
  /// One check of progress; returns when the part it checks has taken a turn.
  public struct Probe: Sendable {
    public var name: String
    public var check: @Sendable () async -> Void

    public init(name: String, check: @escaping @Sendable () async -> Void) {
      self.name = name
      self.check = check
    }
  }

  let period: Duration
  let probes: [Probe]
  let logger: Logger

  /// - Parameter period: half of `WATCHDOG_USEC`.
  public init(period: Duration, probes: [Probe], logger: Logger) {
    self.period = period
    self.probes = probes
    self.logger = logger
  }

  func run(notifier: SystemdNotifier) async {
    let outstanding = ProbeBook(count: probes.count)
    var withheld = false
    while !Task.isCancelled {
      let stuck = await check(outstanding)
      if stuck.isEmpty {
        _ = try? notifier.watchdog()
        if withheld {
          logger.notice("watchdog: every part makes progress again")
          withheld = false
        }
      } else if !withheld {
        withheld = true
        logger.critical(
          "watchdog withheld: \(stuck.joined(separator: ", ")) made no progress within \(period); systemd will restart the agent"
        )
      }
      try? await Task.sleep(for: period)
    }
  }

  /// Runs every probe that is not still outstanding from an earlier round, and waits up to
  /// half a period for them; returns the names of the probes that did not answer.
  func check(_ book: ProbeBook) async -> [String] {
    book.beginRound()
    for (index, probe) in probes.enumerated() where book.start(index) {
      // Unstructured: a probe stuck in a wedged part must not hold this check up.
      Task {
        await probe.check()
        book.finish(index)
      }
    }
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await book.waitUntilIdle() }
      group.addTask { [period] in
        try? await Task.sleep(for: period / 2)
        book.stopWaiting()
      }
      await group.next()
      book.stopWaiting()
      group.cancelAll()
    }
    return probes.indices.filter { !book.isIdle($0) }.map { probes[$0].name }
  }
}

/// Which probes are still running, and a check waiting for all of them to answer.
final class ProbeBook: Sendable {
  private struct State {
    var running: [Bool]
    var waiter: CheckedContinuation<Void, Never>?
    /// The current round's wait is over; a wait that starts late returns at once.
    var stopped = false
  }

  private let state: Mutex<State>

  init(count: Int) {
    state = Mutex(State(running: Array(repeating: false, count: count)))
  }

  /// Starts a round of checks: a new wait may begin.
  func beginRound() {
    state.withLock { $0.stopped = false }
  }

  /// Marks probe `index` running; false when it still runs from before.
  func start(_ index: Int) -> Bool {
    state.withLock { state in
      if state.running[index] { return false }
      state.running[index] = true
      return true
    }
  }

  /// Probe `index` answered.
  func finish(_ index: Int) {
    let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
      state.running[index] = false
      guard !state.running.contains(true) else { return nil }
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume()
  }

  /// Returns when no probe runs, or when ``stopWaiting()`` is called.
  func waitUntilIdle() async {
    await withCheckedContinuation { continuation in
      let idle = state.withLock { state -> Bool in
        if state.stopped || !state.running.contains(true) { return true }
        state.waiter = continuation
        return false
      }
      if idle { continuation.resume() }
    }
  }

  /// Ends a wait of ``waitUntilIdle()`` (the time is up).
  func stopWaiting() {
    let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
      state.stopped = true
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume()
  }

  func isIdle(_ index: Int) -> Bool { state.withLock { !$0.running[index] } }
}
