import NIOCore
import OutpostCore
import OutpostWire
import OutpostWireJSON

#if canImport(Glibc)
  import Glibc
#endif

enum ProcessEnvironment {
  static func value(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
  }
}

/// The cases behind the golden vectors: valid messages of every type in both forms, and
/// malformed inputs with the error each must produce. ``file()`` turns them into the vectors
/// file; the tests check that the stored file matches.
enum VectorCases {
  static let secret: [UInt8] = Array(0..<32)
  static let epoch: UInt64 = 0x5EED_0F_0A7B_07_2026
  /// 2026-11-22T03:00:00Z.
  static let t0: Int64 = 1_795_316_400_000

  static let fix = Position(
    latitudeE7: 479_180_000, longitudeE7: 1_069_170_000, altitudeDm: 13_500, hdopCenti: 90,
    satellites: 9)

  static func record(
    _ seq: UInt64, _ body: RecordBody, at time: Int64, trusted: Bool = true,
    stamp: MonotonicStamp? = nil, priority: Priority? = nil
  ) -> WireRecord {
    WireRecord(
      seq: seq, kind: body.kind, priority: priority ?? body.kind.defaultPriority, wallMs: time,
      clockTrusted: trusted, monotonic: stamp, body: body.encoded())
  }

  /// The first five fixes of `beidou-bd.log`, as the agent records them: one position record a
  /// second, stamped with the GPS time.
  static let track: [WireRecord] = {
    let fixes: [(Int32, Int32, Int32, UInt32, UInt8)] = [
      (312_479_500, 1_215_874_383, 1569, 15, 5),
      (312_482_500, 1_215_874_033, 1907, 13, 7),
      (312_481_700, 1_215_874_050, 1929, 16, 7),
      (312_482_550, 1_215_873_983, 1985, 13, 7),
      (312_482_383, 1_215_874_067, 1964, 12, 7),
    ]
    let start: Int64 = 1_424_850_115_799  // 2015-02-25T07:41:55.799Z
    return fixes.enumerated().map { index, fix in
      record(
        1000 + UInt64(index),
        .position(
          Position(
            latitudeE7: fix.0, longitudeE7: fix.1, altitudeDm: fix.2, speedCmPerS: fix.3,
            headingCdeg: 494, hdopCenti: index == 0 ? 130 : 110, satellites: fix.4)),
        at: start + Int64(index) * 1000)
    }
  }()

  static let valid: [(name: String, note: String, message: WireMessage)] = [
    (
      "hello", "A box's hello: versions 1–1, all four capabilities, a time anchor for boot 12.",
      .hello(
        Hello(
          device: "yurt-0042", capabilities: [.datagrams, .locate, .feedback, .neighbourAlerts],
          epoch: epoch, ackFloor: 1200, nextSeq: 1234, boot: 12, wallMs: t0 - 5000,
          timeAnchor: TimeAnchor(boot: 12, sinceBootMs: 61_000, wallMs: t0 - 3_600_000)))
    ),
    (
      "welcome", "The station's answer: version 1, it already holds 1–1200 and 1210–1215.",
      .welcome(
        Welcome(
          stationTimeMs: t0, stored: [1...1200, 1210...1215], window: 4, maxRecordsPerBatch: 256,
          pingIntervalSeconds: 900))
    ),
    (
      "batch-sos", "One SOS with a fix, trusted clock: the record most worth getting right.",
      .batch(Batch(epoch: epoch, records: [record(1234, .sos(presses: 1, position: fix), at: t0)]))
    ),
    (
      "batch-track",
      "Five 1 Hz fixes from beidou-bd.log: after the first, each costs its flags and what changed.",
      .batch(Batch(epoch: epoch, records: track))
    ),
    (
      "batch-mixed",
      "Check-in by card, report with note, an untrusted time with its monotonic stamp, a sequence gap, an explicit priority, a raw sensor body and a kind from a newer version.",
      .batch(
        Batch(
          epoch: epoch,
          records: [
            record(50, .checkIn(who: "card:04A2B9C1", position: nil), at: t0),
            record(
              51, .report(category: .poaching, note: "two riders, no lights", position: fix),
              at: t0 + 4000),
            record(
              53, .sensorReading(sensor: "hwmon0/temp1", milliValue: -12_500), at: 86_400_000,
              trusted: false, stamp: MonotonicStamp(boot: 3, sinceBootMs: 3_600_000)),
            record(
              54,
              .sensorAlarm(sensor: "hwmon0/temp1", alarm: .fire, milliValue: 71_000, raised: true),
              at: 86_460_000, trusted: false, stamp: MonotonicStamp(boot: 3, sinceBootMs: 3_660_000)
            ),
            record(
              55,
              .boxHealth(
                BoxHealth(
                  supplyMillivolts: 12_600, batteryPercent: 81, uptimeSeconds: 3660,
                  journalFillPermille: 12, link: .up)), at: t0 + 60_000, priority: .bulk),
            record(56, .opaque(kind: 0x77, bytes: [1, 2, 3]), at: t0 + 61_000),
          ]))
    ),
    (
      "ack",
      "Acknowledgement of 1201–1209 and 1216–1234, out of order because an alarm overtook the backlog.",
      .ack(Acknowledgement(epoch: epoch, ranges: [1201...1209, 1216...1234]))
    ),
    ("ping", "A keep-alive.", .ping(nonce: 7)),
    ("pong", "Its answer.", .pong(nonce: 7)),
    (
      "incident-acknowledged", "Officer Bat acknowledged the SOS 1234 with a short text.",
      .incidentAcknowledged(
        IncidentAcknowledged(
          epoch: epoch, seq: 1234, officer: "Bat", note: "On our way, 40 min", timeMs: t0 + 95_000))
    ),
    (
      "incident-handled", "The incident closed as a false alarm.",
      .incidentHandled(
        IncidentHandled(
          epoch: epoch, seq: 1234, outcome: .falseAlarm, officer: "Bat", timeMs: t0 + 3_600_000))
    ),
    ("locate-now", "Send a position now.", .locateNow(requestID: 9)),
    (
      "neighbour-alert", "A linked neighbour pressed SOS, with where.",
      .neighbourAlert(
        NeighbourAlert(household: "Dorj family", kind: .sos, position: fix, timeMs: t0))
    ),
    (
      "time", "The station's clock, within 250 ms.",
      .time(TimeSignal(stationTimeMs: t0, uncertaintyMs: 250))
    ),
    (
      "datagram-key", "A new datagram key at index 2, over the stream form only.",
      .datagramKey(DatagramKey(index: 2, key: Array(repeating: 0xA5, count: 32)))
    ),
    (
      "error", "The station refuses a box whose credentials were revoked.",
      .error(ErrorReport(code: .revoked, message: "device yurt-0042 was revoked", offset: nil))
    ),
  ]

  static let validDatagrams:
    [(name: String, note: String, header: DatagramHeader, message: WireMessage)] = [
      (
        "datagram-sos",
        "The SOS with a fix in one satellite short message: device 5000, counter 100000.",
        DatagramHeader(direction: .uplink, device: 5000, keyIndex: 0, counter: 100_000),
        .batch(
          Batch(epoch: epoch, records: [record(100_000, .sos(presses: 1, position: fix), at: t0)]))
      ),
      (
        "datagram-ack", "The station's acknowledgement back down.",
        DatagramHeader(direction: .downlink, device: 5000, keyIndex: 0, counter: 31),
        .ack(Acknowledgement(epoch: epoch, ranges: [100_000...100_000]))
      ),
      (
        "datagram-incident-acknowledged", "The officer's acknowledgement, down by satellite.",
        DatagramHeader(direction: .downlink, device: 5000, keyIndex: 0, counter: 32),
        .incidentAcknowledged(
          IncidentAcknowledged(
            epoch: epoch, seq: 100_000, officer: "Bat", note: "Coming", timeMs: t0 + 95_000))
      ),
    ]

  /// A live connection: hello, then one record per batch.
  static let sessionFrames: [WireMessage] = {
    var frames: [WireMessage] = [
      .hello(
        Hello(
          device: "yurt-0042", capabilities: [.locate], epoch: epoch, ackFloor: 99_999,
          nextSeq: 100_000, boot: 12, wallMs: t0 - 5000)),
      .batch(
        Batch(epoch: epoch, records: [record(100_000, .sos(presses: 1, position: fix), at: t0)])),
    ]
    for i in 1...3 {
      var moved = fix
      moved.latitudeE7 += Int32(i * 310)
      moved.longitudeE7 -= Int32(i * 120)
      moved.altitudeDm! += Int32(i * 3)
      frames.append(
        .batch(
          Batch(
            epoch: epoch,
            records: [record(100_000 + UInt64(i), .position(moved), at: t0 + Int64(i) * 5000)])))
    }
    return frames
  }()

  static func streamHex(_ message: WireMessage) -> String {
    Hex.encode(try! StreamFrame.encode(message).readableBytesView)
  }

  static func frameHex(type: UInt8, payload: String) -> String {
    let bytes = Hex.decode(payload)!
    var buffer = ByteBuffer()
    buffer.writeWireVarint(UInt64(bytes.count + 1))
    buffer.writeInteger(type)
    buffer.writeBytes(bytes)
    return Hex.encode(buffer.readableBytesView)
  }

  /// Malformed stream frames and the error code each must produce.
  static func malformedStream() -> [(name: String, note: String, hex: String, code: String)] {
    let sos = streamHex(valid[2].message)
    let epochHex = Hex.encode(withUnsafeBytes(of: epoch.littleEndian) { Array($0) })
    return [
      (
        "truncated-batch", "A batch frame whose length prefix covers only part of its record.",
        String(sos.prefix(2 * 20)).replacingFirstByte(with: "13"), "truncated"
      ),
      (
        "varint-overflow", "A ping nonce of 11 bytes.",
        "0c05" + String(repeating: "ff", count: 10) + "01", "varint-overflow"
      ),
      (
        "varint-bit-64", "A ping nonce whose 10th byte carries bit 64.",
        "0b05" + String(repeating: "ff", count: 9) + "02", "varint-overflow"
      ),
      (
        "varint-not-minimal", "A ping nonce of 0 written in two bytes.", "03058000",
        "varint-not-minimal"
      ),
      ("frame-too-long", "A length prefix of 65,537.", "818004", "frame-too-long"),
      (
        "frame-length-runaway", "A length prefix that would need more than 3 bytes.", "ffffff7f",
        "frame-too-long"
      ),
      ("empty-frame", "A length of zero: not even a type byte.", "00", "empty-frame"),
      (
        "unknown-core-type", "Type 0x3E is core and unknown to version 1.", "023e00",
        "unknown-message-type"
      ),
      (
        "record-count-zero", "A batch of no records.",
        frameHex(type: 3, payload: "01" + epochHex), "record-count"
      ),
      (
        "record-count-257", "A batch announcing 257 records: refused before any is read.",
        frameHex(type: 3, payload: "8304" + epochHex), "record-count"
      ),
      (
        "device-name-too-long", "A hello whose device name is 65 bytes.",
        frameHex(type: 1, payload: "010141" + String(repeating: "61", count: 65)), "field-too-long"
      ),
      (
        "invalid-utf8", "An error message that is not UTF-8.",
        frameHex(type: 0x3F, payload: "0102c3280" + "0"), "invalid-utf8"
      ),
      (
        "record-flag-bit-7",
        "Record flags with bit 7 and other bits set (only 0x80 alone is valid).",
        frameHex(type: 3, payload: "03" + epochHex + "8d" + "02" + "00"), "invalid-value"
      ),
      (
        "not-ascending", "Two records of a batch with the same sequence number (a gap of -1).",
        frameHex(type: 3, payload: "05" + epochHex + "1f00" + "1e0100"), "invalid-value"
      ),
      (
        "batch-without-session", "A batch that leaves its epoch out, with no hello before it.",
        frameHex(type: 3, payload: "02" + "1f00"), "invalid-value"
      ),
      (
        "delta-without-previous", "A position in delta mode with no fix before it in the batch.",
        frameHex(type: 3, payload: "03" + epochHex + "5f" + "c00202"), "invalid-value"
      ),
      (
        "body-too-long", "A raw body announcing 4,097 bytes.",
        frameHex(type: 3, payload: "03" + epochHex + "1d" + "f0" + "8120"), "field-too-long"
      ),
      (
        "too-many-ranges", "An ack announcing 513 ranges.",
        frameHex(type: 4, payload: epochHex + "8104"), "list-too-long"
      ),
      (
        "datagram-key-index-128", "A datagram-key for index 128: indexes are 0–127.",
        frameHex(type: 0x15, payload: "80" + String(repeating: "a5", count: 32)), "invalid-value"
      ),
      (
        "bad-outcome", "An incident-handled with outcome 3.",
        frameHex(type: 0x11, payload: epochHex + "0103"), "invalid-value"
      ),
      (
        "trailing-extension-too-long", "A ping followed by an extension longer than the frame.",
        "0605010905aabb", "field-too-long"
      ),
    ]
  }

  /// Malformed datagrams: what each looks like and the error it must produce.
  static func malformedDatagrams() -> [(
    name: String, note: String, hex: String, window: WindowJSON?, code: String
  )] {
    let keys = try! DatagramKeys(secret: secret)
    let header = DatagramHeader(direction: .uplink, device: 5000, keyIndex: 0, counter: 100_000)
    let sos = Array(
      try! Datagram.seal(validDatagrams[0].message, header: header, keys: keys).readableBytesView)
    var badTag = sos
    badTag[badTag.count - 1] ^= 0x01
    var badCipher = sos
    badCipher[header.length + 3] ^= 0x80
    var otherKey = sos
    otherKey[header.length - 4] = 1  // key index 1: same bytes, the wrong key for them
    let hello = Hello(
      device: "yurt-0042", capabilities: [], epoch: epoch, ackFloor: 0, nextSeq: 1, boot: 1,
      wallMs: 0)
    var helloPlain = ByteBuffer()
    try! helloPlain.writeWireMessage(.hello(hello))
    let helloDatagram = try! Datagram.seal(
      plaintext: Array(helloPlain.readableBytesView),
      header: DatagramHeader(direction: .uplink, device: 5000, keyIndex: 0, counter: 100_001),
      keys: keys)
    let farPing = try! Datagram.seal(
      .ping(nonce: 1),
      header: DatagramHeader(direction: .uplink, device: 5000, keyIndex: 0, counter: 2_000_000),
      keys: keys)
    return [
      (
        "wrong-tag", "The SOS datagram with the last bit of its tag flipped.", Hex.encode(badTag),
        nil, "authentication-failed"
      ),
      (
        "tampered-ciphertext", "The SOS datagram with one ciphertext bit flipped.",
        Hex.encode(badCipher), nil, "authentication-failed"
      ),
      (
        "wrong-key-index",
        "The SOS datagram relabelled with key index 1: the clear header is authenticated, so the tag fails.",
        Hex.encode(otherKey), nil, "authentication-failed"
      ),
      (
        "replayed", "The SOS datagram again, after the receiver accepted counter 100000.",
        Hex.encode(sos),
        WindowJSON(highest: 100_000, seen: 1), "replayed"
      ),
      (
        "too-old", "The SOS datagram after the receiver reached counter 100064.", Hex.encode(sos),
        WindowJSON(highest: 100_064, seen: 1), "too-old"
      ),
      (
        "far-future",
        "A ping with counter 2000000 when the receiver's highest is 100000: more than 2^20 ahead.",
        Hex.encode(farPing.readableBytesView), WindowJSON(highest: 100_000, seen: 1), "far-future"
      ),
      (
        "hello-in-datagram", "A hello, properly sealed: not allowed in the datagram form.",
        Hex.encode(helloDatagram.readableBytesView), nil, "message-not-allowed"
      ),
      (
        "unsupported-form", "Form byte 0xD2: datagram, protocol version 2.",
        "d2" + Hex.encode(sos.dropFirst()), nil, "unsupported-datagram-form"
      ),
      (
        "counter-zero", "A frame counter of 0.",
        "d1" + "8827" + "00" + "00" + String(repeating: "00", count: 20), nil, "invalid-counter"
      ),
      (
        "datagram-too-short", "Shorter than header, type byte and tag.",
        "d1882700a08d06" + String(repeating: "00", count: 16), nil, "datagram-length"
      ),
      (
        "datagram-too-long", "1,201 bytes.", "d1" + String(repeating: "00", count: 1200), nil,
        "datagram-length"
      ),
    ]
  }

  static func file() throws -> VectorFile {
    var vectors: [Vector] = []
    for (name, note, message) in valid {
      vectors.append(
        Vector(
          name: name, form: "stream", note: note, hex: streamHex(message),
          message: MessageJSON(message)))
    }
    vectors.append(
      Vector(
        name: "skipped-optional-type", form: "stream",
        note: "Type 0x41 is optional: a version-1 receiver skips its 3 bytes.", hex: "0441aabbcc",
        message: MessageJSON(.skipped(type: 0x41, length: 3)), canonical: false))
    vectors.append(
      Vector(
        name: "ping-with-extension", form: "stream",
        note: "A ping followed by extension tag 9 of 2 bytes, which a version-1 receiver skips.",
        hex: "0605070902aabb", message: MessageJSON(.ping(nonce: 7)), canonical: false))
    let keys = try DatagramKeys(secret: secret)
    for (name, note, header, message) in validDatagrams {
      let sealed = try Datagram.seal(message, header: header, keys: keys)
      vectors.append(
        Vector(
          name: name, form: "datagram", note: note + " \(sealed.readableBytes) bytes.",
          hex: Hex.encode(sealed.readableBytesView),
          datagram: DatagramJSON(header), message: MessageJSON(message)))
    }
    let implied = DatagramHeader(
      direction: .uplink, device: 5000, keyIndex: 0, epochImplied: true, counter: 100_001)
    let sealed = try Datagram.seal(
      validDatagrams[0].message, header: implied, keys: keys, epoch: epoch)
    vectors.append(
      Vector(
        name: "datagram-sos-implied-epoch", form: "datagram",
        note:
          "The same SOS once the station holds records of this epoch: the epoch is bound into the tag instead of sent. \(sealed.readableBytes) bytes.",
        hex: Hex.encode(sealed.readableBytesView), datagram: DatagramJSON(implied),
        epoch: hex64(epoch),
        message: MessageJSON(validDatagrams[0].message)))
    vectors.append(
      try malformed(
        Vector(
          name: "implied-epoch-unknown", form: "datagram",
          note: "The implied-epoch SOS at a receiver that knows no epoch for device 5000.",
          hex: Hex.encode(sealed.readableBytesView)),
        code: "epoch-unknown"))
    vectors.append(
      try malformed(
        Vector(
          name: "implied-epoch-wrong", form: "datagram",
          note: "The implied-epoch SOS at a receiver that believes another epoch: the tag fails.",
          hex: Hex.encode(sealed.readableBytesView), epoch: hex64(epoch + 1)),
        code: "authentication-failed"))
    var session = WireSession()
    var stream = ByteBuffer()
    var sessionMessages: [MessageJSON] = []
    for message in sessionFrames {
      try StreamFrame.write(message, into: &stream, session: &session)
      sessionMessages.append(MessageJSON(message))
    }
    vectors.append(
      Vector(
        name: "session", form: "stream",
        note:
          "One connection: a hello, then an SOS and three live fixes, each in its own batch, coded against the session (no epoch; seq, time and position carried from frame to frame).",
        hex: Hex.encode(stream.readableBytesView), messages: sessionMessages))
    for (name, note, hex, code) in malformedStream() {
      vectors.append(
        try malformed(Vector(name: name, form: "stream", note: note, hex: hex), code: code))
    }
    for (name, note, hex, window, code) in malformedDatagrams() {
      vectors.append(
        try malformed(
          Vector(name: name, form: "datagram", note: note, hex: hex, window: window), code: code))
    }
    return VectorFile(protocolVersion: 1, datagramSecret: Hex.encode(secret), vectors: vectors)
  }

  struct CaseError: Error, CustomStringConvertible {
    var description: String
  }

  /// The vector with the error the decoder reports, checked against the intended `code`.
  private static func malformed(_ vector: Vector, code: String) throws -> Vector {
    guard case .error(let error) = decodeVector(vector, secret: secret) else {
      throw CaseError(description: "\(vector.name) decoded but should fail with \(code)")
    }
    guard error.code == code else {
      throw CaseError(description: "\(vector.name) fails with \(error) but should with \(code)")
    }
    var out = vector
    out.error = ErrorJSON(code: error.code, offset: error.offset, text: error.description)
    return out
  }
}

extension String {
  /// The hex text with its first byte replaced (for a shortened length prefix).
  fileprivate func replacingFirstByte(with hex: String) -> String {
    hex + dropFirst(2)
  }
}
