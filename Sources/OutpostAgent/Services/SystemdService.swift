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
    for (index, probe) in probes.enumerated() where book.start(index) {
      Task {
        await probe.check()
        book.finish(index)
      }
    }
    let deadline = ContinuousClock.now + period / 2
    while ContinuousClock.now < deadline {
      if book.allIdle { return [] }
      try? await Task.sleep(for: .milliseconds(5))
    }
    return probes.indices.filter { !book.isIdle($0) }.map { probes[$0].name }
  }
}

/// Which probes are still running.
final class ProbeBook: Sendable {
  private let running: Mutex<[Bool]>

  init(count: Int) {
    running = Mutex(Array(repeating: false, count: count))
  }

  /// Marks probe `index` running; false when it still runs from before.
  func start(_ index: Int) -> Bool {
    running.withLock { running in
      if running[index] { return false }
      running[index] = true
      return true
    }
  }

  func finish(_ index: Int) {
    running.withLock { $0[index] = false }
  }

  func isIdle(_ index: Int) -> Bool { running.withLock { !$0[index] } }

  var allIdle: Bool { running.withLock { !$0.contains(true) } }
}
