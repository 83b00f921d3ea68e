import Glibc

/// Runs blocking work (waiting for a child process, a socket read with a timeout) on a thread
/// of its own, so that it does not hold one of the few threads Swift concurrency runs every
/// test's tasks on. On a 2-core machine two blocked tests would otherwise stall all others.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    let work = ThreadWork {
      do {
        continuation.resume(returning: try body())
      } catch {
        continuation.resume(throwing: error)
      }
    }
    let context = Unmanaged.passRetained(work).toOpaque()
    var thread = pthread_t()
    let started = pthread_create(
      &thread, nil,
      { context in
        let work = Unmanaged<ThreadWork>.fromOpaque(context!).takeRetainedValue()
        work.body()
        return nil
      }, context)
    if started != 0 {
      Unmanaged<ThreadWork>.fromOpaque(context).release()
      continuation.resume(throwing: SpawnError("pthread_create", errno: started))
    } else {
      pthread_detach(thread)
    }
  }
}

private final class ThreadWork: Sendable {
  let body: @Sendable () -> Void
  init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
