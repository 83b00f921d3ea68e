import Glibc
import NIOCore
import OutpostCore
import OutpostEnrollment
import OutpostTestKit
import OutpostWire

/// A box speaking the datagram form by hand, built on the OutpostWire codec: it seals messages
/// with a bundle's key (or any key, to forge), sends them from a UDP socket of its own on
/// loopback connected to the station, and opens the station's answers with the station → box
/// key. Used by one task at a time.
final class DatagramBox: @unchecked Sendable {
  let device: UInt32
  let keys: DatagramKeys
  private let fd: Int32
  /// The station → box counters seen, as a box keeps them.
  private var window = ReplayWindow()

  /// A box with the bundle's device number and first datagram key.
  convenience init(station: String, bundle: EnrollmentBundle) throws {
    guard let secret = bundle.datagramKeys.first?.bytes else {
      throw TestSetupError("the bundle of \(bundle.device) has no datagram key")
    }
    try self.init(station: station, device: bundle.deviceNumber, secret: secret)
  }

  /// A sender claiming device number `device`, sealing with `secret`.
  init(station: String, device: UInt32, secret: [UInt8]) throws {
    guard let address = StationAddress(station) else {
      throw TestSetupError("bad address \(station)")
    }
    self.device = device
    keys = try DatagramKeys(secret: secret)
    fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw TestSetupError("socket: errno \(errno)") }
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_port = in_port_t(UInt16(address.port).bigEndian)
    inet_pton(AF_INET, address.host, &sin.sin_addr)
    let connected = withUnsafePointer(to: &sin) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      close(fd)
      throw TestSetupError("connect: errno \(errno)")
    }
  }

  deinit { close(fd) }

  /// `message` sealed as this box seals it: key index 0 unless told, the epoch bound into the
  /// tag instead of sent when `impliedEpoch` is given.
  func seal(
    _ message: WireMessage, counter: UInt64, impliedEpoch: UInt64? = nil, keyIndex: UInt8 = 0,
    direction: DatagramDirection = .uplink
  ) throws -> [UInt8] {
    let header = DatagramHeader(
      direction: direction, device: device, keyIndex: keyIndex,
      epochImplied: impliedEpoch != nil, counter: counter)
    return Array(
      try Datagram.seal(message, header: header, keys: keys, epoch: impliedEpoch)
        .readableBytesView)
  }

  /// Plaintext (a type byte and payload) sealed without checking that it is a valid message.
  func seal(plaintext: [UInt8], counter: UInt64) throws -> [UInt8] {
    let header = DatagramHeader(direction: .uplink, device: device, keyIndex: 0, counter: counter)
    return Array(
      try Datagram.seal(plaintext: plaintext, header: header, keys: keys).readableBytesView)
  }

  func send(_ bytes: [UInt8]) throws {
    let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    guard sent == bytes.count else { throw TestSetupError("send: errno \(errno)") }
  }

  /// The next datagram from the station, or nil when none came within `seconds`.
  func receive(seconds: Int = 10) async throws -> [UInt8]? {
    let fd = fd
    return try await onOwnThread { () -> [UInt8]? in
      var timeout = timeval(tv_sec: seconds, tv_usec: 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
      var buffer = [UInt8](repeating: 0, count: 2048)
      let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      return count > 0 ? Array(buffer.prefix(count)) : nil
    }
  }

  /// Opens an answer from the station as a box would: station → box key, replay window.
  func open(_ bytes: [UInt8]) throws -> (DatagramHeader, WireMessage) {
    let datagram = ByteBuffer(bytes: bytes)
    let header = try Datagram.readHeader(datagram)
    let message = try Datagram.open(
      datagram, header: header, expecting: .downlink, keys: keys, window: &window)
    return (header, message)
  }
}

/// A record as a box journals it, at a fixed trusted time.
func boxRecord(_ seq: UInt64, _ body: RecordBody) -> Record {
  Record(
    seq: seq, kind: body.kind, priority: body.kind.defaultPriority,
    time: RecordTime(wallMs: 1_795_316_400_000, clockTrusted: true, boot: 1, sinceBootMs: seq),
    body: body.encoded())
}

/// A batch of `records` of journal epoch `epoch`.
func wireBatch(_ epoch: UInt64, _ records: Record...) -> WireMessage {
  .batch(Batch(epoch: epoch, records: records.map(WireRecord.init)))
}
