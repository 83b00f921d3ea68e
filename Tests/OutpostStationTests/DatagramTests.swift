import Glibc
import OutpostCore
import OutpostEnrollment
import OutpostTestKit
import OutpostWire
import Testing

/// The datagram form at a real station: UDP on the TLS listener's port, keys from the bundles
/// `device add` writes, replay windows that outlive a restart, and bad datagrams refused with
/// one log line each while a box on TLS does not notice.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DatagramTests {
  static let epoch: UInt64 = 0xE90C_4A11_0000_0001
  static let sos = boxRecord(
    1,
    .sos(
      presses: 1,
      position: Position(latitudeE7: 479_180_000, longitudeE7: 1_069_170_000, satellites: 8)))

  @Test func aSealedSOSIsStoredOnceOpensAnIncidentAndIsAcknowledgedByDatagram() async throws {
    let station = try await StationProcess()
    let bundle = try await enrolledBundle(station, "yurt-1")
    let box = try DatagramBox(station: station.address, bundle: bundle)
    let sos = try box.seal(wireBatch(Self.epoch, Self.sos), counter: 1)
    #expect(sos.count <= 64, "an SOS with a position fits a satellite short message")
    try box.send(sos)
    let answer = try #require(await box.receive(), "no answer to the SOS:\n\(station.log)")
    let (header, ack) = try box.open(answer)
    #expect(header.direction == .downlink)
    #expect(header.device == bundle.deviceNumber && header.keyIndex == 0)
    #expect(ack == .ack(Acknowledgement(epoch: Self.epoch, ranges: [1...1])))
    #expect(try await kinds(station, "yurt-1") == ["sos"])
    let incidents = try await station.command(["incidents", "--json"])
    let incident = JSONValue(parsing: incidents.lines.first ?? "")
    #expect(incident?["kind"]?.string == "sos", "\(incidents.output)")
    #expect(incident?["state"]?.string == "open")
    #expect(incident?["device"]?.string == "yurt-1")

    // The same datagram again: refused, named in the log, not answered, nothing stored.
    try box.send(sos)
    #expect(try await box.receive(seconds: 2) == nil, "a replay was answered")
    #expect(
      await station.eventually {
        try FileBytes.readText(station.logPath).contains(
          "device \(bundle.deviceNumber): replayed: frame counter 1 was already accepted")
      }, "\(station.log)")
    #expect(station.log.contains("refused datagram from [IPv4]127.0.0.1/127.0.0.1:"))

    // After a restart the window is still there.
    #expect(await station.stop() == .exited(0), "\(station.log)")
    try await station.restart()
    try box.send(sos)
    #expect(try await box.receive(seconds: 2) == nil, "a replay after a restart was answered")
    #expect(
      await station.eventually {
        try FileBytes.readText(station.logPath).contains(
          "device \(bundle.deviceNumber): replayed")
      }, "\(station.log)")
    #expect(try await kinds(station, "yurt-1") == ["sos"])

    // The station now knows the epoch, so the box may imply it; the answer's counter is one
    // the station never used before its restart.
    let checkIn = try box.seal(
      wireBatch(Self.epoch, boxRecord(2, .checkIn(who: "card-7", position: nil))), counter: 2,
      impliedEpoch: Self.epoch)
    try box.send(checkIn)
    let second = try #require(await box.receive(), "no answer to the check-in:\n\(station.log)")
    let (secondHeader, secondAck) = try box.open(second)
    #expect(secondAck == .ack(Acknowledgement(epoch: Self.epoch, ranges: [2...2])))
    #expect(secondHeader.counter > header.counter)
    #expect(try await kinds(station, "yurt-1").sorted() == ["check-in", "sos"])
    let all = try await station.command(["incidents", "--all", "--json"])
    #expect(all.lines.count == 1, "one incident: \(all.output)")
    #expect(await station.stop() == .exited(0))
  }

  @Test func anSOSByDatagramAlertsTheNeighboursConnectedOverTLS() async throws {
    let station = try await StationProcess()
    let neighbour = try await enrolledBundle(station, "yurt-n")
    let sender = try await enrolledBundle(station, "yurt-s", ["--household", "Batbayar"])
    let linked = try await station.command(["device", "neighbours", "yurt-s", "yurt-n"])
    #expect(linked.ending == .exited(0), "\(linked.errorOutput)")
    try await RawBox.session(station.address, bundle: neighbour) { tcp in
      try await tcp.send(.hello(BadInputTests.hello(device: "yurt-n")))
      guard case .welcome = try await tcp.receive() else {
        Issue.record("yurt-n was not welcomed:\n\(station.log)")
        return
      }
      let box = try DatagramBox(station: station.address, bundle: sender)
      try box.send(try box.seal(wireBatch(Self.epoch, Self.sos), counter: 1))
      let answer = try #require(await box.receive(), "no answer:\n\(station.log)")
      #expect(try box.open(answer).1 == .ack(Acknowledgement(epoch: Self.epoch, ranges: [1...1])))
      guard case .neighbourAlert(let alert)? = try await tcp.receive() else {
        Issue.record("no neighbour alert:\n\(station.log)")
        return
      }
      #expect(alert.household == "Batbayar" && alert.kind == .sos)
      #expect(alert.position?.latitudeE7 == 479_180_000)
    }
    #expect(station.log.contains("SOS from yurt-s (Batbayar) opened incident 1"), "\(station.log)")
  }

  @Test func badDatagramsAreRefusedWithTheirErrorWhileABoxOnTLSKeepsWorking() async throws {
    let station = try await StationProcess(config: BadInputTests.config)
    let tcpBundle = try await enrolledBundle(station, "box-tcp")
    let udpBundle = try await enrolledBundle(station, "box-udp")
    let goneBundle = try await enrolledBundle(station, "box-gone")
    let revoked = try await station.command(["device", "revoke", "box-gone"])
    #expect(revoked.ending == .exited(0), "\(revoked.errorOutput)")
    let udp = udpBundle.deviceNumber
    let address = station.address
    let reading = boxRecord(10, .sensorReading(sensor: "temp1", milliValue: 21_500))

    try await RawBox.session(address, bundle: tcpBundle) { tcp in
      try await tcp.send(.hello(BadInputTests.hello(device: "box-tcp")))
      guard case .welcome = try await tcp.receive() else {
        Issue.record("box-tcp was not welcomed:\n\(station.log)")
        return
      }

      /// Sends `bytes` from a socket of its own; expects no answer and the log line.
      func expectRefused(_ what: String, _ bytes: [UInt8], _ line: String) async throws {
        let sender = try DatagramBox(station: address, bundle: udpBundle)
        try sender.send(bytes)
        #expect(try await sender.receive(seconds: 1) == nil, "\(what) was answered")
        #expect(
          await station.eventually { try FileBytes.readText(station.logPath).contains(line) },
          "\(what): no line \"\(line)\" in\n\(station.log)")
      }
      let box = try DatagramBox(station: address, bundle: udpBundle)
      let forger = try DatagramBox(
        station: address, device: udp, secret: Array(repeating: 0x42, count: 32))
      let stranger = try DatagramBox(
        station: address, device: 999, secret: try #require(udpBundle.datagramKeys[0].bytes))
      let gone = try DatagramBox(station: address, bundle: goneBundle)

      try await expectRefused(
        "garbage", Array(repeating: 0xFF, count: 30),
        "device unknown: unsupported-datagram-form: 0xFF is not a datagram form")
      try await expectRefused(
        "a runt", [0xD1, 0x01, 0x00], "device unknown: datagram-length: datagram is 3 bytes")
      try await expectRefused(
        "an unknown device", try stranger.seal(wireBatch(Self.epoch, reading), counter: 1),
        "device 999: unknown-key: no datagram key 0 for device 999 at byte 3")
      try await expectRefused(
        "a revoked device", try gone.seal(wireBatch(Self.epoch, reading), counter: 1),
        "device \(goneBundle.deviceNumber): unknown-key")
      try await expectRefused(
        "an implied epoch the station does not know",
        try box.seal(wireBatch(Self.epoch, reading), counter: 1, impliedEpoch: Self.epoch),
        "device \(udp): epoch-unknown")
      try await expectRefused(
        "a forged datagram", try forger.seal(wireBatch(Self.epoch, reading), counter: 1),
        "device \(udp): authentication-failed")
      var altered = try box.seal(wireBatch(Self.epoch, reading), counter: 1)
      altered[8] ^= 0x01
      try await expectRefused(
        "an altered datagram", altered, "device \(udp): authentication-failed")
      try await expectRefused(
        "a datagram for the box", try box.seal(.ping(nonce: 1), counter: 1, direction: .downlink),
        "device \(udp): unsupported-datagram-form")

      // A good one moves the window to 200.
      let good = try box.seal(wireBatch(Self.epoch, reading), counter: 200)
      try box.send(good)
      let answer = try #require(await box.receive(), "no ack:\n\(station.log)")
      #expect(try box.open(answer).1 == .ack(Acknowledgement(epoch: Self.epoch, ranges: [10...10])))

      try await expectRefused(
        "a replay", good, "device \(udp): replayed: frame counter 200 was already accepted")
      try await expectRefused(
        "a counter below the window",
        try box.seal(wireBatch(Self.epoch, boxRecord(11, .sosCancel)), counter: 100),
        "device \(udp): too-old: frame counter 100 is below the replay window")
      try await expectRefused(
        "a counter far ahead",
        try box.seal(
          wireBatch(Self.epoch, boxRecord(11, .sosCancel)), counter: 200 + (1 << 20) + 1),
        "device \(udp): far-future")
      try await expectRefused(
        "a hello", try box.seal(plaintext: [0x01], counter: 201),
        "device \(udp): message-not-allowed")
      try await expectRefused(
        "an ack from a box",
        try box.seal(.ack(Acknowledgement(epoch: 1, ranges: [1...1])), counter: 202),
        "device \(udp): unexpected-message")

      // The box on TLS noticed nothing.
      let record = boxRecord(7, .checkIn(who: "card-1", position: nil))
      try await tcp.send(.batch(Batch(epoch: 0x5EED, records: [WireRecord(record)])))
      #expect(
        try await tcp.receive() == .ack(Acknowledgement(epoch: 0x5EED, ranges: [7...7])),
        "\(station.log)")
    }
    // Only the one good datagram's record was stored; no incident was opened.
    #expect(try await kinds(station, "box-udp") == ["sensor-reading"])
    #expect(try await kinds(station, "box-gone") == [])
    let incidents = try await station.command(["incidents", "--all", "--json"])
    #expect(incidents.lines.isEmpty, "\(incidents.output)")
  }

  @Test func aFloodOfBadDatagramsLogsAFewLines() async throws {
    let station = try await StationProcess()
    let bundle = try await enrolledBundle(station, "box-f")
    let box = try DatagramBox(station: station.address, bundle: bundle)
    for _ in 0..<300 { try box.send(Array(repeating: 0xFF, count: 40)) }
    // One socket's datagrams are taken in order: once a good one is answered, the flood before
    // it was handled (or dropped by the kernel, which is fine). The good one may be dropped
    // too, so it is sent until answered.
    var answered = false
    for counter in 1...20 where !answered {
      try box.send(
        try box.seal(
          wireBatch(0xF100D, boxRecord(UInt64(counter), .checkIn(who: nil, position: nil))),
          counter: UInt64(counter)))
      answered = try await box.receive(seconds: 2) != nil
    }
    #expect(answered, "\(station.log.suffix(2000))")
    let lines = station.log.split(separator: "\n").filter { $0.contains("refused datagram from") }
    // Five lines a source each ten seconds; two windows at most on a slow machine.
    #expect(
      !lines.isEmpty && lines.count <= 10, "\(lines.count) lines:\n\(lines.joined(separator: "\n"))"
    )
    #expect(await station.stop() == .exited(0))
  }

  @Test func datagramsOnAnAddressOfTheirOwnOrNone() async throws {
    let port = try freeUDPPort()
    let own = try await StationProcess(config: "[datagram]\nlisten = [\"127.0.0.1:\(port)\"]\n")
    let ready = await own.waitForNotification(containing: "READY=1") ?? ""
    #expect(ready.contains("datagrams on [IPv4]127.0.0.1/127.0.0.1:\(port)"), "\(ready)")
    let bundle = try await enrolledBundle(own, "box-o")
    let box = try DatagramBox(station: "127.0.0.1:\(port)", bundle: bundle)
    try box.send(try box.seal(.ping(nonce: 77), counter: 1))
    let pong = try #require(await box.receive(), "\(own.log)")
    #expect(try box.open(pong).1 == .pong(nonce: 77))

    let none = try await StationProcess(config: "[datagram]\nenabled = false\n")
    let quiet = await none.waitForNotification(containing: "READY=1") ?? ""
    #expect(!quiet.contains("datagrams"), "\(quiet)")
    #expect(!none.log.contains("receiving datagrams"))
  }

  // MARK: Helpers

  /// The kinds of the records stored for `device`, newest first.
  func kinds(_ station: StationProcess, _ device: String) async throws -> [String] {
    let events = try await station.command(["events", "--device", device, "--json"])
    return events.lines.compactMap { JSONValue(parsing: $0)?["kind"]?.string }
  }
}

/// Enrolls `name` at `station` and reads the bundle `device add` wrote.
///
/// Not inlined: inlined into the tests' async functions it crashed the optimiser of Swift
/// 6.3.1 (LLVM's coroutine splitting, on the error value).
@inline(never)
func enrolledBundle(_ station: StationProcess, _ name: String, _ options: [String] = [])
  async throws -> EnrollmentBundle
{
  let path = try await station.enroll(name, options)
  return try EnrollmentBundle.decode(try FileBytes.read(path), source: path)
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort() throws -> Int {
  let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
  guard fd >= 0 else { throw TestSetupError("socket: errno \(errno)") }
  defer { close(fd) }
  var sin = sockaddr_in()
  sin.sin_family = sa_family_t(AF_INET)
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr)
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let bound = withUnsafeMutablePointer(to: &sin) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
    }
  }
  guard bound else { throw TestSetupError("bind: errno \(errno)") }
  return Int(UInt16(bigEndian: sin.sin_port))
}
