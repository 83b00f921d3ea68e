/// When, and how many, backlog batches the uplink sends: the backlog is background traffic, and
/// an alarm pressed while it drains must find the link, the station and the cores as free as on
/// an idle link. Alarms are never paced; only the backlog is.
///
/// Two rules, both from each backlog batch's round trip (sent to wholly acknowledged):
///
/// - **Window.** As LEDBAT (RFC 6817) does, the round trip is compared with the shortest one
///   seen lately, the link's *base* delay; what it takes beyond that is time the batch spent
///   queued (in socket buffers, behind other batches at the station, waiting for a core). While
///   that queueing stays under a target, a quarter of the base delay and at least 1 ms, the
///   window of batches in flight opens towards the station's; above it, it closes, down to one.
///   On a cellular or satellite link, where a round trip is mostly distance, eight batches in
///   flight queue for little against it and the window stays open; on a loopback or LAN link,
///   where a round trip is the station's own work, a second batch in flight only waits behind
///   the first (and an SOS sent meanwhile behind both), so the window stays near one.
/// - **Share.** After each batch the backlog pauses, so that it takes at most `share` of the
///   link's time: a batch that took `rtt / window` of it is followed by a pause of that times
///   `(1 - share) / share`. Without the pause a backlog keeps the station and both cores of a
///   small machine busy, and every hop of an alarm waits for a core (measured in
///   docs/benchmarks.md, "SOS while a backlog drains").
struct BacklogPacer {
  /// The most the station allows in flight.
  let limit: Int
  /// The share of the link's time the backlog may take, 0.05 to 1.
  let share: Double
  /// The window, fractional as in LEDBAT; ``allowed`` rounds it down.
  private(set) var window: Double = 1
  /// No backlog batch goes out before this (nil: at once).
  private(set) var resumeAt: ContinuousClock.Instant?
  /// The shortest round trip in each of the last few intervals, newest last: the base delay is
  /// their minimum, so it follows a link that got slower within ``baseHistory`` intervals.
  private var minima: [Duration] = []
  private var intervalStart: ContinuousClock.Instant?

  /// How long one interval of the base delay's history lasts, and how many are kept.
  static let baseInterval: Duration = .seconds(5)
  static let baseHistory = 4
  /// The least queueing target, for links whose base delay is tiny.
  static let leastTarget: Duration = .milliseconds(1)
  /// How fast the window opens while round trips show no queueing: a quarter batch per window
  /// of round trips, so a link that gains nothing from a second batch in flight (its round trip
  /// is work, not distance) spends little time finding that out again.
  static let gain = 0.25

  init(limit: Int, share: Double = 1) {
    precondition(limit >= 1 && (0.05...1).contains(share))
    self.limit = limit
    self.share = share
  }

  /// Backlog batches that may be in flight.
  var allowed: Int { max(1, min(limit, Int(window))) }

  /// The base delay (nil before the first round trip).
  var base: Duration? { minima.min() }

  /// Whether a backlog batch may go out at `now` (the window aside).
  func mayStart(at now: ContinuousClock.Instant) -> Bool {
    guard let resumeAt else { return true }
    return now >= resumeAt
  }

  /// Takes the round trip of a backlog batch, sent to wholly acknowledged, measured `at` `now`.
  mutating func roundTrip(_ rtt: Duration, at now: ContinuousClock.Instant) {
    let inFlight = Double(allowed)
    if let start = intervalStart, now - start < Self.baseInterval, !minima.isEmpty {
      minima[minima.count - 1] = min(minima[minima.count - 1], rtt)
    } else {
      minima.append(rtt)
      if minima.count > Self.baseHistory { minima.removeFirst() }
      intervalStart = now
    }
    if share < 1 {
      resumeAt = now + rtt * ((1 - share) / share / inFlight)
    }
    guard let base else { return }
    let target = max(base / 4, Self.leastTarget)
    let queueing = rtt - base
    // LEDBAT's controller: opens in proportion to how far under the target the queueing is;
    // above the target it closes at once, by up to half the window.
    let offTarget = (target - queueing) / target
    let change =
      offTarget >= 0 ? Self.gain * offTarget / window : max(offTarget / window, -window / 2)
    window = min(Double(limit), max(1, window + change))
  }
}
