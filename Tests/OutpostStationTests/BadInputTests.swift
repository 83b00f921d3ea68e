import Glibc
import NIOCore
import NIOPosix
import NIOSSL
import OutpostCA
import OutpostCore
import OutpostEnrollment
import OutpostTestKit
import OutpostUplink
import OutpostWire
import Testing

/// Bad input at a real station: each is refused or cut with a clear log line naming the peer,
/// and a well-behaved box on the same station does not notice.
@Suite(.serialized, .timeLimit(.minutes(3))) struct BadInputTests {
  static let config = """
    [link]
    hello_timeout_s = 5
    max_connections = 300

    """

  @Test func aBoxPresentingAnotherBoxsNameIsRefused() async throws {
    let station = try await StationProcess(config: Self.config)
    let bundleA = try await bundle(station, "box-a")
    _ = try await bundle(station, "box-b")
    try await RawBox.session(station.address, bundle: bundleA) { client in
      try await client.send(.hello(Self.hello(device: "box-b")))
      let reply = try await client.receive()
      guard case .error(let report) = reply else {
        Issue.record("expected an error, got \(String(describing: reply))")
        return
      }
      #expect(report.code == .unknownDevice)
      #expect(report.message.contains("certificate of \"box-a\" says it is \"box-b\""))
      #expect(try await client.receive() == nil, "the station closes the connection")
    }
    #expect(
      await station.eventually {
        (try FileBytes.readText(station.logPath)).contains(
          "refused box at [IPv4]127.0.0.1/127.0.0.1:")
      }, "\(station.log)")
    // box-b itself is unharmed.
    try await expectWorkingBox(station, "box-b")
  }

  @Test func aCertificateFromAnotherCAIsRefusedInTheHandshake() async throws {
    let station = try await StationProcess(config: Self.config)
    let genuine = try await bundle(station, "box-a")
    let elsewhere = TemporaryDirectory("foreign-ca")
    let foreign = try CertificateAuthority.initialize(
      directory: elsewhere.file("ca"), name: "Not our CA", stationNames: [])
    let forged = try foreign.issueDevice(name: "box-a")
    var bundle = genuine
    bundle.certificate = forged.certificatePEM
    bundle.privateKey = forged.privateKeyPEM
    let refused: Bool
    do {
      refused = try await RawBox.session(station.address, bundle: bundle) { client in
        try await client.send(.hello(Self.hello(device: "box-a")))
        return try await client.receive() == nil
      }
    } catch {
      refused = true
    }
    #expect(refused)
    #expect(
      await station.eventually {
        let log = try FileBytes.readText(station.logPath)
        return log.contains("TLS") && log.contains("127.0.0.1")
      }, "\(station.log)")
    try await expectWorkingBox(station, "box-a", bundle: genuine)
  }

  @Test func malformedAndOversizeFramesGetAnErrorAndACut() async throws {
    let station = try await StationProcess(config: Self.config)
    let bundleA = try await bundle(station, "box-a")
    for garbage: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF], [0x00], [0x03, 0x03, 0x00, 0x00]] {
      let sawError = try await RawBox.session(station.address, bundle: bundleA) { client in
        try await client.send(.hello(Self.hello(device: "box-a")))
        guard case .welcome = try await client.receive() else { return false }
        try await client.sendRaw(garbage)
        var sawError = false
        while let message = try await client.receive() {
          if case .error(let report) = message, report.code == .malformed { sawError = true }
        }
        return sawError
      }
      #expect(sawError, "no malformed error for \(garbage)")
    }
    #expect(station.log.contains("sent a malformed frame"), "\(station.log)")
    try await expectWorkingBox(station, "box-a", bundle: bundleA)
  }

  @Test func aClientThatSaysNothingIsCut() async throws {
    let station = try await StationProcess(config: Self.config)
    let started = monotonicMs()
    let closed = try await onOwnThread { () -> Bool in
      let fd = try connectTCP(station.address)
      defer { close(fd) }
      var timeout = timeval(tv_sec: 15, tv_usec: 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
      var byte: UInt8 = 0
      return read(fd, &byte, 1) == 0
    }
    #expect(closed, "the station did not cut a silent client")
    #expect(monotonicMs() - started < 14_000)
    _ = try await bundle(station, "box-a")
    try await expectWorkingBox(station, "box-a")
  }

  @Test func thousandsOfConnectionsAtOnceAreRefusedBeyondTheLimit() async throws {
    raiseFileLimit()
    let station = try await StationProcess(config: Self.config)
    let bundleA = try await bundle(station, "box-a")
    let sockets = try await onOwnThread { () -> [Int32] in
      var sockets: [Int32] = []
      for _ in 0..<600 {
        guard let fd = try? connectTCP(station.address) else { break }
        sockets.append(fd)
      }
      return sockets
    }
    defer { for fd in sockets { close(fd) } }
    #expect(sockets.count >= 400)
    #expect(
      await station.eventually {
        (try FileBytes.readText(station.logPath)).contains("connections are open")
      }, "\(station.log.suffix(2000))")
    // Once the silent ones are cut (hello timeout), a real box gets in.
    try await expectWorkingBox(station, "box-a", bundle: bundleA)
  }

  // MARK: Helpers

  static func hello(device: String, epoch: UInt64 = 0x5EED) -> Hello {
    Hello(
      device: device, capabilities: [], epoch: epoch, ackFloor: 0, nextSeq: 100, boot: 1,
      wallMs: 1_795_316_400_000)
  }

  func bundle(_ station: StationProcess, _ name: String) async throws -> EnrollmentBundle {
    let path = try await station.enroll(name)
    return try EnrollmentBundle.decode(try FileBytes.read(path), source: path)
  }

  /// A box that says hello, sends a batch and gets it acknowledged.
  func expectWorkingBox(
    _ station: StationProcess, _ name: String, bundle given: EnrollmentBundle? = nil
  ) async throws {
    let bundle: EnrollmentBundle
    if let given {
      bundle = given
    } else {
      let path = station.directory.file("\(name).json")
      bundle = try EnrollmentBundle.decode(try FileBytes.read(path), source: path)
    }
    var welcomed = false
    for _ in 0..<20 where !welcomed {
      let ack = try? await RawBox.session(station.address, bundle: bundle) {
        client -> WireMessage? in
        try await client.send(.hello(Self.hello(device: name)))
        guard case .welcome = try await client.receive() else { return nil }
        let record = Record(
          seq: 7, kind: .checkIn, priority: .normal,
          time: RecordTime(
            wallMs: 1_795_316_400_000, clockTrusted: true, boot: 1, sinceBootMs: 5),
          body: RecordBody.checkIn(who: "card-1", position: nil).encoded())
        try await client.send(.batch(Batch(epoch: 0x5EED, records: [WireRecord(record)])))
        return try await client.receive()
      }
      guard let ack else {
        try await Task.sleep(for: .milliseconds(500))
        continue
      }
      welcomed = true
      #expect(ack == .ack(Acknowledgement(epoch: 0x5EED, ranges: [7...7])), "\(station.log)")
    }
    #expect(welcomed, "\(name) could not get in:\n\(station.log.suffix(1500))")
  }
}

/// Raises the open-files limit to the hard limit, for tests that open many sockets.
func raiseFileLimit() {
  var limit = rlimit()
  getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
  limit.rlim_cur = limit.rlim_max
  setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

/// A plain TCP connection to `HOST:PORT` (blocking).
func connectTCP(_ address: String) throws -> Int32 {
  guard let parsed = StationAddress(address) else { throw TestSetupError("bad address \(address)") }
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw TestSetupError("socket: errno \(errno)") }
  var sin = sockaddr_in()
  sin.sin_family = sa_family_t(AF_INET)
  sin.sin_port = in_port_t(UInt16(parsed.port).bigEndian)
  inet_pton(AF_INET, parsed.host, &sin.sin_addr)
  let result = withUnsafePointer(to: &sin) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
    }
  }
  guard result == 0 else {
    close(fd)
    throw TestSetupError("connect: errno \(errno)")
  }
  return fd
}

/// A box speaking the wire protocol by hand over TLS with a bundle's certificate, able to send
/// raw bytes too. Used by one task at a time.
final class RawBox: @unchecked Sendable {
  private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
  private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
  private var received = ByteBuffer()
  private var receiving = WireSession()
  private var sending = WireSession()

  private init(
    inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
    outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
  ) {
    self.inbound = inbound
    self.outbound = outbound
  }

  /// Connects with the bundle's certificate, runs `body` with the connection, closes it.
  static func session<T>(
    _ address: String, bundle: EnrollmentBundle, _ body: (RawBox) async throws -> T
  ) async throws -> T {
    let channel = try await connect(address, bundle: bundle)
    var result: T?
    do {
      try await channel.executeThenClose { inbound, outbound in
        result = try await body(RawBox(inbound: inbound.makeAsyncIterator(), outbound: outbound))
      }
    } catch let error as ChannelError where error == .ioOnClosedChannel || error == .alreadyClosed {
      // The station closed first (as it does after an error): closing our end found it gone.
      guard let result else { throw error }
      return result
    }
    guard let result else { throw TestSetupError("the session ended without a result") }
    return result
  }

  private static func connect(_ address: String, bundle: EnrollmentBundle) async throws
    -> NIOAsyncChannel<ByteBuffer, ByteBuffer>
  {
    guard let parsed = StationAddress(address) else { throw TestSetupError("bad address") }
    let tls = try UplinkTLS.clientContext(bundle: bundle)
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connect(host: parsed.host, port: parsed.port) { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(
            try NIOSSLClientHandler(context: tls, serverHostname: UplinkTLS.serverHostname))
          return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    return channel
  }

  /// Sends one message, coded in this connection's session as a box codes it.
  func send(_ message: WireMessage) async throws {
    var buffer = ByteBuffer()
    try StreamFrame.write(message, into: &buffer, session: &sending)
    try await outbound.write(buffer)
  }

  func sendRaw(_ bytes: [UInt8]) async throws {
    try await outbound.write(ByteBuffer(bytes: bytes))
  }

  /// The next message, or nil when the station closed the connection (10 s at most).
  func receive() async throws -> WireMessage? {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
      if let message = try StreamFrame.decode(from: &received, session: &receiving) {
        return message
      }
      do {
        guard var chunk = try await inbound.next() else { return nil }
        received.writeBuffer(&chunk)
      } catch {
        return nil
      }
    }
    return nil
  }
}
