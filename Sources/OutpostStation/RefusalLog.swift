import Synchronization

/// Decides which refused datagrams get a log line, so that a flood of bad datagrams cannot fill
/// the journal: at most ``Limits/perSource`` lines per source address and ``Limits/overall``
/// lines from all sources together in each ``Limits/interval``. The next line that is logged
/// says how many refusals were left out since the one before.
///
/// Sources are remembered in a table of at most ``Limits/sources`` addresses (a flood from
/// spoofed addresses then meets the overall limit, and the table is cleared of quiet sources,
/// or wholly, when full), so the log's memory is bounded too.
final class RefusalLog: Sendable {
  struct Limits: Sendable {
    var perSource = 5
    var overall = 50
    var interval = Duration.seconds(10)
    var sources = 4096
  }

  private struct Count {
    var start: ContinuousClock.Instant
    var lines: Int
  }

  private struct State {
    var sources: [String: Count] = [:]
    var overall: Count?
    /// Refusals not logged since the last line.
    var leftOut = 0
  }

  let limits: Limits
  private let state = Mutex(State())

  init(limits: Limits = Limits()) { self.limits = limits }

  /// Whether a refusal of a datagram from `source` gets a line.
  ///
  /// - Parameter now: the time of the refusal (tests pass their own).
  /// - Returns: nil to stay quiet; else the number of refusals left out since the last line.
  func admit(source: String, now: ContinuousClock.Instant = .now) -> Int? {
    let limits = limits
    return state.withLock { state in
      func current(_ count: Count?) -> Count {
        guard let count, now - count.start < limits.interval else {
          return Count(start: now, lines: 0)
        }
        return count
      }
      var overall = current(state.overall)
      var mine = current(state.sources[source])
      state.overall = overall
      guard overall.lines < limits.overall, mine.lines < limits.perSource else {
        if state.sources[source] != nil { state.sources[source] = mine }
        state.leftOut += 1
        return nil
      }
      overall.lines += 1
      mine.lines += 1
      state.overall = overall
      if state.sources[source] == nil, state.sources.count >= limits.sources {
        state.sources = state.sources.filter { now - $0.value.start < limits.interval }
        if state.sources.count >= limits.sources { state.sources.removeAll() }
      }
      state.sources[source] = mine
      let leftOut = state.leftOut
      state.leftOut = 0
      return leftOut
    }
  }
}
