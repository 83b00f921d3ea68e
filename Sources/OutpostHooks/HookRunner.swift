import Logging
import OutpostGPIO

/// Runs the feedback hooks configured for a moment of an alarm's life.
///
/// A failing hook never stops the agent: ``run(_:for:)`` never throws, logs each failure
/// once, clearly (the action, the moment and the reason), and reports it in the outcomes. The
/// same action failing again for the same reason is logged once only, until it succeeds again
/// (an unplugged buzzer must not fill the journal). GPIO lines are requested once and kept, so
/// an LED stays lit between hooks.
///
/// Calls that overlap run their actions interleaved; a caller that needs one moment's actions
/// to finish before the next moment's start awaits each call in turn.
public actor HookRunner {
  /// The `PATH` commands get and are looked up in when named without a `/`.
  public static let defaultSearchPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

  private let logger: Logger
  private let searchPath: String
  private let killGrace: Duration
  private let consumer: String
  /// Output lines requested by GPIO hooks, by chip name and offset, kept open so their values
  /// hold.
  private var outputs: [OutputKey: GPIOOutputLine] = [:]
  /// The last failure logged for each action that has not succeeded since.
  private var failing: [FeedbackAction: HookFailure] = [:]

  private struct OutputKey: Hashable {
    var chip: String
    var line: UInt32
  }

  /// A runner that logs to `logger`; commands get `searchPath` as `PATH` and `killGrace`
  /// between `SIGTERM` and `SIGKILL`; GPIO lines are requested with the label `consumer`.
  public init(
    logger: Logger, searchPath: String = HookRunner.defaultSearchPath,
    killGrace: Duration = .seconds(2), consumer: String = "outpostd"
  ) {
    self.logger = logger
    self.searchPath = searchPath
    self.killGrace = killGrace
    self.consumer = consumer
  }

  /// Runs `actions` one after another, each to its end (a command within its timeout), for the
  /// alarm `context` describes. A failing action does not stop the ones after it.
  ///
  /// - Returns: one outcome per action, in order.
  public func run(_ actions: [FeedbackAction], for context: FeedbackContext) async
    -> [HookOutcome]
  {
    var outcomes: [HookOutcome] = []
    for action in actions {
      let outcome = await perform(action, for: context)
      report(outcome, for: context)
      outcomes.append(outcome)
    }
    return outcomes
  }

  /// Releases every GPIO line the hooks hold (at shutdown); a later GPIO hook requests its
  /// line again.
  public func releaseOutputs() {
    for line in outputs.values { line.close() }
    outputs.removeAll()
  }

  private func perform(_ action: FeedbackAction, for context: FeedbackContext) async
    -> HookOutcome
  {
    switch action {
    case .command(let argv, let timeout):
      var environment = context.environment
      environment["PATH"] = searchPath
      let command = CommandHook(
        argv: argv, timeout: timeout, killGrace: killGrace, environment: environment,
        searchPath: searchPath)
      let (failure, output) = await command.run()
      return HookOutcome(
        action: action, moment: context.moment, failure: failure, outputTail: output)
    case .gpio(let chip, let line, let value):
      let failure = setLine(chip: chip, line: line, to: value).map(HookFailure.gpio)
      return HookOutcome(action: action, moment: context.moment, failure: failure)
    case .file(let path, let contents):
      let failure = FileHook.write(context.substitute(in: contents), to: path)
      return HookOutcome(action: action, moment: context.moment, failure: failure)
    }
  }

  /// Drives a kept line, or requests it with `value` as its initial value. A kept line that
  /// fails (its chip went away) is dropped and requested afresh once.
  private func setLine(chip: String, line: UInt32, to value: Bool) -> GPIOError? {
    let key = OutputKey(chip: chip, line: line)
    if let kept = outputs[key] {
      do {
        try kept.set(value)
        return nil
      } catch {
        kept.close()
        outputs[key] = nil
      }
    }
    do {
      outputs[key] = try GPIOOutputLine(
        chip: chip, offset: line, initialValue: value, consumer: consumer)
      return nil
    } catch {
      return error
    }
  }

  /// Logs a failure unless the same action last failed for the same reason, and a recovery
  /// once after failures.
  private func report(_ outcome: HookOutcome, for context: FeedbackContext) {
    var metadata: Logger.Metadata = [
      "hook.action": "\(outcome.action)",
      "hook.moment": "\(context.moment.rawValue)",
      "alarm.kind": "\(context.kind)",
      "alarm.seq": "\(context.seq)",
      "alarm.incident": "\(context.incident)",
    ]
    guard let failure = outcome.failure else {
      if failing.removeValue(forKey: outcome.action) != nil {
        logger.notice(
          "Feedback hook works again: \(outcome.action) at moment \(context.moment.rawValue)",
          metadata: metadata)
      }
      return
    }
    metadata["hook.reason"] = "\(failure)"
    guard failing[outcome.action] != failure else {
      logger.debug("Feedback hook failed again for the same reason", metadata: metadata)
      return
    }
    failing[outcome.action] = failure
    var message =
      "Feedback hook failed: \(outcome.action) at moment \(context.moment.rawValue): \(failure)"
    if !outcome.outputTail.isEmpty {
      metadata["hook.output"] = "\(outcome.outputTail)"
      message += ". Its output ended with: \(outcome.outputTail)"
    }
    logger.error("\(message)", metadata: metadata)
  }
}
