import GRDB
import Logging

/// Copies the SQLite store's write-ahead log into the database file beside the writer, not
/// inside its commits.
///
/// With SQLite's automatic checkpoints, the commit that takes the log past 1,000 pages copies
/// the log into the database file and syncs that file before it returns. Under a backlog drain,
/// one routine round in fourteen took 18–41 ms instead of 3–5 ms (station-bench), and an SOS
/// arriving meanwhile waited for it, since SQLite has one writer. So the store turns automatic
/// checkpoints off on its connections, and this checkpointer runs passive checkpoints on a
/// connection of its own after commits. A passive checkpoint takes no lock a writer needs, so
/// commits go on while it copies and syncs; the log starts again from its beginning at the
/// first commit after a checkpoint that copied all of it.
///
/// Commits only signal (``committed()``); one checkpoint runs at a time, at most one per
/// ``minimumInterval``, and none while nothing is committed.
final class WALCheckpointer: Sendable {
  /// The least time from the start of one checkpoint to the start of the next.
  let minimumInterval: Duration
  private let signals: AsyncStream<Void>.Continuation
  private let task: Task<Void, Never>
  private let connection: DatabaseQueue

  /// Opens a connection of its own to the database at `path` for checkpoints.
  ///
  /// - Throws: GRDB's error when the connection cannot be opened.
  init(
    path: String, logger: Logger, minimumInterval: Duration = .milliseconds(100)
  ) throws {
    var configuration = Configuration()
    configuration.label = "outpost-store-checkpoint"
    let connection = try DatabaseQueue(path: path, configuration: configuration)
    let (stream, signals) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    self.minimumInterval = minimumInterval
    self.connection = connection
    self.signals = signals
    task = Task {
      var failing = false
      for await _ in stream {
        let started = ContinuousClock.now
        do {
          _ = try await connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
          failing = false
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
          // Another connection is checkpointing this file (a tool's store beside the running
          // station, which checkpoints too): the log gets copied all the same.
        } catch {
          // The next commit signals again; one line for a run of failures.
          if !failing {
            logger.warning(
              "SQLite \(path): checkpoint of the write-ahead log failed: \(error)",
              metadata: ["path": "\(path)"])
          }
          failing = true
        }
        try? await Task.sleep(until: started + minimumInterval, clock: .continuous)
      }
    }
  }

  /// A transaction committed: the log grew, and a checkpoint follows (soon, not before this
  /// returns).
  func committed() {
    signals.yield()
  }

  /// Stops checkpointing (a checkpoint under way finishes first) and closes the connection.
  func close() async {
    signals.finish()
    await task.value
    try? connection.close()
  }
}
