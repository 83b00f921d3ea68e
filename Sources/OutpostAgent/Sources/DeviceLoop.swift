import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Keeps a device open and read: opens it, hands its bytes to a session until it ends (the
/// device was unplugged, a FIFO's writer left, a read failed), then opens it again after a
/// backoff, forever. Every failure is reported to the recorder as the source's state and
/// logged once per distinct reason.
struct DeviceLoop: Sendable {
  let name: String
  let recorder: Recorder
  let eventLoops: any EventLoopGroup
  let logger: Logger
  var backoff = Backoff()

  /// Reading bytes from a device.
  typealias Chunks = NIOAsyncChannelInboundStream<ByteBuffer>

  /// Runs until cancelled or shut down.
  ///
  /// - Parameters:
  ///   - firstAttempt: called once, after the first open succeeded or failed.
  ///   - open: opens the device; returns a descriptor the loop owns, and a closure to run when
  ///     the session ends (releasing what else the open took).
  ///   - session: reads the device's bytes; returns when they end.
  func run(
    firstAttempt: @escaping @Sendable () -> Void,
    open: @escaping @Sendable () throws -> (fd: Int32, release: @Sendable () -> Void),
    session: @escaping @Sendable (Chunks) async throws -> Void
  ) async {
    await cancelWhenGracefulShutdownIgnoringErrors {
      var backoff = self.backoff
      var failures = FailureLog()
      var announced = false
      func announce() {
        if !announced {
          announced = true
          firstAttempt()
        }
      }
      while !Task.isCancelled {
        let reason: String
        let started = ContinuousClock.now
        do {
          let (fd, release) = try open()
          defer { release() }
          let channel = try await NIOPipeBootstrap(group: eventLoops)
            .takingOwnershipOfDescriptor(input: fd) { channel in
              channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel)
              }
            }
          await recorder.source(name, .up)
          failures.recovered(source: name, logger: logger, what: "reading")
          announce()
          try await channel.executeThenClose { inbound in
            try await session(inbound)
          }
          reason = "device closed (unplugged, or its writer went away)"
        } catch is CancellationError {
          return
        } catch {
          reason = "\(error)"
        }
        if Task.isCancelled { return }
        if started.duration(to: .now) > .seconds(60) { backoff.reset() }
        await recorder.source(name, .retrying(reason: reason))
        failures.failed(reason, source: name, logger: logger)
        announce()
        do {
          try await Task.sleep(for: backoff.next())
        } catch {
          return
        }
      }
    }
  }
}

/// Runs `body`, cancelling it when graceful shutdown begins; errors end it quietly.
func cancelWhenGracefulShutdownIgnoringErrors(_ body: @escaping @Sendable () async -> Void) async {
  await cancelWhenGracefulShutdown {
    await body()
  }
}

/// Whether `fd` is a character device (an evdev node, a tty), as opposed to the FIFO tests use.
func isCharacterDevice(_ fd: Int32) -> Bool {
  var info = stat()
  return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR
}
