import NIOCore
import NIOEmbedded
import NIOTestUtils
import OutpostCore
import OutpostTestKit
import OutpostWire
import Testing

/// Seeds for the property runs; `OUTPOST_WIRE_SEED` replays one.
private let propertySeeds: [UInt64] = (1...400).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }

private func frame(_ message: WireMessage) throws -> ByteBuffer {
  try StreamFrame.encode(message)
}

private func decodeAll(_ bytes: ByteBuffer) throws(WireError) -> [WireMessage] {
  var buffer = bytes
  var out: [WireMessage] = []
  while let message = try StreamFrame.decode(from: &buffer) { out.append(message) }
  #expect(buffer.readableBytes == 0, "bytes left over after the last frame")
  return out
}

private func bytes(_ hex: String) -> ByteBuffer {
  ByteBuffer(bytes: Hex.decode(hex)!)
}

@Suite("Varints and zigzag")
struct VarintTests {
  @Test("Lengths, round trips and the one encoding of each value")
  func roundTrips() throws {
    let values: [UInt64] = [
      0, 1, 127, 128, 255, 16_383, 16_384, 1 << 35, UInt64.max >> 1, UInt64.max,
    ]
    for value in values {
      var buffer = ByteBuffer()
      buffer.writeWireVarint(value)
      #expect(buffer.readableBytes == wireVarintLength(value))
      // A ping carries one varint: decode it through the real decoder.
      var framed = ByteBuffer()
      framed.writeInteger(UInt8(1 + buffer.readableBytes))
      framed.writeInteger(UInt8(0x05))
      framed.writeBuffer(&buffer)
      #expect(try decodeAll(framed) == [.ping(nonce: value)])
    }
    for value: Int64 in [0, -1, 1, -64, 63, -65, 64, .min, .max] {
      var buffer = ByteBuffer()
      buffer.writeWireSigned(value)
      let expected: Int =
        value == 0 || value == -1 || value == 1 || value == -64 || value == 63 ? 1 : 0
      if expected == 1 {
        #expect(buffer.readableBytes == 1, "zigzag of \(value) should take one byte")
      }
      #expect(
        try decodeAll(try frame(.time(TimeSignal(stationTimeMs: value, uncertaintyMs: 0)))) == [
          .time(TimeSignal(stationTimeMs: value, uncertaintyMs: 0))
        ])
    }
  }

  @Test("Overlong, overflowing and non-minimal varints are rejected with their offset")
  func malformed() {
    // ping (0x05) with an 11-byte varint: the 10th byte carries the continuation bit.
    let overlong = "0c05" + String(repeating: "ff", count: 10) + "01"
    #expect(throws: WireError(.varintOverflow(field: "nonce"), at: 2)) {
      try decodeAll(bytes(overlong))
    }
    // 10th byte 0x02: would be bit 64.
    let overflow = "0b05" + String(repeating: "ff", count: 9) + "02"
    #expect(throws: WireError(.varintOverflow(field: "nonce"), at: 2)) {
      try decodeAll(bytes(overflow))
    }
    // The largest value, 2^64 - 1, is fine.
    let largest = "0b05" + String(repeating: "ff", count: 9) + "01"
    #expect((try? decodeAll(bytes(largest))) == [.ping(nonce: .max)])
    // 0x80 0x00 is 0 written in two bytes.
    #expect(throws: WireError(.varintNotMinimal(field: "nonce"), at: 2)) {
      try decodeAll(bytes("03058000"))
    }
    // A non-minimal frame length.
    #expect(throws: WireError(.varintNotMinimal(field: "frame length"), at: 0)) {
      try decodeAll(bytes("820005"))
    }
  }
}

@Suite("Stream form")
struct StreamFormTests {
  @Test("Random messages of every type survive encode and decode unchanged")
  func roundTripProperty() throws {
    for seed in propertySeeds {
      var random = RandomMessages(seed: seed)
      let message = random.message()
      let encoded = try frame(message)
      let decoded = try decodeAll(encoded)
      #expect(decoded == [message], "seed \(seed)")
      // One value, one encoding: re-encoding gives the same bytes.
      #expect(try frame(decoded[0]) == encoded, "seed \(seed)")
    }
  }

  @Test("A connection's frames decode in order against one session, as they were encoded")
  func sessionProperty() throws {
    for seed in propertySeeds.prefix(100) {
      var random = RandomMessages(seed: seed)
      var sender = WireSession()
      var receiver = WireSession()
      var stream = ByteBuffer()
      var sent: [WireMessage] = []
      // A hello first (most of the time), then a mix in which batches dominate and hellos recur.
      for index in 0..<30 {
        var message = random.message()
        if index == 0, random.random.chance(0.8) {
          message = .hello(
            Hello(
              device: "box", capabilities: [], epoch: 42, ackFloor: random.u64(), nextSeq: 1,
              boot: 1, wallMs: random.i64()))
        } else if random.random.chance(0.5) {
          message = .batch(
            Batch(
              epoch: random.random.chance(0.8) ? (sender.epoch ?? 1) : 7,
              records: random.records(count: Int.random(in: 1...20, using: &random.random))))
        }
        try StreamFrame.write(message, into: &stream, session: &sender)
        sent.append(message)
      }
      var received: [WireMessage] = []
      while let message = try StreamFrame.decode(from: &stream, session: &receiver) {
        received.append(message)
      }
      #expect(received == sent, "seed \(seed)")
      #expect(receiver == sender, "seed \(seed): the two ends' sessions differ")
      #expect(stream.readableBytes == 0)
    }
  }

  @Test("A batch without an epoch outside a session is refused")
  func batchWithoutSession() throws {
    var sender = WireSession(
      hello: Hello(
        device: "b", capabilities: [], epoch: 9, ackFloor: 0, nextSeq: 1, boot: 1, wallMs: 0))
    var frame = ByteBuffer()
    let record = WireRecord(
      seq: 1, kind: .sosCancel, priority: .alarm, wallMs: 0, clockTrusted: true, monotonic: nil,
      body: [])
    try StreamFrame.write(
      .batch(Batch(epoch: 9, records: [record])), into: &frame, session: &sender)
    #expect(
      throws: WireError(
        .invalidValue(field: "epoch (left out, and no hello named one)"), at: 2)
    ) {
      _ = try StreamFrame.decode(from: &frame)
    }
  }

  @Test("Journal records come back as the station stores them")
  func journalRecordsRoundTrip() throws {
    var random = RandomMessages(seed: 7)
    for _ in 0..<200 {
      let records = random.records(count: 40).map(\.record)
      let wire = records.map(WireRecord.init)
      let decoded = try decodeAll(try frame(.batch(Batch(epoch: 5, records: wire))))
      guard case .batch(let batch) = decoded.first else {
        Issue.record("not a batch")
        return
      }
      for (original, received) in zip(records, batch.records.map(\.record)) {
        #expect(received.seq == original.seq)
        #expect(received.kind == original.kind)
        #expect(received.body == original.body)
        #expect(received.time.wallMs == original.time.wallMs)
        #expect(received.time.clockTrusted == original.time.clockTrusted)
        if !original.time.clockTrusted {
          #expect(received.time.boot == original.time.boot)
          #expect(received.time.sinceBootMs == original.time.sinceBootMs)
        }
      }
    }
  }

  @Test(
    "Frames that need no session: one byte at a time, many at once, shuffled (ByteToMessageDecoderVerifier)"
  )
  func dripFeedVerifier() throws {
    // The verifier shuffles its inputs, so it gets the messages whose coding does not depend
    // on the frames before them: everything but hellos and batches.
    var random = RandomMessages(seed: 99)
    var pairs: [(ByteBuffer, [WireMessage])] = []
    while pairs.count < 40 {
      let message = random.message()
      switch message {
      case .hello, .batch: continue
      default: pairs.append((try frame(message), [message]))
      }
    }
    try ByteToMessageDecoderVerifier.verifyDecoder(
      inputOutputPairs: pairs, decoderFactory: { StreamFrameDecoder() })
  }

  @Test("A connection's frames through a NIO pipeline: byte by byte, in random chunks, all at once")
  func pipelineChunks() throws {
    for seed in propertySeeds.prefix(20) {
      var random = RandomMessages(seed: seed)
      var sender = WireSession()
      var stream = ByteBuffer()
      var sent: [WireMessage] = []
      for _ in 0..<25 {
        let message = random.message()
        try StreamFrame.write(message, into: &stream, session: &sender)
        sent.append(message)
      }
      for chunking in ["bytes", "random", "whole"] {
        var decoder = StreamFrameDecoder()
        var pending = ByteBuffer()
        var direct: [WireMessage] = []
        var rest2 = stream
        while rest2.readableBytes > 0 {
          let size = min(rest2.readableBytes, chunking == "bytes" ? 1 : 7)
          var piece = rest2.readSlice(length: size)!
          pending.writeBuffer(&piece)
          while let message = try decoder.decode(buffer: &pending) { direct.append(message) }
        }
        #expect(direct == sent, "seed \(seed), \(chunking), decoder alone")
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(StreamFrameDecoder()))
        var rest = stream
        while rest.readableBytes > 0 {
          let size: Int
          switch chunking {
          case "bytes": size = 1
          case "random": size = Int.random(in: 1...rest.readableBytes, using: &random.random)
          default: size = rest.readableBytes
          }
          // Not `writeInbound`: in release builds its copy of the inbound buffer into the
          // returned state reads freed memory (AddressSanitizer: heap-use-after-free inside
          // `EmbeddedChannel.writeInbound`, NIO 2.101 with Swift 6.3). Firing the read into
          // the pipeline is the same delivery without that copy.
          channel.pipeline.fireChannelRead(rest.readSlice(length: size)!)
        }
        var received: [WireMessage] = []
        while let message = try channel.readInbound(as: WireMessage.self) {
          received.append(message)
        }
        #expect(received == sent, "seed \(seed), \(chunking)")
        let leftOver = try channel.finish()
        #expect(leftOver.isClean, "seed \(seed), \(chunking): bytes left over")
      }
    }
  }

  @Test("Many frames in one buffer decode in order with nothing left over")
  func manyAtOnce() throws {
    var random = RandomMessages(seed: 3)
    var all = ByteBuffer()
    var expected: [WireMessage] = []
    for _ in 0..<300 {
      let message = random.message()
      expected.append(message)
      try StreamFrame.write(message, into: &all)
    }
    #expect(try decodeAll(all) == expected)
  }

  @Test("Every proper prefix of a frame is 'need more data' and consumes nothing")
  func prefixesNeedMoreData() throws {
    var random = RandomMessages(seed: 11)
    for _ in 0..<30 {
      let full = try frame(random.message())
      for cut in 0..<full.readableBytes {
        var partial = full.getSlice(at: 0, length: cut)!
        #expect(try StreamFrame.decode(from: &partial) == nil)
        #expect(partial.readableBytes == cut)
      }
    }
  }

  @Test("A frame whose content is cut short is a typed error at every cut, never a crash")
  func truncatedContent() throws {
    var random = RandomMessages(seed: 12)
    var tried = 0
    while tried < 60 {
      let full = try frame(random.message())
      // Every cut of a frame costs a decode: keep the frames small enough to try them all.
      guard full.readableBytes <= 2048 else { continue }
      tried += 1
      var body = full
      let length = Int(try #require(readPrefix(&body)))
      for cut in 1..<length {
        var shortened = ByteBuffer()
        shortened.writeWireVarint(UInt64(cut))
        shortened.writeBytes(body.getBytes(at: body.readerIndex, length: cut)!)
        do {
          _ = try StreamFrame.decode(from: &shortened)
          // Some cuts end on a field boundary, where the rest parses as extensions or the
          // message simply has fewer records; any outcome but a crash is acceptable then,
          // but a successful decode must consume the frame.
          #expect(shortened.readableBytes == 0)
        } catch {
          #expect(error.offset <= cut + wireVarintLength(UInt64(cut)))
        }
      }
    }
  }

  @Test("Lengths past the limit are rejected from the prefix alone, before the bytes arrive")
  func frameLimit() {
    var buffer = ByteBuffer()
    buffer.writeWireVarint(UInt64(WireLimits.maxFrameLength + 1))
    #expect(throws: WireError(.frameTooLong(length: 65_537, limit: 65_536), at: 0)) {
      _ = try StreamFrame.decode(from: &buffer)
    }
    var huge = bytes("ffffffffffffffffff7f")
    #expect(throws: WireError.self) { _ = try StreamFrame.decode(from: &huge) }
    var empty = bytes("00")
    #expect(throws: WireError(.emptyFrame, at: 0)) { _ = try StreamFrame.decode(from: &empty) }
  }

  @Test("Version negotiation picks the highest common version, or names both ranges")
  func versionNegotiation() throws {
    #expect(try ProtocolVersion.negotiate(offered: 1...3).get() == 1)
    #expect(try ProtocolVersion.negotiate(offered: 1...5, supported: 2...4).get() == 4)
    guard case .failure(let report) = ProtocolVersion.negotiate(offered: 2...3) else {
      Issue.record("versions 2–3 and 1–1 have nothing in common")
      return
    }
    #expect(report.code == .unsupportedVersion)
    #expect(
      report.message == "no common protocol version: the box speaks 2–3, the station 1–1")
    // The report itself travels as an error message.
    #expect(try decodeAll(try frame(.error(report))) == [.error(report)])
  }

  @Test("Unknown core types are errors; unknown optional types are skipped whole")
  func unknownTypes() throws {
    #expect(throws: WireError(.unknownMessageType(0x3E), at: 1)) { try decodeAll(bytes("023e00")) }
    #expect(
      try decodeAll(bytes("0441aabbcc020501")) == [
        .skipped(type: 0x41, length: 3), .ping(nonce: 1),
      ])
  }

  @Test("Extensions after a message's fields are skipped; malformed ones are errors")
  func extensions() throws {
    // ping 1, then extension tag 9 with 2 bytes.
    #expect(try decodeAll(bytes("0605010902aabb")) == [.ping(nonce: 1)])
    #expect(throws: WireError(.fieldTooLong(field: "extension", length: 5, limit: 2), at: 4)) {
      try decodeAll(bytes("0605010905aabb"))
    }
  }

  @Test("Batches: limits on record count and body length, ascending sequence numbers")
  func batchLimits() throws {
    let record = WireRecord(
      seq: 1, kind: .sosCancel, priority: .alarm, wallMs: 0, clockTrusted: true, monotonic: nil,
      body: [])
    #expect(throws: WireEncodingError.recordCount(0)) {
      try frame(.batch(Batch(epoch: 1, records: [])))
    }
    #expect(throws: WireEncodingError.recordCount(257)) {
      try frame(
        .batch(
          Batch(
            epoch: 1,
            records: (1...257).map {
              var r = record
              r.seq = UInt64($0)
              return r
            })))
    }
    var second = record
    second.seq = 1
    #expect(throws: WireEncodingError.recordsNotAscending(previous: 1, next: 1)) {
      try frame(.batch(Batch(epoch: 1, records: [record, second])))
    }
    var big = record
    big.kind = .test
    big.body = Array(repeating: 0, count: WireLimits.maxBodyLength + 1)
    #expect(throws: WireEncodingError.bodyTooLong(seq: 1, length: 4097)) {
      try frame(.batch(Batch(epoch: 1, records: [big])))
    }
    // A batch announcing 257 records is rejected at the count, before any record is read.
    var header = ByteBuffer()
    header.writeInteger(UInt8(0x03))
    header.writeWireVarint(257 << 1 | 1)
    header.writeInteger(UInt64(1), endianness: .little)
    var framed = ByteBuffer()
    framed.writeWireVarint(UInt64(header.readableBytes))
    framed.writeBuffer(&header)
    #expect(throws: WireError(.recordCount(count: 257, limit: 256), at: 2)) {
      try decodeAll(framed)
    }
  }

  @Test("A non-canonical journal body travels as bytes and arrives unchanged")
  func nonCanonicalBody() throws {
    // An SOS whose presses varint is written in two bytes: the journal reads it, but re-encoding
    // would change it, so the encoder must not transcode it.
    let body: [UInt8] = [0x81, 0x00, 0x00]
    let record = WireRecord(
      seq: 9, kind: .sos, priority: .alarm, wallMs: 1, clockTrusted: true, monotonic: nil,
      body: body)
    let decoded = try decodeAll(try frame(.batch(Batch(epoch: 1, records: [record]))))
    #expect(decoded == [.batch(Batch(epoch: 1, records: [record]))])
  }

  private func readPrefix(_ buffer: inout ByteBuffer) -> UInt64? {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while let byte = buffer.readInteger(as: UInt8.self) {
      value |= UInt64(byte & 0x7F) << shift
      if byte & 0x80 == 0 { return value }
      shift += 7
    }
    return nil
  }
}

@Suite("Datagram form")
struct DatagramFormTests {
  static let secret: [UInt8] = Array(0..<32)

  @Test("Random datagram messages survive sealing and opening")
  func roundTripProperty() throws {
    let keys = try DatagramKeys(secret: Self.secret)
    var window = ReplayWindow()
    var counter: UInt64 = 0
    for seed in propertySeeds {
      var random = RandomMessages(seed: seed)
      let message = random.message(datagram: true)
      counter += 1
      let header = DatagramHeader(direction: .uplink, device: 4242, keyIndex: 1, counter: counter)
      let sealed: ByteBuffer
      do {
        sealed = try Datagram.seal(message, header: header, keys: keys)
      } catch .frameTooLong {
        continue  // a 256-record batch does not fit a datagram; the encoder says so
      }
      let read = try Datagram.readHeader(sealed)
      #expect(read == header)
      #expect(
        try Datagram.open(sealed, header: read, expecting: .uplink, keys: keys, window: &window)
          == message)
    }
    #expect(window.highest == counter)
  }

  @Test("Every flipped bit of a sealed datagram is rejected; the window does not move")
  func tamperedDatagrams() throws {
    let keys = try DatagramKeys(secret: Self.secret)
    let header = DatagramHeader(direction: .uplink, device: 300, keyIndex: 0, counter: 5)
    let sealed = try Datagram.seal(.ping(nonce: 77), header: header, keys: keys)
    for bit in 0..<(sealed.readableBytes * 8) {
      var bytes = Array(sealed.readableBytesView)
      bytes[bit / 8] ^= 1 << (bit % 8)
      let tampered = ByteBuffer(bytes: bytes)
      var window = ReplayWindow(highest: 4, seen: 1)
      do {
        let read = try Datagram.readHeader(tampered)
        _ = try Datagram.open(
          tampered, header: read, expecting: .uplink, keys: keys, window: &window)
        Issue.record("bit \(bit) flipped and the datagram still opened")
      } catch {
        #expect(window == ReplayWindow(highest: 4, seen: 1), "bit \(bit) moved the window")
      }
    }
  }

  @Test("Replays, old counters and far-future counters are rejected with typed errors")
  func replayWindow() throws {
    let keys = try DatagramKeys(secret: Self.secret)
    var window = ReplayWindow()
    func send(_ counter: UInt64) throws(WireError) -> WireMessage {
      let header = DatagramHeader(direction: .uplink, device: 1, keyIndex: 0, counter: counter)
      let sealed = try! Datagram.seal(.ping(nonce: counter), header: header, keys: keys)
      return try Datagram.open(
        sealed, header: try Datagram.readHeader(sealed), expecting: .uplink, keys: keys,
        window: &window)
    }
    #expect(try send(100) == .ping(nonce: 100))
    #expect(throws: WireError(.replayed(counter: 100), at: 3)) { try send(100) }
    #expect(try send(90) == .ping(nonce: 90))  // reordered within the window
    #expect(throws: WireError(.replayed(counter: 90), at: 3)) { try send(90) }
    #expect(try send(37) == .ping(nonce: 37))  // the lowest the window still covers
    #expect(throws: WireError(.tooOld(counter: 36, lowestAccepted: 37), at: 3)) { try send(36) }
    let far = 100 + ReplayWindow.farFutureLimit + 1
    #expect(throws: WireError(.farFuture(counter: far, highest: 100), at: 3)) { try send(far) }
    #expect(
      try send(100 + ReplayWindow.farFutureLimit) == .ping(nonce: 100 + ReplayWindow.farFutureLimit)
    )
    #expect(throws: WireError.self) { try send(100) }
  }

  @Test("A datagram for the other direction, another key or a wrong length is refused")
  func wrongKeysAndDirections() throws {
    let keys = try DatagramKeys(secret: Self.secret)
    let other = try DatagramKeys(secret: Array(repeating: 7, count: 32))
    let header = DatagramHeader(direction: .uplink, device: 1, keyIndex: 0, counter: 1)
    let sealed = try Datagram.seal(.ping(nonce: 1), header: header, keys: keys)
    var window = ReplayWindow()
    #expect(throws: WireError(.authenticationFailed, at: 6)) {
      try Datagram.open(sealed, header: header, expecting: .uplink, keys: other, window: &window)
    }
    #expect(throws: WireError(.unsupportedDatagramForm(0xD1), at: 0)) {
      try Datagram.open(sealed, header: header, expecting: .downlink, keys: keys, window: &window)
    }
    #expect(window == ReplayWindow())
    // The downlink key differs from the uplink key: a datagram sealed for one direction does
    // not open as the other even with the form byte changed.
    var bytes = Array(sealed.readableBytesView)
    bytes[0] = 0xE1
    let flipped = ByteBuffer(bytes: bytes)
    #expect(throws: WireError(.authenticationFailed, at: 6)) {
      try Datagram.open(
        flipped, header: try Datagram.readHeader(flipped), expecting: .downlink, keys: keys,
        window: &window)
    }
    #expect(throws: WireError(.datagramLength(length: 5, limit: 21...1200), at: 0)) {
      try Datagram.readHeader(ByteBuffer(bytes: [0xD1, 1, 0, 1, 5]))
    }
    #expect(throws: WireError(.unsupportedDatagramForm(0xD2), at: 0)) {
      try Datagram.readHeader(ByteBuffer(bytes: [0xD2] + Array(repeating: 1, count: 30)))
    }
    #expect(throws: WireEncodingError.self) {
      try Datagram.seal(
        .hello(
          Hello(
            device: "x", capabilities: [], epoch: 1, ackFloor: 0, nextSeq: 1, boot: 1, wallMs: 0)),
        header: header, keys: keys)
    }
  }

  @Test("An implied epoch is bound into the tag: the right epoch opens, another or none does not")
  func impliedEpoch() throws {
    let keys = try DatagramKeys(secret: Self.secret)
    let header = DatagramHeader(
      direction: .uplink, device: 77, keyIndex: 3, epochImplied: true, counter: 10)
    let record = WireRecord(
      seq: 5, kind: .sos, priority: .alarm, wallMs: 1_795_316_400_000, clockTrusted: true,
      monotonic: nil, body: RecordBody.sos(presses: 1, position: nil).encoded())
    let message = WireMessage.batch(Batch(epoch: 0xABCD, records: [record]))
    let implied = try Datagram.seal(message, header: header, keys: keys, epoch: 0xABCD)
    let explicit = try Datagram.seal(
      message, header: DatagramHeader(direction: .uplink, device: 77, keyIndex: 3, counter: 10),
      keys: keys)
    #expect(implied.readableBytes == explicit.readableBytes - 8)
    let read = try Datagram.readHeader(implied)
    #expect(read == header)
    var window = ReplayWindow()
    #expect(throws: WireError(.epochUnknown(device: 77), at: 2)) {
      try Datagram.open(implied, header: read, expecting: .uplink, keys: keys, window: &window)
    }
    #expect(throws: WireError(.authenticationFailed, at: 17)) {
      try Datagram.open(
        implied, header: read, expecting: .uplink, keys: keys, window: &window, epoch: 0xABCE)
    }
    #expect(window == ReplayWindow())
    #expect(
      try Datagram.open(
        implied, header: read, expecting: .uplink, keys: keys, window: &window, epoch: 0xABCD)
        == message)
  }

  @Test("Hello, welcome and datagram keys are refused inside a datagram")
  func messagesNotAllowed() throws {
    let keys = try DatagramKeys(secret: Self.secret)
    let header = DatagramHeader(direction: .uplink, device: 1, keyIndex: 0, counter: 1)
    var plaintext = ByteBuffer()
    try plaintext.writeWireMessage(
      .hello(
        Hello(device: "x", capabilities: [], epoch: 1, ackFloor: 0, nextSeq: 1, boot: 1, wallMs: 0))
    )
    let sealed = try Datagram.seal(
      plaintext: Array(plaintext.readableBytesView), header: header, keys: keys)
    var window = ReplayWindow()
    #expect(throws: WireError(.messageNotAllowed(type: 1, form: "datagram"), at: 4)) {
      try Datagram.open(sealed, header: header, expecting: .uplink, keys: keys, window: &window)
    }
  }
}

@Suite("Error reports as logs show them")
struct ErrorReportTextTests {
  /// A box logs the station's refusal with this text, so an administrator reads the code and the
  /// reason, not a Swift value.
  @Test func anErrorReportReadsAsCodeReasonAndOffset() {
    let busy = ErrorReport(code: .busy, message: "the station cannot store now: disk full")
    #expect("\(busy)" == "busy: the station cannot store now: disk full")
    let malformed = ErrorReport(code: .malformed, message: "bad varint", offset: 12)
    #expect("\(malformed)" == "malformed: bad varint (at byte 12)")
    #expect("\(ErrorReport(code: ErrorCode(rawValue: 99), message: "x"))".hasSuffix(": x"))
  }
}
