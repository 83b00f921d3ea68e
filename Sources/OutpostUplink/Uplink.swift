import Glibc
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OutpostCore
import OutpostEnrollment
import OutpostJournal
import OutpostWire
import Synchronization

/// How the uplink connects and how patient it is.
public struct UplinkSettings: Sendable {
  /// The device name sent in `hello` (the certificate's common name).
  public var device: String
  /// Stations in order of preference; the first reachable one is used.
  public var stations: [StationAddress]
  public var capabilities: Capabilities
  public var connectTimeout: Duration
  /// How long the station may take to answer `hello` (TLS handshake included).
  public var welcomeTimeout: Duration
  /// The first retry delay after a failed round; doubled each round up to ``backoffMax``, and
  /// each delay drawn between half and all of that (jitter), so boxes that lost the same
  /// station do not come back in step.
  public var backoffInitial: Duration
  public var backoffMax: Duration
  /// How long a ping may go unanswered (with nothing else received) before the link is taken
  /// for half-open and dropped.
  public var pongTimeout: Duration
  /// Batches in flight when the station allows more.
  public var maxWindow: Int
  /// The share of the link's time a backlog may take, from 0.05 to 1: after each backlog batch
  /// the uplink pauses so that alarms find the link, the station and the cores free
  /// (``BacklogPacer``). 1 sends the backlog back to back.
  public var backlogShare: Double

  public init(
    device: String, stations: [StationAddress], capabilities: Capabilities = [],
    connectTimeout: Duration = .seconds(10), welcomeTimeout: Duration = .seconds(20),
    backoffInitial: Duration = .seconds(1), backoffMax: Duration = .seconds(300),
    pongTimeout: Duration = .seconds(20), maxWindow: Int = 8, backlogShare: Double = 0.5
  ) {
    precondition((0.05...1).contains(backlogShare), "backlogShare must be from 0.05 to 1")
    self.device = device
    self.stations = stations
    self.capabilities = capabilities
    self.connectTimeout = connectTimeout
    self.welcomeTimeout = welcomeTimeout
    self.backoffInitial = backoffInitial
    self.backoffMax = backoffMax
    self.pongTimeout = pongTimeout
    self.maxWindow = maxWindow
    self.backlogShare = backlogShare
  }
}

/// What the uplink tells its owner (the agent's recorder, or a forwarding station).
public protocol UplinkDelegate: Sendable {
  /// The link came up to `station` (after its welcome), or went down (`station` nil).
  func uplinkLink(up: Bool, station: String?) async
  /// The station holds these records; the journal has already marked them acknowledged.
  /// `newly` counts those that were not acknowledged before (nil: not known, after a welcome);
  /// `receivedAtMicros` is when the station's message came off the connection (µs of
  /// `CLOCK_MONOTONIC`), before the journal was free to mark them.
  func uplinkStored(_ ranges: [ClosedRange<UInt64>], newly: Int?, receivedAtMicros: UInt64) async
  /// A downlink message: incident acknowledged or handled, locate-now, neighbour alert, time,
  /// datagram key.
  func uplinkReceived(_ message: WireMessage) async
  /// The box's boot counter, wall clock now and a trusted time anchor, for `hello`.
  func uplinkClock() async -> (boot: UInt32, wallMs: Int64, anchor: TimeAnchor?)
  /// A round ended without a link (no station reachable, or the session ended): the uplink
  /// waits `delay` before it tries again. `reason` says why, as the log does.
  func uplinkRetrying(reason: String, after delay: Duration) async
}

extension UplinkDelegate {
  /// Nothing to do by default.
  public func uplinkRetrying(reason: String, after delay: Duration) async {}
}

/// The box's side of the link: connects to the first reachable station over TLS 1.3 with the
/// device certificate, resumes from the journal (the station's `welcome` says what it holds),
/// sends alarms ahead of any backlog with a window of batches in flight, and moves the
/// journal's acknowledgements only on the station's `ack`. Reconnects for ever with capped
/// exponential backoff and jitter; pings an idle link and drops it when the pong does not come.
public final class Uplink: Sendable {
  let settings: UplinkSettings
  let tls: NIOSSLContext
  let writer: JournalWriter
  let delegate: any UplinkDelegate
  let eventLoops: any EventLoopGroup
  let logger: Logger
  /// Bytes sent and received on the wire (TLS records included), for the idle-traffic figure.
  public let traffic = Traffic()

  public init(
    settings: UplinkSettings, tls: NIOSSLContext, writer: JournalWriter,
    delegate: any UplinkDelegate, eventLoops: any EventLoopGroup, logger: Logger
  ) {
    self.settings = settings
    self.tls = tls
    self.writer = writer
    self.delegate = delegate
    self.eventLoops = eventLoops
    var logger = logger
    logger[metadataKey: "component"] = "uplink"
    self.logger = logger
  }

  /// Runs until cancelled: connect, run a session, back off, again.
  public func run() async {
    var failures = 0
    var lastReason: String?
    while !Task.isCancelled {
      var reason = "no station configured"
      for station in settings.stations {
        if Task.isCancelled { return }
        let outcome = await attempt(station)
        switch outcome {
        case .sessionEnded(let why, let productive):
          logger.warning(
            "link to \(station) lost: \(why)", metadata: ["station": "\(station)"])
          await delegate.uplinkLink(up: false, station: nil)
          lastReason = nil
          if productive { failures = 0 }
          reason = why
        case .failed(let why):
          reason = "\(station): \(why)"
          continue
        }
        break
      }
      if reason != lastReason {
        logger.warning("no station reachable: \(reason); retrying with backoff")
        lastReason = reason
      }
      let delay = backoff(failures)
      failures += 1
      await delegate.uplinkRetrying(reason: reason, after: delay)
      try? await Task.sleep(for: delay)
    }
  }

  /// The delay after `failures` failed rounds: initial × 2^failures, capped, times a random
  /// factor in [0.5, 1].
  func backoff(_ failures: Int) -> Duration {
    let base = settings.backoffInitial * (1 << min(failures, 20))
    let capped = min(base, settings.backoffMax)
    return capped * Double.random(in: 0.5...1.0)
  }

  enum Outcome {
    /// A session ran (welcome received) and ended; `productive` when it lasted or delivered.
    case sessionEnded(String, productive: Bool)
    case failed(String)
  }

  private func attempt(_ station: StationAddress) async -> Outcome {
    let channel: NIOAsyncChannel<WireMessage, WireMessage>
    do {
      channel = try await connect(station)
    } catch {
      return .failed(describe(error))
    }
    let session = Session(uplink: self, station: station)
    do {
      try await channel.executeThenClose { inbound, outbound in
        try await session.run(inbound: inbound, outbound: outbound)
      }
      return .sessionEnded("closed by the station", productive: session.wasProductive)
    } catch let error as SessionFailure {
      if session.welcomed {
        return .sessionEnded(error.description, productive: session.wasProductive)
      }
      return .failed(error.description)
    } catch {
      if session.welcomed {
        return .sessionEnded(describe(error), productive: session.wasProductive)
      }
      return .failed(describe(error))
    }
  }

  private func connect(_ station: StationAddress) async throws -> NIOAsyncChannel<
    WireMessage, WireMessage
  > {
    let tls = tls
    let traffic = traffic
    let bootstrap = ClientBootstrap(group: eventLoops)
      .connectTimeout(.milliseconds(Int64(settings.connectTimeout.milliseconds)))
      .channelOption(.socketOption(.so_keepalive), value: 0)
    let initializer:
      @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<WireMessage, WireMessage>> = {
        channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandlers([
            TrafficCounter(traffic: traffic), TLSOnceConnected(context: tls),
            ByteToMessageHandler(StreamFrameDecoder()),
            MessageToByteHandler(StreamFrameEncoder()),
          ])
          return try NIOAsyncChannel<WireMessage, WireMessage>(
            wrappingChannelSynchronously: channel)
        }
      }
    // An address given as an IP literal is dialled as it is: no name lookup (glibc's resolver
    // and its configuration files) and no racing of address families on each retry.
    if let address = try? SocketAddress(ipAddress: station.host, port: station.port) {
      return try await bootstrap.connect(to: address, channelInitializer: initializer)
    }
    return try await bootstrap.connect(
      host: station.host, port: station.port, channelInitializer: initializer)
  }

  func describe(_ error: any Error) -> String {
    if let error = error as? NIOSSLError { return "TLS: \(error)" }
    if let error = error as? BoringSSLError { return "TLS: \(error)" }
    if let error = error as? NIOConnectionError {
      // NIO's own text prints each failure by reflection ("SingleConnectionFailure(target:
      // [IPv4]127.0.0.1/127.0.0.1:9, error: connection reset (error set): …"), which is hard
      // to read and runs the runtime's reflection and demangler on every retry.
      if let lookup = error.dnsAError ?? error.dnsAAAAError {
        return "name lookup of \(error.host) failed: \(describe(lookup))"
      }
      let failures = error.connectionErrors
      if failures.isEmpty { return "\(error.host) has no address" }
      if failures.count == 1 { return describe(failures[0].error) }
      return failures.map { "\(Self.address($0.target)): \(describe($0.error))" }
        .joined(separator: "; ")
    }
    if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
    return "\(error)"
  }

  /// `ADDRESS:PORT`, IPv6 in brackets.
  static func address(_ target: SocketAddress) -> String {
    guard let ip = target.ipAddress, let port = target.port else { return "\(target)" }
    return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
  }
}

/// Bytes through the socket, both ways.
public final class Traffic: Sendable {
  private let counts = Mutex<(sent: UInt64, received: UInt64)>((0, 0))

  public init() {}

  public var sent: UInt64 { counts.withLock { $0.sent } }
  public var received: UInt64 { counts.withLock { $0.received } }

  func add(sent: Int = 0, received: Int = 0) {
    counts.withLock {
      $0.sent += UInt64(sent)
      $0.received += UInt64(received)
    }
  }
}

/// Counts the bytes the socket carries (below TLS).
final class TrafficCounter: ChannelDuplexHandler, Sendable {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer
  typealias OutboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer
  let traffic: Traffic

  init(traffic: Traffic) { self.traffic = traffic }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    traffic.add(received: unwrapInboundIn(data).readableBytes)
    context.fireChannelRead(data)
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    traffic.add(sent: unwrapOutboundIn(data).readableBytes)
    context.write(data, promise: promise)
  }
}

/// Why a session ended, said plainly.
struct SessionFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

extension Duration {
  var milliseconds: Int64 {
    let (seconds, attoseconds) = components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
  }
}

/// Puts the TLS client handler in its place once TCP is connected, and then leaves the pipeline.
///
/// A station that cannot be reached refuses or times out the connection on every retry, for as
/// long as the outage lasts; a handler made up front would set up and tear down a BoringSSL
/// connection each time, keeping its code resident in a box that has 16 MB for everything
/// (docs/benchmarks.md, "Agent footprint"). Nothing is written before the channel is active, so
/// the handshake still comes first.
final class TLSOnceConnected: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny

  private let context: NIOSSLContext

  init(context: NIOSSLContext) {
    self.context = context
  }

  func channelActive(context: ChannelHandlerContext) {
    do {
      let handler = try NIOSSLClientHandler(
        context: self.context, serverHostname: UplinkTLS.serverHostname)
      try context.pipeline.syncOperations.addHandler(handler, position: .after(self))
    } catch {
      context.fireErrorCaught(error)
      context.close(promise: nil)
      return
    }
    context.fireChannelActive()
    context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
  }
}
