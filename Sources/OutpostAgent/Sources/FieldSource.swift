import Glibc
import Logging
import NIOCore

/// A source of records: a button device, a card reader, a GPS, a sensor, the box itself.
///
/// A source runs until its task is cancelled or graceful shutdown reaches it. It never gives up
/// on a device that is missing or fails: it reports ``SourceState/retrying(reason:)`` to the
/// recorder, logs the reason once, and tries again with backoff.
public protocol FieldSource: Sendable {
  /// `input:/dev/input/by-id/…`, `gps:gpsd`, `sensor:smoke-temp`, …
  var name: String { get }

  /// Runs the source; calls `firstAttempt` once the first open has succeeded or failed, so
  /// that start-up can report ready.
  func run(firstAttempt: @escaping @Sendable () -> Void) async throws
}

/// Capped exponential backoff with jitter, for reopening devices and reconnecting.
public struct Backoff: Sendable {
  public let initial: Duration
  public let maximum: Duration
  private var current: Duration

  public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60)) {
    self.initial = initial
    self.maximum = maximum
    current = initial
  }

  /// The next delay: the current one ±20 %, after which the current one doubles up to the cap.
  public mutating func next() -> Duration {
    let base = current
    current = min(current * 2, maximum)
    let jitter = Double.random(in: 0.8...1.2)
    return base * jitter
  }

  /// Back to the initial delay (after a device worked for a while).
  public mutating func reset() {
    current = initial
  }
}

/// Logs a source's failures once per distinct reason, and its recovery.
struct FailureLog: Sendable {
  private var lastReason: String?

  /// Logs `reason` as a warning the first time in a row it is seen, at debug level after.
  mutating func failed(_ reason: String, source: String, logger: Logger) {
    if reason == lastReason {
      logger.debug("\(source): still failing: \(reason)")
    } else {
      logger.warning(
        "\(source): \(reason); retrying with backoff", metadata: ["source": "\(source)"])
      lastReason = reason
    }
  }

  /// Logs that the source works again, if it had failed.
  mutating func recovered(source: String, logger: Logger, what: String) {
    if lastReason != nil {
      logger.notice("\(source): \(what) again", metadata: ["source": "\(source)"])
      lastReason = nil
    }
  }
}

/// Opens a device or file for non-blocking reading.
///
/// - Throws: ``AgentError`` with the path and the system's reason.
func openForReading(_ path: String, flags: Int32 = 0) throws(AgentError) -> Int32 {
  let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | flags)
  guard fd >= 0 else { throw AgentError.system("open", path: path, errno: errno) }
  return fd
}

/// Monotonic milliseconds (`CLOCK_MONOTONIC`), the time base of input event timestamps once
/// the agent has asked for it.
func monotonicNowMs() -> Int64 {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}
