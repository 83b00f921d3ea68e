import Logging
import OutpostStore
import ServiceLifecycle

/// The station's clocks: check-in deadlines, boxes gone silent, incidents nobody acknowledged.
/// Looked at every `timers.check_interval_s`; also sends boxes incident news another station
/// sharing the database (or a CLI without a daemon to tell) may have left unsent.
final class Timers: Service {
  let core: StationCore
  let escalation: Escalation

  init(core: StationCore, escalation: Escalation) {
    self.core = core
    self.escalation = escalation
  }

  func run() async throws {
    let period = Duration.seconds(core.configuration.timers.checkIntervalSeconds)
    try? await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        await self.check()
        try await Task.sleep(for: period)
      }
    }
  }

  func check() async {
    let now = wallClockMs()
    do {
      let overdue = try await core.store.raiseOverdueCheckIns(nowMs: now)
      let offline = try await core.store.raiseOffline(
        nowMs: now, defaultLimitMs: Int64(core.configuration.timers.offlineAfterSeconds) * 1000)
      await core.handle(overdue + offline)
      if core.configuration.escalation.afterSeconds > 0 {
        let due = try await core.store.incidentsToEscalate(
          openedBeforeMs: now - Int64(core.configuration.escalation.afterSeconds) * 1000,
          level: 1)
        for incident in due { await escalation.escalate(incident) }
      }
      for deviceID in await core.links.deviceIDs { await core.notifyBox(deviceID) }
    } catch {
      core.logger.error("timers: \(error)")
    }
  }
}

extension Task where Success == Never, Failure == Never {
  static var isCancelledOrShuttingDown: Bool { isCancelled || isShuttingDownGracefully }
}
