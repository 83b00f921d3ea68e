import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import OutpostCA

/// One TLS connection over 127.0.0.1 between a server and a client context, each side
/// reporting how its handshake ended.
struct LoopbackTLS {
  /// How long either side may take before its handshake counts as hung.
  static let handshakeLimit = TimeAmount.seconds(10)

  /// The server's outcome: what it saw of the client, or the error that ended the connection.
  var server: Result<CompletedHandshake, any Error>
  /// The client's outcome: what it saw of the server, or the error that ended the connection.
  var client: Result<CompletedHandshake, any Error>

  /// Connects `client` to a listener using `server`; the client verifies `serverHostname`.
  static func connect(
    server: NIOSSLContext, client: NIOSSLContext, serverHostname: String?
  ) async throws -> LoopbackTLS {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
      let outcome = try await connect(
        server: server, client: client, serverHostname: serverHostname, group: group)
      try await group.shutdownGracefully()
      return outcome
    } catch {
      try? await group.shutdownGracefully()
      throw error
    }
  }

  private static func connect(
    server: NIOSSLContext, client: NIOSSLContext, serverHostname: String?,
    group: MultiThreadedEventLoopGroup
  ) async throws -> LoopbackTLS {
    let serverOutcome = HandshakeWatcher.makePromise(on: group.next())
    let clientOutcome = HandshakeWatcher.makePromise(on: group.next())
    let listener = try await ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: server))
          try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(serverOutcome))
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    let connection: any Channel
    do {
      connection = try await ClientBootstrap(group: group)
        .connectTimeout(handshakeLimit)
        .channelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
              try NIOSSLClientHandler(context: client, serverHostname: serverHostname))
            try channel.pipeline.syncOperations.addHandler(HandshakeWatcher(clientOutcome))
          }
        }
        .connect(to: listener.localAddress!).get()
    } catch {
      try? await listener.close()
      throw error
    }
    let serverResult = await serverOutcome.futureResult.result()
    let clientResult = await clientOutcome.futureResult.result()
    try? await connection.close()
    try? await listener.close()
    return LoopbackTLS(server: serverResult, client: clientResult)
  }
}

/// What one side knows once its handshake completed.
struct CompletedHandshake: Sendable {
  /// Who the peer's certificate names, if it sent one.
  var peer: PeerIdentity?
  /// The negotiated protocol version.
  var version: TLSVersion?
}

/// Fulfils its promise with the peer's identity once the handshake completes, or fails it with
/// the error (or the close) that came first. A watcher that hears nothing gives up after
/// ``LoopbackTLS/handshakeLimit``.
final class HandshakeWatcher: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer

  private let outcome: EventLoopPromise<CompletedHandshake>

  init(_ outcome: EventLoopPromise<CompletedHandshake>) { self.outcome = outcome }

  static func makePromise(on eventLoop: any EventLoop) -> EventLoopPromise<CompletedHandshake> {
    let promise = eventLoop.makePromise(of: CompletedHandshake.self)
    // A promise completes once; later completions are ignored, so this only fires when
    // nothing else did.
    eventLoop.scheduleTask(in: LoopbackTLS.handshakeLimit) {
      promise.fail(HandshakeHung())
    }
    return promise
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
      do {
        let tls = try context.pipeline.syncOperations.handler(type: NIOSSLHandler.self)
        let identity = try tls.peerCertificate.map { certificate in
          try CertificateAuthority.identify(certificateDER: try certificate.toDERBytes())
        }
        outcome.succeed(CompletedHandshake(peer: identity, version: tls.tlsVersion))
      } catch {
        outcome.fail(error)
      }
    }
    context.fireUserInboundEventTriggered(event)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    outcome.fail(error)
    context.close(promise: nil)
  }

  func channelInactive(context: ChannelHandlerContext) {
    outcome.fail(ClosedBeforeHandshake())
    context.fireChannelInactive()
  }
}

struct HandshakeHung: Error {}
struct ClosedBeforeHandshake: Error {}

extension EventLoopFuture where Value: Sendable {
  /// The future's result, without throwing.
  func result() async -> Result<Value, any Error> {
    do {
      return .success(try await get())
    } catch {
      return .failure(error)
    }
  }
}
