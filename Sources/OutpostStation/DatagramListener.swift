import Logging
import NIOCore
import NIOPosix
import OutpostEnrollment
import OutpostStore
import OutpostWire
import ServiceLifecycle

/// Where boxes send datagrams (the datagram form of the protocol, for links where TLS is too
/// heavy): UDP on the `[datagram] listen` addresses, on sockets systemd passed in, or, by
/// default, on the addresses and ports the TLS listener bound.
///
/// Each socket's datagrams are opened one after the other (``DatagramReceiver``), so a flood
/// costs at most one store look-up at a time and the rest waits in the kernel's buffer, which
/// drops what does not fit. A batch goes through the same ingest queue as batches over TLS
/// (group commit, incidents, neighbour fan-out, events); only once its transaction committed
/// is the sender answered with an `ack` datagram, sealed with the station → box key under a
/// counter of the station's own (``DownlinkCounters``). A ping gets a pong. A refused datagram
/// gets no answer at all (nothing for a forger to learn, no traffic to amplify), changes
/// nothing, and is logged once, rate-limited per source (``RefusalLog``).
final class DatagramListener: Service {
  typealias Socket = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

  let core: StationCore
  let eventLoops: any EventLoopGroup
  /// Datagram sockets from systemd (socket activation); used instead of binding when present.
  let inheritedSockets: [Int32]
  /// Where to bind; empty: the TLS listener's addresses (``follow(_:)``).
  let addresses: [StationAddress]
  let listening: @Sendable ([String]) -> Void
  let receiver: DatagramReceiver
  let counters: DownlinkCounters
  let refusals: RefusalLog
  /// `error` messages from boxes are authenticated, but a broken box could still send a flood.
  let reports = RefusalLog()
  private let followed = AsyncStream<[SocketAddress]>.makeStream()

  init(
    core: StationCore, eventLoops: any EventLoopGroup, inheritedSockets: [Int32],
    addresses: [StationAddress], refusals: RefusalLog = RefusalLog(),
    listening: @escaping @Sendable ([String]) -> Void
  ) {
    self.core = core
    self.eventLoops = eventLoops
    self.inheritedSockets = inheritedSockets
    self.addresses = addresses
    self.refusals = refusals
    self.listening = listening
    receiver = DatagramReceiver(store: core.store)
    counters = DownlinkCounters(store: core.store)
  }

  /// The TLS listener bound `addresses`: without addresses of its own, this listener binds the
  /// same ones (UDP and TCP ports are separate, so the numbers can be shared).
  func follow(_ addresses: [SocketAddress]) {
    followed.continuation.yield(addresses)
    followed.continuation.finish()
  }

  func run() async throws {
    try await withGracefulShutdownHandler {
      let sockets = try await bind()
      guard !sockets.isEmpty else { return }
      let bound = sockets.compactMap { $0.channel.localAddress.map { "\($0)" } }
      core.logger.notice(
        "receiving datagrams on \(bound.joined(separator: ", "))\(inheritedSockets.isEmpty ? "" : " (from systemd)")"
      )
      listening(bound)
      await withDiscardingTaskGroup { group in
        for socket in sockets {
          group.addTask { await self.serve(socket) }
        }
      }
    } onGracefulShutdown: {
      // Before binding: stop waiting for the TLS listener; after: the sockets close when
      // their `serve` sees the shutdown.
      self.followed.continuation.finish()
    }
  }

  /// Binds the sockets; none when the station shut down before the TLS listener bound.
  private func bind() async throws -> [Socket] {
    var sockets: [Socket] = []
    if !inheritedSockets.isEmpty {
      for socket in inheritedSockets {
        sockets.append(
          try await bootstrap().withBoundSocket(socket) { channel in self.prepare(channel) })
      }
      return sockets
    }
    var targets: [SocketAddress] = []
    if addresses.isEmpty {
      var iterator = followed.stream.makeAsyncIterator()
      guard let bound = await iterator.next() else { return [] }
      targets = bound
    } else {
      for address in addresses {
        do {
          targets.append(
            try SocketAddress.makeAddressResolvingHost(address.host, port: address.port))
        } catch {
          throw StationError("cannot receive datagrams on \(address): \(error)")
        }
      }
    }
    for target in targets {
      do {
        sockets.append(
          try await bootstrap().bind(to: target) { channel in self.prepare(channel) })
      } catch {
        for socket in sockets { try? await socket.channel.close() }
        throw StationError("cannot receive datagrams on \(target): \(error)")
      }
    }
    return sockets
  }

  private func bootstrap() -> DatagramBootstrap {
    // No SO_REUSEADDR: on UDP it would let a second process bind the same port and take a
    // share of the boxes' datagrams.
    DatagramBootstrap(group: eventLoops)
      .channelOption(
        .recvAllocator,
        value: FixedSizeRecvByteBufferAllocator(capacity: WireLimits.maxDatagramLength * 2))
  }

  private func prepare(_ channel: any Channel) -> EventLoopFuture<Socket> {
    let logger = core.logger
    return channel.eventLoop.makeCompletedFuture {
      try channel.pipeline.syncOperations.addHandler(DatagramErrorFilter(logger: logger))
      return try Socket(wrappingChannelSynchronously: channel)
    }
  }

  /// Receives on one socket until the station shuts down.
  private func serve(_ socket: Socket) async {
    let channel = socket.channel
    let name = channel.localAddress.map { "\($0)" } ?? "a datagram socket"
    try? await withGracefulShutdownHandler {
      try await socket.executeThenClose { inbound, outbound in
        await withDiscardingTaskGroup { group in
          do {
            for try await envelope in inbound {
              await self.receive(envelope, outbound: outbound, group: &group)
            }
          } catch {
            self.core.logger.error("receiving datagrams on \(name) failed: \(error)")
          }
        }
      }
    } onGracefulShutdown: {
      channel.close(promise: nil)
    }
  }

  /// Opens one datagram and starts what it asks for; refusals are logged here.
  private func receive(
    _ envelope: AddressedEnvelope<ByteBuffer>,
    outbound: NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>,
    group: inout DiscardingTaskGroup
  ) async {
    let peer = envelope.remoteAddress
    let accepted: AcceptedDatagram
    do {
      accepted = try await receiver.open(envelope.data)
    } catch {
      refuse(error, from: peer)
      return
    }
    let reply = Reply(counters: counters, outbound: outbound, peer: peer, logger: core.logger)
    switch accepted.message {
    case .batch(let batch):
      group.addTask { await self.ingest(batch, of: accepted, reply: reply) }
    case .ping(let nonce):
      group.addTask {
        // Answered only once a replay of it would be refused after a restart too.
        guard await self.saveWindow(of: accepted) else { return }
        await reply.send(.pong(nonce: nonce), answering: accepted)
      }
    case .error(let report):
      if let leftOut = reports.admit(source: "\(peer)") {
        let more = leftOut > 0 ? " (\(leftOut) more reports were not logged)" : ""
        core.logger.warning(
          "box \(accepted.deviceName) at \(peer) reported by datagram: \(report)\(more)",
          metadata: ["peer": "\(peer)", "device": "\(accepted.deviceName)"])
      }
      group.addTask { await self.saveWindow(of: accepted) }
    default:
      group.addTask { await self.saveWindow(of: accepted) }
    }
  }

  /// Stores the batch with the moved replay window, then acknowledges it to the sender.
  private func ingest(_ batch: Batch, of accepted: AcceptedDatagram, reply: Reply) async {
    let records = batch.records.map(\.record)
    let ranges = BoxConnection.ranges(records.map(\.seq))
    do {
      try await core.ingestor.submit(
        IngestBatch(
          deviceID: accepted.key.deviceID, epoch: batch.epoch, records: records,
          datagramWindow: accepted.window))
    } catch {
      // Nothing of it was stored, nothing is acknowledged: the box sends the records again,
      // under a new counter.
      core.logger.warning(
        "datagram batch from box \(accepted.deviceName) at \(reply.peer) not stored: \(error)")
      return
    }
    core.logger.debug(
      "datagram from box \(accepted.deviceName) at \(reply.peer): \(records.count) records of epoch \(String(batch.epoch, radix: 16)) stored, counter \(accepted.header.counter)"
    )
    await reply.send(.ack(Acknowledgement(epoch: batch.epoch, ranges: ranges)), answering: accepted)
  }

  /// Saves the window a datagram without a batch moved; false when the store failed.
  @discardableResult
  private func saveWindow(of accepted: AcceptedDatagram) async -> Bool {
    do {
      try await core.store.saveDatagramWindow(accepted.window)
      return true
    } catch {
      core.logger.error(
        "could not save the datagram window of box \(accepted.deviceName): \(error)")
      return false
    }
  }

  private func refuse(_ refusal: DatagramRefusal, from peer: SocketAddress) {
    guard let leftOut = refusals.admit(source: "\(peer)") else { return }
    let device = refusal.device.map { "device \($0)" } ?? "device unknown"
    let more = leftOut > 0 ? " (\(leftOut) more refused datagrams were not logged)" : ""
    var metadata: Logger.Metadata = ["peer": "\(peer)", "error": "\(refusal.code)"]
    if let number = refusal.device { metadata["device_number"] = "\(number)" }
    core.logger.warning(
      "refused datagram from \(peer), \(device): \(refusal)\(more)", metadata: metadata)
  }
}

/// Answers one accepted datagram: seals a message under the same key, the station → box
/// direction and the next counter, and sends it to the address the datagram came from.
struct Reply: Sendable {
  let counters: DownlinkCounters
  let outbound: NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>
  let peer: SocketAddress
  let logger: Logger

  func send(_ message: WireMessage, answering accepted: AcceptedDatagram) async {
    do {
      guard
        let counter = try await counters.next(
          deviceID: accepted.key.deviceID, keyIndex: accepted.header.keyIndex)
      else {
        logger.notice("box \(accepted.deviceName) lost its datagram key before it was answered")
        return
      }
      let header = DatagramHeader(
        direction: .downlink, device: accepted.header.device,
        keyIndex: accepted.header.keyIndex, counter: counter)
      let sealed = try Datagram.seal(message, header: header, keys: accepted.keys)
      try await outbound.write(AddressedEnvelope(remoteAddress: peer, data: sealed))
    } catch {
      logger.error(
        "could not answer box \(accepted.deviceName) at \(peer) by datagram: \(error)")
    }
  }
}

/// Keeps a datagram socket's errors (an ICMP port-unreachable for an earlier answer, say) from
/// ending the listener: they are logged at debug level and go no further.
final class DatagramErrorFilter: ChannelInboundHandler, Sendable {
  typealias InboundIn = AddressedEnvelope<ByteBuffer>
  typealias InboundOut = AddressedEnvelope<ByteBuffer>

  let logger: Logger

  init(logger: Logger) { self.logger = logger }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    logger.debug("datagram socket: \(error)")
  }
}
