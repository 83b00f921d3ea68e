import Glibc
import Logging
import NIOCore
import NIOPosix
import OutpostControl
import ServiceLifecycle

/// The control socket: a Unix stream socket in the run directory, mode 0660 and owned by the
/// configured group, where `outpostctl` sends one JSON request per connection.
public struct ControlServer: Service {
  let path: String
  let group: String?
  let desk: ControlDesk
  let eventLoops: any EventLoopGroup
  let logger: Logger
  let listening: @Sendable () -> Void

  /// - Parameters:
  ///   - path: the socket's path; its directory is created (0755) when missing, and a stale
  ///     socket left by a crash is replaced.
  ///   - group: the group given access, or nil.
  ///   - listening: called once the socket accepts connections.
  public init(
    path: String, group: String?, desk: ControlDesk, eventLoops: any EventLoopGroup,
    logger: Logger, listening: @escaping @Sendable () -> Void = {}
  ) {
    self.path = path
    self.group = group
    self.desk = desk
    self.eventLoops = eventLoops
    self.logger = logger
    self.listening = listening
  }

  public func run() async throws {
    let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast()
      .joined(separator: "/")
    if !directory.isEmpty { try Agent.makeDirectory(directory, mode: 0o755) }
    let server = try await ServerBootstrap(group: eventLoops)
      .serverChannelOption(.backlog, value: 16)
      // A client that shuts down its sending side after the request still gets its replies.
      .childChannelOption(.allowRemoteHalfClosure, value: true)
      .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(RequestLineDecoder()))
          return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    restrictAccess()
    logger.info("control socket listening", metadata: ["path": "\(path)"])
    listening()
    try await withGracefulShutdownHandler {
      try await withThrowingDiscardingTaskGroup { tasks in
        try await server.executeThenClose { connections in
          for try await connection in connections {
            tasks.addTask { await serve(connection) }
          }
        }
      }
    } onGracefulShutdown: {
      server.channel.close(promise: nil)
    }
    unlink(path)
  }

  private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
    do {
      try await connection.executeThenClose { inbound, outbound in
        var iterator = inbound.makeAsyncIterator()
        let line: ByteBuffer?
        do {
          line = try await iterator.next()
        } catch {
          try await outbound.write(Self.encode(.error("\(error)")))
          return
        }
        guard let line else { return }
        let request: ControlRequest
        do {
          request = try ControlRequest.parse(line.readableBytesView)
        } catch {
          try await outbound.write(Self.encode(.error("\(error)")))
          return
        }
        await desk.handle(request) { reply in
          do {
            try await outbound.write(Self.encode(reply))
            return true
          } catch {
            return false
          }
        }
      }
    } catch {
      logger.debug("control connection ended: \(error)")
    }
  }

  static func encode(_ reply: ControlReply) -> ByteBuffer {
    ByteBuffer(string: reply.line() + "\n")
  }

  private func restrictAccess() {
    var gid: gid_t = getegid()
    if let group {
      guard let entry = getgrnam(group) else {
        logger.warning(
          "control socket group \"\(group)\" does not exist; only the daemon's own group may use the socket",
          metadata: ["path": "\(path)"])
        _ = chmod(path, 0o660)
        return
      }
      gid = entry.pointee.gr_gid
    }
    if chown(path, uid_t.max, gid) != 0 {
      logger.warning(
        "could not give the control socket to group \(group ?? "(own)"): \(String(cString: strerror(errno)))",
        metadata: ["path": "\(path)"])
    }
    _ = chmod(path, 0o660)
  }
}

/// Splits the request stream into lines of at most ``ControlRequest/maxLineBytes``.
struct RequestLineDecoder: ByteToMessageDecoder {
  typealias InboundOut = ByteBuffer

  mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws
    -> DecodingState
  {
    if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
      let length = newline - buffer.readerIndex
      let line = buffer.readSlice(length: length)!
      buffer.moveReaderIndex(forwardBy: 1)
      context.fireChannelRead(Self.wrapInboundOut(line))
      return .continue
    }
    if buffer.readableBytes > ControlRequest.maxLineBytes {
      throw ControlProtocolError(
        "request line longer than \(ControlRequest.maxLineBytes) bytes")
    }
    return .needMoreData
  }

  mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool)
    throws -> DecodingState
  {
    if try decode(context: context, buffer: &buffer) == .continue { return .continue }
    if buffer.readableBytes > 0 {
      // A request without its final newline still counts.
      let line = buffer.readSlice(length: buffer.readableBytes)!
      context.fireChannelRead(Self.wrapInboundOut(line))
    }
    return .needMoreData
  }
}
