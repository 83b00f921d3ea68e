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
  /// How long after `READY=1` the code pages are given back a second time (see ``CodePages``).
  let settledRelease: Duration
  /// The shortest time between two `STATUS=` lines. While a backlog drains, every
  /// acknowledgement changes the pending count; one line a second says as much to an
  /// administrator as hundreds, and costs the service manager and the agent nothing.
  let statusInterval: Duration

  public init(
    recorder: Recorder, gate: StartupGate, watchdog: Watchdog?,
    notifier: SystemdNotifier = SystemdNotifier(), logger: Logger,
    ageRefresh: Duration = .seconds(60), settledRelease: Duration = .seconds(60),
    statusInterval: Duration = .seconds(1)
  ) {
    self.recorder = recorder
    self.gate = gate
    self.watchdog = watchdog
    self.notifier = notifier
    self.logger = logger
    self.ageRefresh = ageRefresh
    self.settledRelease = settledRelease
    self.statusInterval = statusInterval
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
          // Start-up has a tail after READY=1: the first watchdog ticks, status refresh and
          // readings, the uplink's first connection. Their code goes back once they have run,
          // and so do pages of a binary installed moments ago, which could not leave the page
          // cache at READY=1 before they were written back.
          try? await Task.sleep(for: settledRelease)
          if !Task.isCancelled { CodePages.releaseUnused(logger: logger) }
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
        var sent = ContinuousClock.now
        for await _ in changes.cancelOnGracefulShutdown() {
          // At most one line per interval: what changed meanwhile shows in the next one.
          let due = sent.advanced(by: statusInterval)
          if ContinuousClock.now < due { try? await Task.sleep(until: due) }
          guard let status = try? await recorder.status() else { continue }
          if status.statusLine != line {
            line = status.statusLine
            send([.status(line)])
            sent = .now
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

  /// Pings once at start, then every period: the probes started at the previous tick must all
  /// have answered by this one (a whole period, half of `WATCHDOG_USEC`), else no ping. One timer
  /// per period and nothing else: an idle agent stays asleep between ticks.
  func run(notifier: SystemdNotifier) async {
    let book = ProbeBook(count: probes.count)
    var withheld = false
    _ = try? notifier.watchdog()
    startProbes(book)
    while !Task.isCancelled {
      try? await Task.sleep(for: period)
      if Task.isCancelled { return }
      let stuck = stuckProbes(book)
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
      startProbes(book)
    }
  }

  /// Starts every probe that is not still running from an earlier round.
  func startProbes(_ book: ProbeBook) {
    for (index, probe) in probes.enumerated() where book.start(index) {
      // Unstructured: a probe stuck in a wedged part must not hold the watchdog up.
      Task {
        await probe.check()
        book.finish(index)
      }
    }
  }

  /// The names of the probes that have not answered yet.
  func stuckProbes(_ book: ProbeBook) -> [String] {
    probes.indices.filter { !book.isIdle($0) }.map { probes[$0].name }
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

  /// Probe `index` answered.
  func finish(_ index: Int) {
    running.withLock { $0[index] = false }
  }

  func isIdle(_ index: Int) -> Bool { running.withLock { !$0[index] } }
}
