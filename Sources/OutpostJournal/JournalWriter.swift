import OutpostCore

/// The one owner of a ``RingJournal`` in a running agent: appends from every source go through
/// it, and each append returns only once its record is durable.
///
/// Alarms are synced before their append returns. Other records use group commit: the first
/// record written after a sync starts a timer of `groupCommitDelay` (default 1 s); when it fires,
/// or when `maxPending` records wait, or when an alarm forces a sync, one `fdatasync` makes them
/// all durable and every waiting append returns. A failed sync fails every waiting append with
/// the error, and the journal must then be reopened.
public actor JournalWriter {
  private let journal: RingJournal
  public let groupCommitDelay: Duration
  public let maxPending: Int
  private var waiters: [CheckedContinuation<Void, any Error>] = []
  private var flushTask: Task<Void, Never>?
  /// Syncs performed for waiting records (for status and tests).
  public private(set) var groupCommits = 0
  private var durableWatchers: [Int: AsyncStream<Void>.Continuation] = [:]
  private var alarmWatchers: [Int: AsyncStream<Record>.Continuation] = [:]
  private var nextWatcher = 0

  /// - Parameters:
  ///   - journal: the journal, handed over for good.
  ///   - groupCommitDelay: longest time a non-alarm record waits for its sync.
  ///   - maxPending: records that trigger a sync without waiting for the timer.
  public init(
    journal: sending RingJournal, groupCommitDelay: Duration = .seconds(1), maxPending: Int = 256
  ) {
    precondition(groupCommitDelay > .zero && maxPending > 0)
    self.journal = journal
    self.groupCommitDelay = groupCommitDelay
    self.maxPending = maxPending
  }

  /// Appends a record and returns its sequence number once the record is durable.
  ///
  /// - Throws: ``JournalError`` from the append or from the sync that was to make it durable.
  public func append(_ entry: JournalEntry) async throws -> UInt64 {
    let seq = try appendNow(entry)
    if entry.priority != .alarm { try await waitUntilDurable() }
    return seq
  }

  /// Appends a record at once and returns its sequence number; an alarm is synced first, any
  /// other record is durable only after the next group commit, which ``waitUntilDurable()``
  /// waits for. Lets a caller number records in order without holding its own lock across the
  /// group-commit delay.
  ///
  /// An alarm goes to the ``appendedAlarms()`` watchers once it is written and before its
  /// sync, so the uplink can send it while the disk makes it durable.
  ///
  /// - Throws: ``JournalError`` from the append, or from the sync of an alarm.
  public func appendNow(_ entry: JournalEntry) throws -> UInt64 {
    if entry.priority == .alarm {
      let seq = try journal.append(entry, durable: false)
      if !alarmWatchers.isEmpty {
        let record = Record(
          seq: seq, kind: entry.kind, priority: entry.priority, time: entry.time, body: entry.body)
        for watcher in alarmWatchers.values { watcher.yield(record) }
      }
      do {
        try journal.sync()
      } catch {
        resumeWaiters(with: error)
        throw error
      }
      resumeWaiters(with: nil)
      signalDurable()
      return seq
    }
    return try journal.append(entry, durable: false)
  }

  /// Returns once every record appended so far is durable: at once when nothing waits for a
  /// sync, else with the group commit that the first waiter started.
  ///
  /// - Throws: ``JournalError`` from that sync.
  public func waitUntilDurable() async throws {
    guard journal.hasUnsyncedRecords else { return }
    try await withCheckedThrowingContinuation {
      (continuation: CheckedContinuation<Void, any Error>) in
      waiters.append(continuation)
      if waiters.count >= maxPending {
        flushNow()
      } else if flushTask == nil {
        let delay = groupCommitDelay
        flushTask = Task { [weak self] in
          try? await Task.sleep(for: delay)
          await self?.flushNow()
        }
      }
    }
  }

  /// Syncs now and releases every waiting append.
  public func flush() throws {
    flushTask?.cancel()
    flushTask = nil
    do {
      try journal.sync()
    } catch {
      resumeWaiters(with: error)
      throw error
    }
    resumeWaiters(with: nil)
    signalDurable()
  }

  /// A signal each time records became durable (an alarm's sync, a group commit, a flush), for
  /// readers such as the uplink that send what is durable. Signals do not queue up: a reader
  /// that was busy sees one, then reads everything new.
  public func durableAppends() -> AsyncStream<Void> {
    let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    let id = nextWatcher
    nextWatcher += 1
    durableWatchers[id] = continuation
    continuation.onTermination = { [weak self] _ in
      Task { await self?.forgetWatcher(id) }
    }
    return stream
  }

  /// Each alarm as it is appended, before the sync that makes it durable: for the uplink, which
  /// sends it meanwhile, so the disk's flush and the trip to the station overlap.
  ///
  /// Such an alarm may reach the station and yet be lost here, when the power fails within that
  /// sync: the box never reported it recorded, and no other record will ever have its number
  /// (the journal skips the rest of its sequence lease after a crash), so the station's copy
  /// stays the only one and nothing is stored twice.
  public func appendedAlarms() -> AsyncStream<Record> {
    let (stream, continuation) = AsyncStream<Record>.makeStream(
      bufferingPolicy: .bufferingNewest(64))
    let id = nextWatcher
    nextWatcher += 1
    alarmWatchers[id] = continuation
    continuation.onTermination = { [weak self] _ in
      Task { await self?.forgetWatcher(id) }
    }
    return stream
  }

  private func forgetWatcher(_ id: Int) {
    durableWatchers[id] = nil
    alarmWatchers[id] = nil
  }

  private func signalDurable() {
    for watcher in durableWatchers.values { watcher.yield() }
  }

  /// Runs `body` with the journal, for acknowledgements, reads and statistics.
  public func withJournal<T: Sendable>(_ body: (RingJournal) throws -> T) rethrows -> T {
    try body(journal)
  }

  private func flushNow() {
    try? flush()
  }

  private func resumeWaiters(with error: (any Error)?) {
    guard !waiters.isEmpty else { return }
    let released = waiters
    waiters.removeAll()
    if error == nil { groupCommits += 1 }
    for waiter in released {
      if let error { waiter.resume(throwing: error) } else { waiter.resume() }
    }
  }
}
