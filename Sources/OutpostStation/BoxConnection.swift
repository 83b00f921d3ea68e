import Logging
import NIOCore
import NIOSSL
import OutpostCA
import OutpostCore
import OutpostStore
import OutpostWire

/// One box's connection, from the TLS handshake to the close: identify the box by its
/// certificate, check it against the registry (revoked, replaced, another box's name), answer
/// its hello with what the store already holds, then store its batches and acknowledge each
/// once committed, answer pings, and pass downlink messages to it.
struct BoxConnection {
  let core: StationCore
  let channel: NIOAsyncChannel<WireMessage, WireMessage>
  let peer: String

  enum Event: Sendable {
    case message(WireMessage)
    case closed((any Error)?)
    case committed(epoch: UInt64, ranges: [ClosedRange<UInt64>])
    case storeFailed(String)
    case downlink(WireMessage)
  }

  /// A refusal: the error sent to the box and the line logged.
  struct Refusal: Error {
    var code: ErrorCode
    var message: String
  }

  func run() async {
    var logger = core.logger
    logger[metadataKey: "peer"] = "\(peer)"
    // A client that connects and says nothing (no handshake, no hello) is cut.
    let channel = channel.channel
    let helloDeadline = channel.eventLoop.scheduleTask(
      in: .seconds(Int64(core.configuration.link.helloTimeoutSeconds))
    ) {
      channel.close(promise: nil)
    }
    do {
      try await self.channel.executeThenClose { inbound, outbound in
        var messages = inbound.makeAsyncIterator()
        guard let first = try await messages.next() else {
          logger.info("connection from \(peer) closed before hello")
          return
        }
        helloDeadline.cancel()
        let device: Device
        let hello: Hello
        do {
          (device, hello) = try await admit(first)
        } catch let refusal as Refusal {
          logger.warning("refused box at \(peer): \(refusal.message)")
          try? await outbound.write(
            .error(ErrorReport(code: refusal.code, message: String(refusal.message.prefix(200)))))
          return
        }
        logger[metadataKey: "device"] = "\(device.name)"
        try await serve(
          device: device, hello: hello, messages: &messages, outbound: outbound, logger: logger)
      }
    } catch {
      helloDeadline.cancel()
      logger.info("connection from \(peer) ended: \(describe(error))")
    }
  }

  /// Checks the hello against the certificate and the registry.
  private func admit(_ first: WireMessage) async throws -> (Device, Hello) {
    guard case .hello(let hello) = first else {
      throw Refusal(code: .unexpectedMessage, message: "\(first.type) before hello")
    }
    let certificate = try await channel.channel.nioSSL_peerCertificate().get()
    guard let certificate else {
      throw Refusal(code: .unknownDevice, message: "no client certificate")
    }
    let identity: PeerIdentity
    do {
      identity = try CertificateAuthority.identify(certificateDER: try certificate.toDERBytes())
    } catch {
      throw Refusal(code: .unknownDevice, message: "unreadable client certificate: \(error)")
    }
    guard hello.device == identity.commonName else {
      throw Refusal(
        code: .unknownDevice,
        message:
          "certificate of \"\(identity.commonName)\" says it is \"\(hello.device)\" in its hello")
    }
    guard let device = try await core.store.device(named: identity.commonName) else {
      throw Refusal(code: .unknownDevice, message: "no device \"\(identity.commonName)\" enrolled")
    }
    guard !device.isRevoked else {
      throw Refusal(code: .revoked, message: "device \"\(device.name)\" is revoked")
    }
    guard device.registration.certificateSerial == identity.serial else {
      throw Refusal(
        code: .revoked,
        message: "certificate \(identity.serial) of \"\(device.name)\" was replaced or revoked")
    }
    guard ProtocolVersion.supported.overlaps(hello.versions) else {
      throw Refusal(
        code: .unsupportedVersion,
        message:
          "no common protocol version: the box speaks \(hello.versions.lowerBound)–\(hello.versions.upperBound), the station \(ProtocolVersion.supported.lowerBound)–\(ProtocolVersion.supported.upperBound)"
      )
    }
    return (device, hello)
  }

  private func serve(
    device: Device, hello: Hello,
    messages: inout NIOAsyncChannelInboundStream<WireMessage>.AsyncIterator,
    outbound: NIOAsyncChannelOutboundWriter<WireMessage>, logger: Logger
  ) async throws {
    let stored = try await core.store.storedRanges(
      deviceID: device.id, epoch: hello.epoch, from: hello.ackFloor, limit: WireLimits.maxRanges)
    let link = core.configuration.link
    try await outbound.write(
      .welcome(
        Welcome(
          version: min(ProtocolVersion.supported.upperBound, hello.versions.upperBound),
          stationTimeMs: wallClockMs(), stored: stored, window: UInt32(link.window),
          maxRecordsPerBatch: UInt32(link.recordsPerBatch),
          pingIntervalSeconds: UInt32(link.pingIntervalSeconds))))
    let (events, sink) = AsyncStream<Event>.makeStream()
    let (downlink, downlinkSink) = AsyncStream<WireMessage>.makeStream()
    let channel = channel.channel
    let connection = await core.links.register(
      deviceID: device.id, name: device.name, downlink: downlinkSink,
      close: { channel.close(promise: nil) })
    logger.notice(
      "box \(device.name) connected from \(peer): epoch \(String(hello.epoch, radix: 16)), next seq \(hello.nextSeq), ack floor \(hello.ackFloor)"
    )
    await core.linkChanged(device: device, up: true)
    defer {
      sink.finish()
      downlinkSink.finish()
    }
    let iterator = SendableIterator(messages)
    var lastSeenRecorded = ContinuousClock.now
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        do {
          while let message = try await iterator.next() { sink.yield(.message(message)) }
          sink.yield(.closed(nil))
        } catch {
          sink.yield(.closed(error))
        }
      }
      group.addTask {
        for await message in downlink { sink.yield(.downlink(message)) }
      }
      group.addTask { await core.notifyBox(device.id) }
      loop: for await event in events {
        switch event {
        case .message(.batch(let batch)):
          let records = batch.records.map(\.record)
          let ranges = Self.ranges(records.map(\.seq))
          let ingest = IngestBatch(deviceID: device.id, epoch: batch.epoch, records: records)
          group.addTask {
            do {
              try await core.ingestor.submit(ingest)
              sink.yield(.committed(epoch: batch.epoch, ranges: ranges))
            } catch {
              sink.yield(.storeFailed("\(error)"))
            }
          }
        case .message(.ping(let nonce)):
          try await outbound.write(.pong(nonce: nonce))
          // An idle box is heard from only by its pings: they keep its last-seen time (and so
          // the offline timer) current, at most once a minute.
          if ContinuousClock.now - lastSeenRecorded >= .seconds(60) {
            lastSeenRecorded = .now
            await core.linkChanged(device: device, up: true)
          }
        case .message(.pong), .message(.skipped):
          break
        case .message(.error(let report)):
          logger.warning("box \(device.name) reported: \(report)")
        case .message(let other):
          logger.warning("box \(device.name) sent \(other.type) after hello; closing")
          try? await outbound.write(
            .error(
              ErrorReport(code: .unexpectedMessage, message: "\(other.type) is not expected here")))
          break loop
        case .committed(let epoch, let ranges):
          try await outbound.write(.ack(Acknowledgement(epoch: epoch, ranges: ranges)))
        case .storeFailed(let why):
          // Nothing of the batch was stored and nothing is acknowledged: the box keeps its
          // records and resends them on its next connection.
          try? await outbound.write(
            .error(
              ErrorReport(
                code: .busy, message: String("the station cannot store now: \(why)".prefix(200)))))
          break loop
        case .downlink(let message):
          try await outbound.write(message)
          await core.downlinkWritten(message, deviceID: device.id)
        case .closed(let error):
          if let error = error as? WireError {
            // A byte stream cannot be resynchronised: say what was wrong, then close.
            logger.warning("box \(device.name) at \(peer) sent a malformed frame: \(error)")
            try? await outbound.write(
              .error(
                ErrorReport(
                  code: .malformed, message: String("\(error)".prefix(200)),
                  offset: UInt64(error.offset))))
          } else if let error {
            logger.info("box \(device.name) at \(peer): \(describe(error))")
          } else {
            logger.info("box \(device.name) at \(peer) closed the connection")
          }
          break loop
        }
      }
      group.cancelAll()
      channel.close(promise: nil)
    }
    if await core.links.unregister(deviceID: device.id, connection: connection) {
      await core.linkChanged(device: device, up: false)
    }
  }

  /// Ascending sequence numbers as ranges that neither overlap nor touch.
  static func ranges(_ seqs: [UInt64]) -> [ClosedRange<UInt64>] {
    var result: [ClosedRange<UInt64>] = []
    for seq in seqs.sorted() {
      if let last = result.last, last.upperBound != .max, seq <= last.upperBound + 1 {
        result[result.count - 1] = last.lowerBound...max(last.upperBound, seq)
      } else {
        result.append(seq...seq)
      }
    }
    return result
  }

  private func describe(_ error: any Error) -> String {
    if let error = error as? WireError { return "malformed frame: \(error)" }
    if let error = error as? NIOSSLError { return "TLS: \(error)" }
    if let error = error as? BoringSSLError { return "TLS: \(error)" }
    return "\(error)"
  }
}

/// The inbound iterator, handed from the connection's task to the child task that drains it
/// (only that task uses it from then on).
final class SendableIterator: @unchecked Sendable {
  private var iterator: NIOAsyncChannelInboundStream<WireMessage>.AsyncIterator

  init(_ iterator: NIOAsyncChannelInboundStream<WireMessage>.AsyncIterator) {
    self.iterator = iterator
  }

  func next() async throws -> WireMessage? { try await iterator.next() }
}
