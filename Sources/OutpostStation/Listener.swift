import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OutpostEnrollment
import OutpostWire
import ServiceLifecycle
import Synchronization

/// Where boxes connect: TCP with TLS 1.3 and mutual certificates, on the configured addresses
/// or on sockets systemd passed in. Each connection runs as its own task; too many at once are
/// refused at once.
final class Listener: Service {
  let core: StationCore
  let tls: NIOSSLContext
  let eventLoops: any EventLoopGroup
  /// Sockets from systemd (socket activation); when empty, `addresses` are bound.
  let inheritedSockets: [Int32]
  let addresses: [StationAddress]
  /// Told the addresses bound, once.
  let listening: @Sendable ([SocketAddress]) -> Void
  private let open = Atomic<Int>(0)
  /// A flood of connections is logged once every ten seconds, with a count.
  private let refusals = RateLimitedLog(interval: .seconds(10))

  init(
    core: StationCore, tls: NIOSSLContext, eventLoops: any EventLoopGroup,
    inheritedSockets: [Int32], addresses: [StationAddress],
    listening: @escaping @Sendable ([SocketAddress]) -> Void
  ) {
    self.core = core
    self.tls = tls
    self.eventLoops = eventLoops
    self.inheritedSockets = inheritedSockets
    self.addresses = addresses
    self.listening = listening
  }

  typealias Server = NIOAsyncChannel<NIOAsyncChannel<WireMessage, WireMessage>, Never>

  func run() async throws {
    var servers: [Server] = []
    if inheritedSockets.isEmpty {
      for address in addresses {
        do {
          servers.append(
            try await bootstrap().bind(host: address.host, port: address.port) { channel in
              self.prepare(channel)
            })
        } catch {
          throw StationError("cannot listen on \(address): \(error)")
        }
      }
    } else {
      for socket in inheritedSockets {
        servers.append(
          try await bootstrap().bind(socket, cleanupExistingSocketFile: false) { channel in
            self.prepare(channel)
          })
      }
    }
    let bound = servers.compactMap(\.channel.localAddress)
    core.logger.notice(
      "listening for boxes on \(bound.map { "\($0)" }.joined(separator: ", "))\(inheritedSockets.isEmpty ? "" : " (from systemd)")"
    )
    listening(bound)
    let started = servers
    try await withGracefulShutdownHandler {
      try await withThrowingDiscardingTaskGroup { group in
        for server in started {
          group.addTask { try await self.accept(server) }
        }
      }
    } onGracefulShutdown: {
      for server in started { server.channel.close(promise: nil) }
      // Boxes reconnect to this or another station and resend what was not acknowledged.
      Task { await self.core.links.closeAll() }
    }
  }

  private func bootstrap() -> ServerBootstrap {
    ServerBootstrap(group: eventLoops)
      .serverChannelOption(.backlog, value: 4096)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
      .childChannelOption(.autoRead, value: true)
  }

  private func prepare(_ channel: any Channel) -> EventLoopFuture<
    NIOAsyncChannel<WireMessage, WireMessage>
  > {
    let tls = tls
    let idle = TimeAmount.seconds(Int64(core.configuration.link.pingIntervalSeconds) * 5 / 2)
    return channel.eventLoop.makeCompletedFuture {
      try channel.pipeline.syncOperations.addHandlers([
        IdleStateHandler(readTimeout: idle), CloseWhenIdle(),
        NIOSSLServerHandler(context: tls),
        ByteToMessageHandler(StreamFrameDecoder()),
        MessageToByteHandler(StreamFrameEncoder()),
      ])
      return try NIOAsyncChannel<WireMessage, WireMessage>(wrappingChannelSynchronously: channel)
    }
  }

  private func accept(_ server: Server) async throws {
    let limit = core.configuration.link.maxConnections
    try await server.executeThenClose { inbound in
      try await withThrowingDiscardingTaskGroup { group in
        for try await connection in inbound {
          let peer = connection.channel.remoteAddress.map { "\($0)" } ?? "unknown peer"
          let count = open.wrappingAdd(1, ordering: .relaxed).newValue
          guard count <= limit else {
            open.wrappingSubtract(1, ordering: .relaxed)
            if let suppressed = refusals.shouldLog() {
              let more =
                suppressed > 0 ? "; \(suppressed) more refused since the last such line" : ""
              core.logger.warning(
                "refused \(peer): \(limit) connections are open (link.max_connections)\(more)")
            }
            // Closed through the async channel, which must be finished, not just dropped.
            group.addTask { try? await connection.executeThenClose { _, _ in } }
            continue
          }
          group.addTask {
            await BoxConnection(core: self.core, channel: connection, peer: peer).run()
            self.open.wrappingSubtract(1, ordering: .relaxed)
          }
        }
      }
    }
  }
}

/// Closes a connection that received nothing for the idle handler's read timeout (a box pings
/// an idle link; silence means the link is dead or half-open).
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
  typealias InboundIn = NIOAny

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
      context.close(promise: nil)
    } else {
      context.fireUserInboundEventTriggered(event)
    }
  }
}

/// A station failure an administrator can act on.
public struct StationError: Error, Sendable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// Says whether to log an event that may come in floods: the first at once, then at most once
/// per interval, with how many went unlogged in between.
final class RateLimitedLog: Sendable {
  private let state = Mutex<(last: ContinuousClock.Instant?, suppressed: Int)>((nil, 0))
  let interval: Duration

  init(interval: Duration) { self.interval = interval }

  /// The number suppressed since the last logged one, or nil to stay quiet this time.
  func shouldLog() -> Int? {
    state.withLock { state in
      let now = ContinuousClock.now
      if let last = state.last, now - last < interval {
        state.suppressed += 1
        return nil
      }
      let suppressed = state.suppressed
      state = (now, 0)
      return suppressed
    }
  }
}
