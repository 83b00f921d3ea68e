import Crypto
import NIOCore

/// Which way a datagram travels. Each direction has its own key and its own counters, so that a
/// box and its station never use the same nonce under the same key.
public enum DatagramDirection: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  /// Box → station.
  case uplink = 0xD
  /// Station → box.
  case downlink = 0xE

  /// The name used in JSON output.
  public var description: String {
    switch self {
    case .uplink: "box-to-station"
    case .downlink: "station-to-box"
    }
  }
}

/// The two keys of one datagram key index, derived from the 32-byte secret in the enrollment
/// bundle with HKDF-SHA256 (salt `outpost datagram v1`, info naming the direction).
public struct DatagramKeys: Sendable {
  let uplink: SymmetricKey
  let downlink: SymmetricKey

  /// - Throws: ``WireEncodingError/invalidKeyLength(_:)`` unless `secret` is 32 bytes.
  public init(secret: [UInt8]) throws(WireEncodingError) {
    guard secret.count == WireLimits.datagramKeyLength else {
      throw .invalidKeyLength(secret.count)
    }
    let master = SymmetricKey(data: secret)
    let salt = Array("outpost datagram v1".utf8)
    func derive(_ info: String) -> SymmetricKey {
      HKDF<SHA256>.deriveKey(
        inputKeyMaterial: master, salt: salt, info: Array(info.utf8), outputByteCount: 32)
    }
    uplink = derive("box to station")
    downlink = derive("station to box")
  }

  func key(for direction: DatagramDirection) -> SymmetricKey {
    direction == .uplink ? uplink : downlink
  }
}

/// The clear header of a datagram, read before the key is looked up.
public struct DatagramHeader: Sendable, Hashable {
  /// Which way the datagram travels, which decides the key.
  public var direction: DatagramDirection
  /// The protocol version (the form byte's low nibble).
  public var version: UInt8
  /// The device number assigned at enrollment.
  public var device: UInt32
  /// Which of the device's keys sealed the datagram, 0–127.
  public var keyIndex: UInt8
  /// Whether the journal epoch is left out of the datagram's batches and bound into the tag
  /// instead: the receiver supplies the epoch it knows for the device, and the tag verifies only
  /// if that is the sender's. Bit 7 of the key byte.
  public var epochImplied: Bool
  /// The sender's frame counter for this device, key and direction; starts at 1.
  public var counter: UInt64
  /// How many bytes the header takes.
  public var length: Int

  /// - Precondition: `keyIndex` is at most 127.
  public init(
    direction: DatagramDirection, version: UInt8 = ProtocolVersion.current, device: UInt32,
    keyIndex: UInt8, epochImplied: Bool = false, counter: UInt64
  ) {
    precondition(keyIndex < 0x80, "datagram key indexes are 0–127")
    self.direction = direction
    self.version = version
    self.device = device
    self.keyIndex = keyIndex
    self.epochImplied = epochImplied
    self.counter = counter
    length = 1 + wireVarintLength(UInt64(device)) + 1 + wireVarintLength(counter)
  }

  /// The clear header's bytes: the associated data, less an implied epoch.
  var bytes: [UInt8] {
    var out = ByteBufferAllocator().buffer(capacity: length)
    out.writeInteger(direction.rawValue << 4 | version)
    out.writeWireVarint(UInt64(device))
    out.writeInteger(keyIndex | (epochImplied ? 0x80 : 0))
    out.writeWireVarint(counter)
    return Array(out.readableBytesView)
  }

  /// The associated data: the clear header, then the implied epoch (u64 LE) if there is one.
  func associatedData(epoch: UInt64?) -> [UInt8] {
    var data = bytes
    if epochImplied, let epoch {
      withUnsafeBytes(of: epoch.littleEndian) { data.append(contentsOf: $0) }
    }
    return data
  }
}

/// The self-authenticated datagram form, for UDP and satellite short messages:
///
/// ```
/// u8 form (direction << 4 | version) | varint device | u8 key (index, bit 7 epoch implied)
/// | varint counter
/// | ChaCha20-Poly1305 ciphertext of (u8 type | payload) | 16-byte tag
/// ```
///
/// The nonce is the device number (u32 LE) followed by the counter (u64 LE); the whole clear
/// header is authenticated as associated data.
public enum Datagram {
  /// The tag length; the tag is never truncated.
  public static let tagLength = 16

  /// Seals `message` into one datagram.
  ///
  /// - Parameter epoch: with `header.epochImplied`, the journal epoch bound into the tag; a
  ///   batch of that epoch then leaves its epoch out.
  /// - Throws: ``WireEncodingError`` when the message breaks a limit, is not allowed in the
  ///   datagram form, or the datagram would exceed ``WireLimits/maxDatagramLength``.
  /// - Precondition: `header.counter` is at least 1 and never used before with this key and
  ///   direction (the caller persists its counter).
  public static func seal(
    _ message: WireMessage, header: DatagramHeader, keys: DatagramKeys, epoch: UInt64? = nil
  ) throws(WireEncodingError) -> ByteBuffer {
    guard !message.type.isStreamOnly else {
      throw .notEncodable("\(message.type) may not travel in the datagram form")
    }
    guard !header.epochImplied || epoch != nil else {
      throw .notEncodable("a datagram with an implied epoch needs the epoch to seal it with")
    }
    var plaintext = ByteBufferAllocator().buffer(capacity: 64)
    var session = WireSession(impliedEpoch: header.epochImplied ? epoch : nil)
    try plaintext.writeWireMessage(message, session: &session)
    return try seal(
      plaintext: Array(plaintext.readableBytesView), header: header, keys: keys, epoch: epoch)
  }

  /// Seals `plaintext` (a type byte and a payload) without checking that it is a valid message.
  ///
  /// For test tools, golden vectors and fuzzing, which need datagrams that authenticate but do
  /// not decode; senders use ``seal(_:header:keys:)``.
  public static func seal(
    plaintext: [UInt8], header: DatagramHeader, keys: DatagramKeys, epoch: UInt64? = nil
  ) throws(WireEncodingError) -> ByteBuffer {
    guard header.counter > 0 else { throw .notEncodable("datagram counters start at 1") }
    guard !plaintext.isEmpty else { throw .notEncodable("a datagram holds at least a type byte") }
    let total = header.length + plaintext.count + tagLength
    guard total <= WireLimits.maxDatagramLength else {
      throw .frameTooLong(length: total, limit: WireLimits.maxDatagramLength)
    }
    var out = ByteBufferAllocator().buffer(capacity: total)
    out.writeBytes(header.bytes)
    // Sealing cannot fail for a valid key and a 12-byte nonce.
    let box = try! ChaChaPoly.seal(
      plaintext, using: keys.key(for: header.direction),
      nonce: nonce(header), authenticating: header.associatedData(epoch: epoch))
    out.writeBytes(box.ciphertext)
    out.writeBytes(box.tag)
    return out
  }

  /// Reads the clear header, so that the receiver can find the device's key.
  ///
  /// - Throws: ``WireError`` for a datagram of the wrong length, an unknown form or version, or
  ///   a malformed header.
  public static func readHeader(_ datagram: ByteBuffer) throws(WireError) -> DatagramHeader {
    let length = datagram.readableBytes
    let smallest = 1 + 1 + 1 + 1 + 1 + tagLength
    guard length >= smallest, length <= WireLimits.maxDatagramLength else {
      throw WireError(
        .datagramLength(length: length, limit: smallest...WireLimits.maxDatagramLength), at: 0)
    }
    var reader = WireReader(datagram, base: 0)
    let form = try reader.readByte("form")
    guard let direction = DatagramDirection(rawValue: form >> 4),
      ProtocolVersion.supported.contains(form & 0x0F)
    else { throw WireError(.unsupportedDatagramForm(form), at: 0) }
    let device = try reader.readVarint("device number", max: UInt64(UInt32.max))
    let keyByte = try reader.readByte("key index")
    let counterAt = reader.offset
    let counter = try reader.readVarint("frame counter")
    guard counter > 0 else { throw WireError(.invalidCounter(counter), at: counterAt) }
    let header = DatagramHeader(
      direction: direction, version: form & 0x0F, device: UInt32(device),
      keyIndex: keyByte & 0x7F, epochImplied: keyByte & 0x80 != 0, counter: counter)
    guard length >= header.length + 1 + tagLength else {
      throw WireError(
        .datagramLength(
          length: length, limit: (header.length + 1 + tagLength)...WireLimits.maxDatagramLength),
        at: 0)
    }
    return header
  }

  /// Checks the counter against `window`, verifies and decrypts the datagram, records the
  /// counter as seen, and decodes the message.
  ///
  /// The window moves only after the tag verifies, so a forged or corrupted datagram changes
  /// nothing. A datagram that verifies but does not decode still uses up its counter.
  ///
  /// - Parameters:
  ///   - direction: the direction this receiver accepts (a station accepts uplink).
  ///   - keys: the keys of the device and key index named in the header.
  ///   - window: the receiver's replay window for that device, key index and direction.
  ///   - epoch: the journal epoch the receiver knows for the device (the latest it stores
  ///     records of), for datagrams whose epoch is implied; nil if it knows none.
  /// - Throws: ``WireError``; offsets inside the message count from the datagram's first byte.
  public static func open(
    _ datagram: ByteBuffer, header: DatagramHeader, expecting direction: DatagramDirection,
    keys: DatagramKeys, window: inout ReplayWindow, epoch: UInt64? = nil
  ) throws(WireError) -> WireMessage {
    // The header must be this datagram's own (as ``readHeader(_:)`` returned it).
    guard try readHeader(datagram) == header else {
      throw WireError(.invalidValue(field: "header (not this datagram's)"), at: 0)
    }
    guard header.direction == direction else {
      throw WireError(
        .unsupportedDatagramForm(datagram.getInteger(at: datagram.readerIndex)!), at: 0)
    }
    if header.epochImplied, epoch == nil {
      throw WireError(
        .epochUnknown(device: header.device),
        at: header.length - wireVarintLength(header.counter) - 1)
    }
    try window.check(header.counter, at: header.length - wireVarintLength(header.counter))
    let start = datagram.readerIndex
    let cipherLength = datagram.readableBytes - header.length - tagLength
    let associated = header.associatedData(epoch: epoch)
    let ciphertext = datagram.getBytes(at: start + header.length, length: cipherLength)!
    let tag = datagram.getBytes(at: start + header.length + cipherLength, length: tagLength)!
    let plaintext: [UInt8]
    do {
      let box = try ChaChaPoly.SealedBox(
        nonce: nonce(header), ciphertext: ciphertext, tag: tag)
      plaintext = Array(
        try ChaChaPoly.open(box, using: keys.key(for: header.direction), authenticating: associated)
      )
    } catch {
      throw WireError(.authenticationFailed, at: header.length + cipherLength)
    }
    window.accept(header.counter)
    var message = ByteBuffer(bytes: plaintext)
    let type = message.readInteger(as: UInt8.self)!
    var reader = WireReader(message, base: header.length + 1)
    var session = WireSession(impliedEpoch: header.epochImplied ? epoch : nil)
    return try reader.readMessage(
      type: type, typeOffset: header.length, datagram: true, session: &session)
  }

  private static func nonce(_ header: DatagramHeader) -> ChaChaPoly.Nonce {
    var bytes = [UInt8]()
    bytes.reserveCapacity(12)
    withUnsafeBytes(of: header.device.littleEndian) { bytes.append(contentsOf: $0) }
    withUnsafeBytes(of: header.counter.littleEndian) { bytes.append(contentsOf: $0) }
    // A 12-byte nonce is always valid.
    return try! ChaChaPoly.Nonce(data: bytes)
  }
}

/// A receiver's memory of the frame counters it accepted from one device, key index and
/// direction: the highest, and which of the 63 below it, as IPsec and DTLS keep them.
///
/// A counter is accepted once. One at or below the window's floor is rejected as too old, one
/// more than ``farFutureLimit`` above the highest as far-future (a jump that would otherwise
/// make every later honest counter look old). A fresh window (nothing accepted yet) takes any
/// counter from 1 up.
public struct ReplayWindow: Sendable, Hashable {
  /// How many counters the window remembers, the highest included.
  public static let width: UInt64 = 64
  /// The largest jump ahead of the highest accepted counter.
  public static let farFutureLimit: UInt64 = 1 << 20

  /// The highest counter accepted, 0 for none.
  public private(set) var highest: UInt64
  /// Bit i is set when counter `highest - i` was accepted.
  public private(set) var seen: UInt64

  /// A window restored from what the receiver persisted, or a fresh one.
  public init(highest: UInt64 = 0, seen: UInt64 = 0) {
    self.highest = highest
    self.seen = highest == 0 ? 0 : seen | 1
  }

  /// Throws when `counter` must be rejected; changes nothing.
  ///
  /// - Parameter offset: where the counter sits in the datagram, for the error.
  public func check(_ counter: UInt64, at offset: Int = 0) throws(WireError) {
    guard counter > 0 else { throw WireError(.invalidCounter(counter), at: offset) }
    guard highest > 0 else { return }
    if counter > highest {
      guard counter - highest <= Self.farFutureLimit else {
        throw WireError(.farFuture(counter: counter, highest: highest), at: offset)
      }
      return
    }
    let distance = highest - counter
    guard distance < Self.width else {
      throw WireError(
        .tooOld(counter: counter, lowestAccepted: highest - Self.width + 1), at: offset)
    }
    guard seen & (1 << distance) == 0 else {
      throw WireError(.replayed(counter: counter), at: offset)
    }
  }

  /// Records `counter` as accepted. Call only after ``check(_:at:)`` passed and the datagram
  /// authenticated.
  public mutating func accept(_ counter: UInt64) {
    if counter > highest {
      let shift = counter - highest
      seen = shift >= Self.width ? 1 : (seen << shift) | 1
      highest = counter
    } else {
      seen |= 1 << (highest - counter)
    }
  }
}
