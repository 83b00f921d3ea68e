import Synchronization

/// Lets an alarm stop a routine ingest that has not begun to commit, so that the alarm's own
/// transaction need not wait for it: the station's ingestor gives one to each routine round and
/// calls ``preempt()`` when an alarm arrives meanwhile.
///
/// A store that honours it looks at ``checkpoint()`` between the statements of the transaction
/// and calls ``committing()`` just before the commit; a preempted ingest throws
/// ``StoreError/preempted`` and stores nothing, and the ingestor runs its batches again after
/// the alarm. A store may also ignore it (the PostgreSQL store does: its stations do not share
/// one writer), and then ``preempt()`` simply has no effect.
public final class IngestPreemption: Sendable {
  private struct State {
    var requested = false
    var committing = false
  }

  private let state = Mutex(State())

  public init() {}

  /// Asks the ingest to stop.
  ///
  /// - Returns: false when it is already committing (or committed); it then runs to its end.
  @discardableResult
  public func preempt() -> Bool {
    state.withLock { state in
      guard !state.committing else { return false }
      state.requested = true
      return true
    }
  }

  /// Whether ``preempt()`` took effect.
  public var wasPreempted: Bool { state.withLock { $0.requested } }

  /// For the store, between statements.
  ///
  /// - Throws: ``StoreError/preempted`` when ``preempt()`` was called.
  public func checkpoint() throws(StoreError) {
    if state.withLock({ $0.requested }) { throw .preempted }
  }

  /// For the store, right before the commit: from here on ``preempt()`` has no effect.
  ///
  /// - Throws: ``StoreError/preempted`` when ``preempt()`` came first.
  public func committing() throws(StoreError) {
    let preempted = state.withLock { state in
      state.committing = true
      return state.requested
    }
    if preempted { throw .preempted }
  }
}
