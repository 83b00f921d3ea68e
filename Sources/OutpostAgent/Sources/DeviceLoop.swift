import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Keeps a device or a connection open and read: opens it, hands it to a session until the
/// session ends (a device unplugged, a FIFO's writer gone, a peer that closed, a read that
/// failed), then opens it again after a backoff, forever. Every failure is reported to the
/// recorder as the source's state and logged once per distinct reason.
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
  ///   - ended: the reason reported when a session returns by itself.
  ///   - connect: opens the device or connection.
  ///   - session: uses it; returns when it ends, and releases it.
  func run<Connection: Sendable>(
    firstAttempt: @escaping @Sendable () -> Void, ended: String,
    connect: @escaping @Sendable () async throws -> Connection,
    session: @escaping @Sendable (Connection) async throws -> Void
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
          let connection = try await connect()
          await recorder.source(name, .up)
          failures.recovered(source: name, logger: logger, what: "reading")
          announce()
          try await session(connection)
          reason = ended
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

  /// Runs ``run(firstAttempt:ended:connect:session:)`` for a device read through a file
  /// descriptor.
  ///
  /// - Parameters:
  ///   - open: opens the device; returns a descriptor the loop owns, and a closure to run when
  ///     the session ends (releasing what else the open took).
  ///   - session: reads the device's bytes; returns when they end.
  func run(
    firstAttempt: @escaping @Sendable () -> Void,
    open: @escaping @Sendable () throws -> (fd: Int32, release: @Sendable () -> Void),
    session: @escaping @Sendable (Chunks) async throws -> Void
  ) async {
    let eventLoops = eventLoops
    await run(
      firstAttempt: firstAttempt, ended: "device closed (unplugged, or its writer went away)"
    ) {
      let (fd, release) = try open()
      do {
        let channel = try await NIOPipeBootstrap(group: eventLoops)
          .takingOwnershipOfDescriptor(input: fd) { channel in
            channel.eventLoop.makeCompletedFuture {
              try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel)
            }
          }
        return OpenDevice(channel: channel, release: release)
      } catch {
        release()
        throw error
      }
    } session: { device in
      defer { device.release() }
      try await device.channel.executeThenClose { inbound in
        try await session(inbound)
      }
    }
  }
}

/// A device opened by ``DeviceLoop``: its channel, and what to release when it is done.
struct OpenDevice: Sendable {
  let channel: NIOAsyncChannel<ByteBuffer, Never>
  let release: @Sendable () -> Void
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
