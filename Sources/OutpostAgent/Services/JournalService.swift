import Logging
import OutpostJournal
import ServiceLifecycle
import Synchronization

/// The journal writer as a service: the journal is opened (and recovered) before the group
/// starts; this service holds it until shutdown, then makes every appended record durable,
/// writes a final checkpoint and closes it. It is the first service of the group, so it stops
/// last, after every source has stopped appending.
public struct JournalService: Service {
  let writer: JournalWriter
  let logger: Logger

  public init(writer: JournalWriter, logger: Logger) {
    self.writer = writer
    self.logger = logger
  }

  public func run() async throws {
    // Returns on graceful shutdown; throws on cancellation, when the journal is closed all the
    // same.
    try? await gracefulShutdown()
    do {
      try await writer.flush()
      try await writer.withJournal { try $0.close() }
      logger.info("journal flushed and closed")
    } catch {
      logger.critical("could not flush the journal at shutdown: \(error)")
      throw error
    }
  }
}

/// Waits until every part of start-up has reported in, so that `READY=1` means the journal is
/// recovered, the control socket listens and every source has made its first attempt.
public final class StartupGate: Sendable {
  private let state: Mutex<(remaining: Int, waiters: [CheckedContinuation<Void, Never>])>

  /// A gate that opens after `parties` calls of ``arrived()``.
  public init(parties: Int) {
    state = Mutex((max(0, parties), []))
  }

  /// One party is ready. Extra calls are ignored.
  public func arrived() {
    let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
      guard state.remaining > 0 else { return [] }
      state.remaining -= 1
      guard state.remaining == 0 else { return [] }
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters { waiter.resume() }
  }

  /// Returns once every party has arrived.
  public func wait() async {
    await withCheckedContinuation { continuation in
      let open = state.withLock { state -> Bool in
        if state.remaining == 0 { return true }
        state.waiters.append(continuation)
        return false
      }
      if open { continuation.resume() }
    }
  }
}
