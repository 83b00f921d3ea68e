import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The station's local control socket (`RUN_DIR/control.sock`, owner and group only): the CLI
/// changes the store, then tells the running daemon here what changed, one line per connection:
///
/// - `device NAME`: the device was revoked or changed; a revoked one's live link is cut.
/// - `incident ID`: an officer acknowledged or closed the incident; its box is told.
///
/// The daemon answers `ok` or `error: …`. Without a daemon the change still stands: a revoked
/// certificate is refused at the next connection and the box hears of its incident when it
/// next connects.
final class StationControl: Service {
  let core: StationCore
  let path: String
  let eventLoops: any EventLoopGroup

  init(core: StationCore, path: String, eventLoops: any EventLoopGroup) {
    self.core = core
    self.path = path
    self.eventLoops = eventLoops
  }

  func run() async throws {
    unlink(path)
    let server = try await ServerBootstrap(group: eventLoops)
      .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(LineDecoder(limit: 512)))
          return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    chmod(path, 0o660)
    try await withGracefulShutdownHandler {
      try await server.executeThenClose { inbound in
        try await withThrowingDiscardingTaskGroup { group in
          for try await connection in inbound {
            group.addTask { await self.serve(connection) }
          }
        }
      }
    } onGracefulShutdown: {
      server.channel.close(promise: nil)
    }
    unlink(path)
  }

  private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
    try? await connection.executeThenClose { inbound, outbound in
      for try await line in inbound {
        let reply = await execute(String(buffer: line))
        try await outbound.write(ByteBuffer(string: reply + "\n"))
        return
      }
    }
  }

  func execute(_ line: String) async -> String {
    let words = line.split(separator: " ", maxSplits: 1).map(String.init)
    guard words.count == 2 else { return "error: expected \"device NAME\" or \"incident ID\"" }
    do {
      switch words[0] {
      case "device":
        guard let device = try await core.store.device(named: words[1]) else {
          return "error: no device \"\(words[1])\""
        }
        if device.isRevoked, await core.links.cut(name: device.name) {
          core.logger.warning("cut the live link of revoked device \(device.name)")
          await core.linkChanged(device: device, up: false)
        }
        return "ok"
      case "incident":
        guard let id = Int64(words[1]), let incident = try await core.store.incident(id: id)
        else { return "error: no incident \(words[1])" }
        await core.notifyBox(incident.deviceID)
        await core.reportUpstream(incident)
        return "ok"
      default:
        return "error: unknown command \"\(words[0])\""
      }
    } catch {
      return "error: \(error)"
    }
  }
}

/// Splits bytes into lines (without the newline), refusing longer ones.
struct LineDecoder: NIOSingleStepByteToMessageDecoder {
  typealias InboundOut = ByteBuffer
  let limit: Int

  mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
    guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
      if buffer.readableBytes > limit { throw StationError("control line longer than \(limit)") }
      return nil
    }
    let length = newline - buffer.readerIndex
    let line = buffer.readSlice(length: length)
    buffer.moveReaderIndex(forwardBy: 1)
    return line
  }

  mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
    try decode(buffer: &buffer)
  }
}
