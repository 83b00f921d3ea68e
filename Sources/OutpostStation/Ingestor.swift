import Logging
import OutpostStore

/// Commits batches from every connection together: while one transaction runs, batches that
/// arrive wait and go into the next one, so a thousand boxes cost one commit each round rather
/// than a thousand. A batch's submitter returns only once its transaction committed; that is
/// when the station may acknowledge it.
actor Ingestor {
  private let store: any StationStore
  private let logger: Logger
  private let onEvents: @Sendable ([StoreEvent]) async -> Void
  private var pending: [(batch: IngestBatch, waiter: CheckedContinuation<Void, any Error>)] = []
  private var committing = false
  /// Transactions and records committed, for status and the benchmark.
  private(set) var commits = 0
  private(set) var records = 0

  init(
    store: any StationStore, logger: Logger,
    onEvents: @escaping @Sendable ([StoreEvent]) async -> Void
  ) {
    self.store = store
    self.logger = logger
    self.onEvents = onEvents
  }

  /// Stores `batch` and returns once it is committed.
  ///
  /// - Throws: the store's error when the transaction failed; nothing of the batch was stored.
  func submit(_ batch: IngestBatch) async throws {
    try await withCheckedThrowingContinuation { continuation in
      pending.append((batch, continuation))
      if !committing {
        committing = true
        Task { await self.commitWhilePending() }
      }
    }
  }

  private func commitWhilePending() async {
    while !pending.isEmpty {
      let round = pending
      pending.removeAll(keepingCapacity: true)
      do {
        let events = try await store.ingest(round.map(\.batch), receivedAtMs: wallClockMs())
        commits += 1
        records += round.reduce(0) { $0 + $1.batch.records.count }
        for entry in round { entry.waiter.resume() }
        if !events.isEmpty { await onEvents(events) }
      } catch {
        logger.error(
          "storing \(round.count) batches failed, nothing acknowledged: \(error)",
          metadata: ["batches": "\(round.count)"])
        for entry in round { entry.waiter.resume(throwing: error) }
      }
    }
    committing = false
  }
}
