import Logging
import OutpostHooks
import ServiceLifecycle

/// Runs the configured feedback hooks as alarms move from *recorded* to *delivered* to
/// *acknowledged*, or are *cancelled*: the herder's LED and buzzer.
///
/// Hooks run one moment after another, in order, so an LED set on *recorded* cannot be
/// overtaken by a slow hook of an earlier moment. A hook that fails is logged (once until it
/// works again) and never holds up recording.
public struct FeedbackService: Service {
  let recorder: Recorder
  let settings: [FeedbackSettings]
  let runner: HookRunner
  let logger: Logger

  /// The kinds hooks follow when a hook names none.
  static let defaultKinds: Set<String> = ["sos", "sos-cancel", "sensor-alarm"]

  public init(recorder: Recorder, settings: [FeedbackSettings], runner: HookRunner, logger: Logger)
  {
    self.recorder = recorder
    self.settings = settings
    self.runner = runner
    self.logger = logger
  }

  public func run() async throws {
    let changes = await recorder.changes()
    for await change in changes.cancelOnGracefulShutdown() {
      guard case .alarm(let alarm, let moment) = change else { continue }
      let actions = Self.actions(settings, for: alarm.kind.description, at: moment)
      guard !actions.isEmpty else { continue }
      _ = await runner.run(actions, for: alarm.feedbackContext(moment))
    }
    await runner.releaseOutputs()
  }

  /// The actions configured for alarms of `kind` reaching `moment`, in configuration order.
  static func actions(_ settings: [FeedbackSettings], for kind: String, at moment: FeedbackMoment)
    -> [FeedbackAction]
  {
    settings.filter { hook in
      hook.moments.contains(moment)
        && (hook.kinds.isEmpty ? defaultKinds.contains(kind) : hook.kinds.contains(kind))
    }.map(\.action)
  }
}
