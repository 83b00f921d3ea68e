import NIOCore
import OutpostCore
import OutpostTestKit
import OutpostWire
import WireWorkload

/// Our own encodings of the benchmark's records, each checked by decoding it again.
enum Outpost {
  /// The datagram keys of the benchmark's box (32 bytes from a fixed seed).
  static let keys: DatagramKeys = {
    var rng = SeededRandom(seed: 0x6B65_7973)
    let secret = (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    return try! DatagramKeys(secret: secret)
  }()

  static func header(counter: UInt64, epochImplied: Bool = false) -> DatagramHeader {
    DatagramHeader(
      direction: .uplink, device: Workloads.deviceNumber, keyIndex: 0,
      epochImplied: epochImplied, counter: counter)
  }

  /// The hello that opens the connection a track is sent on: the box connected a minute before
  /// the first record, with everything before it acknowledged.
  static func hello(before records: [WireRecord]) -> Hello {
    Hello(
      device: "yurt-5021", capabilities: [.datagrams, .locate, .feedback],
      epoch: Workloads.epoch, ackFloor: records[0].seq - 1, nextSeq: records[0].seq, boot: 3,
      wallMs: records[0].wallMs - 60_000)
  }

  /// The stream frames of `batches` sent on one connection after `hello`, each decoded again by
  /// a receiver that follows the same session, and compared. Returns the frames' sizes and the
  /// hello's.
  static func sessionFrames(
    _ batches: [Batch], hello: Hello
  ) throws(BenchError) -> (frames: [Int], hello: Int) {
    var sender = WireSession()
    var receiver = WireSession()
    var stream = ByteBuffer()
    var sizes: [Int] = []
    do {
      try StreamFrame.write(.hello(hello), into: &stream, session: &sender)
      let helloSize = stream.readableBytes
      for batch in batches {
        let before = stream.readableBytes
        try StreamFrame.write(.batch(batch), into: &stream, session: &sender)
        sizes.append(stream.readableBytes - before)
      }
      guard case .hello = try StreamFrame.decode(from: &stream, session: &receiver) else {
        throw BenchError("the hello does not decode as a hello")
      }
      for batch in batches {
        guard case .batch(let back)? = try StreamFrame.decode(from: &stream, session: &receiver)
        else { throw BenchError("a session frame does not decode as a batch") }
        try compare(batch, back, form: "stream session")
      }
      guard stream.readableBytes == 0 else { throw BenchError("bytes left after the session") }
      return (sizes, helloSize)
    } catch let error as BenchError {
      throw error
    } catch {
      throw BenchError("stream session: \(error)")
    }
  }

  /// One stream frame of `batch`, and the check that it decodes to the same batch.
  static func streamFrame(_ batch: Batch) throws(BenchError) -> ByteBuffer {
    let frame: ByteBuffer
    do {
      frame = try StreamFrame.encode(.batch(batch))
    } catch {
      throw BenchError("stream encoding failed: \(error)")
    }
    var copy = frame
    let decoded: WireMessage?
    do {
      decoded = try StreamFrame.decode(from: &copy)
    } catch {
      throw BenchError("stream frame does not decode: \(error)")
    }
    guard copy.readableBytes == 0, case .batch(let back)? = decoded else {
      throw BenchError("stream frame decodes to \(String(describing: decoded))")
    }
    try compare(batch, back, form: "stream")
    return frame
  }

  /// One sealed datagram of `batch`, and the check that it opens to the same batch.
  static func datagram(
    _ batch: Batch, counter: UInt64, epochImplied: Bool = false
  ) throws(BenchError) -> ByteBuffer {
    let sealed: ByteBuffer
    do {
      sealed = try Datagram.seal(
        .batch(batch), header: header(counter: counter, epochImplied: epochImplied), keys: keys,
        epoch: epochImplied ? batch.epoch : nil)
    } catch {
      throw BenchError("datagram sealing failed: \(error)")
    }
    var window = ReplayWindow()
    let opened: WireMessage
    do {
      let header = try Datagram.readHeader(sealed)
      opened = try Datagram.open(
        sealed, header: header, expecting: .uplink, keys: keys, window: &window,
        epoch: epochImplied ? batch.epoch : nil)
    } catch {
      throw BenchError("datagram does not open: \(error)")
    }
    guard case .batch(let back) = opened else {
      throw BenchError("datagram opens to \(opened)")
    }
    try compare(batch, back, form: "datagram")
    return sealed
  }

  /// The datagram size `batch` would take (clear header + type + payload + tag), without
  /// sealing it.
  static func datagramLength(_ batch: Batch, counter: UInt64) throws(BenchError) -> Int {
    var plaintext = ByteBuffer()
    do {
      try plaintext.writeWireMessage(.batch(batch))
    } catch {
      throw BenchError("batch encoding failed: \(error)")
    }
    return header(counter: counter).length + plaintext.readableBytes + Datagram.tagLength
  }

  /// `records` packed greedily into datagrams of at most `limit` bytes, each sealed and opened
  /// again. Returns the datagrams' sizes.
  static func datagrams(
    _ records: [WireRecord], firstCounter: UInt64, limit: Int = WireLimits.maxDatagramLength
  ) throws(BenchError) -> [Int] {
    var sizes: [Int] = []
    var start = 0
    var counter = firstCounter
    while start < records.count {
      var end = start + 1
      while end < records.count, end - start < WireLimits.maxRecordsPerBatch {
        let candidate = Batch(epoch: Workloads.epoch, records: Array(records[start...end]))
        guard try datagramLength(candidate, counter: counter) <= limit else { break }
        end += 1
      }
      let batch = Batch(epoch: Workloads.epoch, records: Array(records[start..<end]))
      sizes.append(try datagram(batch, counter: counter).readableBytes)
      counter += 1
      start = end
    }
    return sizes
  }

  /// Throws, naming the first difference, unless `received` is `sent`.
  static func compare(_ sent: Batch, _ received: Batch, form: String) throws(BenchError) {
    guard sent != received else { return }
    guard sent.epoch == received.epoch else {
      throw BenchError("\(form) round trip: epoch \(sent.epoch) came back as \(received.epoch)")
    }
    guard sent.records.count == received.records.count else {
      throw BenchError(
        "\(form) round trip: \(sent.records.count) records came back as \(received.records.count)")
    }
    for (a, b) in zip(sent.records, received.records) where a != b {
      var detail = "\(a) came back as \(b)"
      if let bodyA = try? RecordBody(kind: a.kind, bytes: a.body),
        let bodyB = try? RecordBody(kind: b.kind, bytes: b.body)
      {
        detail += "; bodies \(bodyA) / \(bodyB)"
      }
      throw BenchError("\(form) round trip differs at seq \(a.seq): \(detail)")
    }
  }
}

/// The sizes of one track, in every encoding compared.
struct TrackSizes {
  var name: String
  var points: Int
  /// Batches of up to 256 records on one connection, after its hello.
  var streamFrames: [Int]
  /// One record a batch on one connection, as a live box sends fixes while its link is up.
  var liveFrames: [Int]
  /// The connection's hello, once per connection (not counted per point).
  var helloBytes: Int
  /// Each batch on a connection of its own (no session: the epoch and absolute values travel).
  var standaloneFrames: [Int]
  var datagrams: [Int]
  /// The cost of one more point in the middle of a batch: the first batch's frame with all its
  /// points less the frame with its first point only, per added point.
  var marginalStream: Double
  var codec8TCP: [Int]
  var codec8UDP: [Int]
  var codec8TCPWithHDOP: [Int]
  var jt808Single: [Int]
  var jt808Bulk: [Int]
  var jt808BulkWithSatellites: [Int]

  init(name: String, points track: [TrackPoint]) throws(BenchError) {
    self.name = name
    points = track.count
    let records = Workloads.positionRecords(track, firstSeq: Workloads.firstSeq)
    let batches = Workloads.batches(records)
    let hello = Outpost.hello(before: records)
    (streamFrames, helloBytes) = try Outpost.sessionFrames(batches, hello: hello)
    liveFrames = try Outpost.sessionFrames(
      records.map { Batch(epoch: Workloads.epoch, records: [$0]) }, hello: hello
    ).frames
    standaloneFrames = []
    for batch in batches { standaloneFrames.append(try Outpost.streamFrame(batch).readableBytes) }
    datagrams = try Outpost.datagrams(records, firstCounter: Workloads.datagramCounter)
    if let first = batches.first, first.records.count > 1 {
      let one = Batch(epoch: first.epoch, records: [first.records[0]])
      let oneSize = try Outpost.sessionFrames([one], hello: hello).frames[0]
      marginalStream = Double(streamFrames[0] - oneSize) / Double(first.records.count - 1)
    } else {
      marginalStream = .nan
    }

    let codec8 = track.map { Codec8.record(timeMs: $0.timeMs, position: $0.position, priority: 0) }
    let codec8HDOP = track.map {
      Codec8.record(timeMs: $0.timeMs, position: $0.position, priority: 0, hdop: true)
    }
    codec8TCP = []
    codec8UDP = []
    codec8TCPWithHDOP = []
    for (index, start) in stride(from: 0, to: track.count, by: 255).enumerated() {
      let end = min(start + 255, track.count)
      codec8TCP.append(Codec8.tcpPacket(codec8[start..<end]).count)
      codec8TCPWithHDOP.append(Codec8.tcpPacket(codec8HDOP[start..<end]).count)
      codec8UDP.append(
        Codec8.udpPacket(
          codec8[start..<end], imei: Comparison.imei, packetID: UInt16(truncatingIfNeeded: index),
          avlPacketID: UInt8(truncatingIfNeeded: index)
        ).count)
    }

    let bodies = track.map {
      JT808.locationBody(timeMs: $0.timeMs, position: $0.position, emergency: false)
    }
    let bodiesWithSatellites = track.map {
      JT808.locationBody(
        timeMs: $0.timeMs, position: $0.position, emergency: false, satellites: true)
    }
    jt808Single = bodies.enumerated().map { index, body in
      JT808.frame(
        messageID: JT808.locationReport, serial: UInt16(truncatingIfNeeded: 1000 + index),
        body: body
      ).count
    }
    jt808Bulk = JT808.bulkFrames(bodies, firstSerial: 1000).map(\.count)
    jt808BulkWithSatellites = JT808.bulkFrames(bodiesWithSatellites, firstSerial: 1000).map(
      \.count)
  }

  func perPoint(_ sizes: [Int]) -> Double { Double(sizes.reduce(0, +)) / Double(points) }
}

/// The SOS of the size table in each encoding.
struct SOSSizes {
  var label: String
  /// The bytes of each encoding, for `--hex`.
  var datagramBytes: [UInt8]
  /// Sealed once the station holds records of the epoch: the epoch is bound into the tag.
  var impliedBytes: [UInt8]
  var streamBytes: [UInt8]
  var codec8TCPBytes: [UInt8]
  var codec8UDPBytes: [UInt8]
  var jt808Bytes: [UInt8]

  var datagram: Int { datagramBytes.count }
  var implied: Int { impliedBytes.count }
  var stream: Int { streamBytes.count }
  var codec8TCP: Int { codec8TCPBytes.count }
  var codec8UDP: Int { codec8UDPBytes.count }
  var jt808: Int { jt808Bytes.count }

  init(label: String, position: Position?, timeMs: Int64) throws(BenchError) {
    self.label = label
    let record = Workloads.record(
      seq: Workloads.firstSeq, timeMs: timeMs, body: .sos(presses: 1, position: position))
    let batch = Batch(epoch: Workloads.epoch, records: [record])
    datagramBytes = Array(
      try Outpost.datagram(batch, counter: Workloads.datagramCounter).readableBytesView)
    impliedBytes = Array(
      try Outpost.datagram(batch, counter: Workloads.datagramCounter + 1, epochImplied: true)
        .readableBytesView)
    streamBytes = Array(try Outpost.streamFrame(batch).readableBytesView)
    // Without a fix, the other protocols still send their fixed-size GPS fields (zeros).
    let fix = position ?? Position(latitudeE7: 0, longitudeE7: 0)
    let codec8 = Codec8.sos(timeMs: timeMs, position: fix)
    codec8TCPBytes = Codec8.tcpPacket([codec8][...])
    codec8UDPBytes = Codec8.udpPacket(
      [codec8][...], imei: Comparison.imei, packetID: 1, avlPacketID: 1)
    jt808Bytes = JT808.frame(
      messageID: JT808.locationReport, serial: 1,
      body: JT808.locationBody(timeMs: timeMs, position: fix, emergency: true))
  }
}

enum Comparison {
  /// A 15-digit IMEI (Luhn-valid), as Codec 8 sends it.
  static let imei = "356307042441013"
}
