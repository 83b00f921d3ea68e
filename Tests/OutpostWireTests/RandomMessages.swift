import OutpostCore
import OutpostTestKit
import OutpostWire

/// Random but valid messages for the round-trip properties: every field drawn across its whole
/// range now and then, so edges (zero, maxima, negative times, sequence numbers near 2^64) are hit.
struct RandomMessages {
  var random: SeededRandom

  init(seed: UInt64) { random = SeededRandom(seed: seed) }

  mutating func pick<T>(_ choices: [T]) -> T {
    choices[Int.random(in: 0..<choices.count, using: &random)]
  }

  mutating func u64() -> UInt64 {
    switch Int.random(in: 0..<4, using: &random) {
    case 0: pick([0, 1, 127, 128, 16_383, 16_384, UInt64.max - 1, UInt64.max])
    case 1: UInt64.random(in: 0...1_000, using: &random)
    case 2: UInt64.random(in: 0...(1 << 40), using: &random)
    default: random.next()
    }
  }

  mutating func i64() -> Int64 {
    switch Int.random(in: 0..<4, using: &random) {
    case 0: pick([0, -1, 1, Int64.min, Int64.max, -64, 63, -65, 64])
    case 1: Int64.random(in: 1_700_000_000_000...1_900_000_000_000, using: &random)
    case 2: Int64.random(in: -100_000...100_000, using: &random)
    default: Int64(bitPattern: random.next())
    }
  }

  mutating func text(limit: Int) -> String {
    let length = Int.random(in: 0...min(limit / 3, 40), using: &random)
    let alphabet: [Character] = ["a", "Z", "0", " ", "-", "é", "ж", "蒙", "\"", "\\", "\n"]
    var out = ""
    for _ in 0..<length { out.append(pick(alphabet)) }
    while out.utf8.count > limit { out.removeLast() }
    return out
  }

  mutating func position(near previous: Position? = nil) -> Position {
    var p: Position
    if let previous, random.chance(0.7) {
      p = previous
      p.latitudeE7 = Int32(
        clamping: Int64(previous.latitudeE7) + Int64.random(in: -20_000...20_000, using: &random))
      p.longitudeE7 = Int32(
        clamping: Int64(previous.longitudeE7) + Int64.random(in: -20_000...20_000, using: &random))
      if random.chance(0.3) {
        p.altitudeDm = random.chance(0.9) ? Int32.random(in: -500...9000, using: &random) : nil
      }
      if random.chance(0.3) {
        p.speedCmPerS = random.chance(0.9) ? UInt32.random(in: 0...3000, using: &random) : nil
      }
      if random.chance(0.3) {
        p.headingCdeg = random.chance(0.9) ? UInt16.random(in: 0..<36000, using: &random) : nil
      }
      if random.chance(0.1) {
        p.hdopCenti = random.chance(0.9) ? UInt16.random(in: 50...900, using: &random) : nil
      }
      if random.chance(0.1) {
        p.satellites = random.chance(0.9) ? UInt8.random(in: 0...30, using: &random) : nil
      }
      if random.chance(0.1) { p.fixTimeMs = random.chance(0.5) ? i64() : nil }
      return p
    }
    p = Position(
      latitudeE7: Int32.random(in: Int32.min...Int32.max, using: &random),
      longitudeE7: Int32.random(in: Int32.min...Int32.max, using: &random))
    if random.chance(0.5) { p.altitudeDm = Int32.random(in: Int32.min...Int32.max, using: &random) }
    if random.chance(0.5) { p.speedCmPerS = UInt32.random(in: 0...UInt32.max, using: &random) }
    if random.chance(0.5) { p.headingCdeg = UInt16.random(in: 0...UInt16.max, using: &random) }
    if random.chance(0.5) { p.hdopCenti = UInt16.random(in: 0...UInt16.max, using: &random) }
    if random.chance(0.5) { p.satellites = UInt8.random(in: 0...UInt8.max, using: &random) }
    if random.chance(0.5) { p.fixTimeMs = i64() }
    return p
  }

  mutating func body(previous: inout Position?) -> RecordBody {
    func fix(_ r: inout RandomMessages, _ previous: inout Position?) -> Position? {
      guard r.random.chance(0.8) else { return nil }
      let p = r.position(near: previous)
      previous = p
      return p
    }
    switch Int.random(in: 0..<12, using: &random) {
    case 0:
      return .sos(
        presses: UInt32.random(in: 1...UInt32.max, using: &random), position: fix(&self, &previous))
    case 1: return .sosCancel
    case 2:
      return .checkIn(
        who: random.chance(0.5) ? text(limit: 255) : nil, position: fix(&self, &previous))
    case 3:
      return .report(
        category: pick(ReportCategory.allCases), note: random.chance(0.5) ? text(limit: 1024) : nil,
        position: fix(&self, &previous))
    case 4: return .sensorReading(sensor: text(limit: 64), milliValue: i64())
    case 5:
      return .sensorAlarm(
        sensor: text(limit: 64), alarm: pick(SensorAlarmKind.allCases), milliValue: i64(),
        raised: random.chance(0.5))
    case 6, 7, 8:
      let p = position(near: previous)
      previous = p
      return .position(p)
    case 9:
      return .boxHealth(
        BoxHealth(
          supplyMillivolts: random.chance(0.5)
            ? UInt32.random(in: 0...30_000, using: &random) : nil,
          batteryPercent: random.chance(0.5) ? UInt8.random(in: 0...100, using: &random) : nil,
          uptimeSeconds: u64(), journalFillPermille: UInt16.random(in: 0...1000, using: &random),
          link: pick(LinkState.allCases)))
    case 10:
      let first = u64() / 2
      return .journalGap(
        count: u64(), firstSeq: first, lastSeq: first + UInt64.random(in: 0...1000, using: &random))
    default:
      let length = Int.random(in: 0...(random.chance(0.05) ? 4096 : 40), using: &random)
      return .opaque(
        kind: pick([0, 10, 99, 200, 255]),
        bytes: (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) })
    }
  }

  mutating func records(count: Int) -> [WireRecord] {
    var seq =
      random.chance(0.1)
      ? UInt64.max - UInt64(count) * 3 : UInt64.random(in: 0...1_000_000, using: &random)
    var time = i64()
    var previous: Position?
    var records: [WireRecord] = []
    for _ in 0..<count {
      let body = body(previous: &previous)
      let trusted = random.chance(0.7)
      records.append(
        WireRecord(
          seq: seq, kind: body.kind,
          priority: random.chance(0.8) ? body.kind.defaultPriority : pick(Priority.allCases),
          wallMs: time, clockTrusted: trusted,
          monotonic: trusted && random.chance(0.8)
            ? nil
            : MonotonicStamp(
              boot: UInt32.random(in: 0...UInt32.max, using: &random), sinceBootMs: u64()),
          body: body.encoded()))
      seq += random.chance(0.8) ? 1 : UInt64.random(in: 2...3, using: &random)
      time = random.chance(0.8) ? time &+ Int64.random(in: -10...5000, using: &random) : i64()
    }
    return records
  }

  mutating func ranges() -> [ClosedRange<UInt64>] {
    var out: [ClosedRange<UInt64>] = []
    var next = UInt64.random(in: 0...1000, using: &random)
    for _ in 0..<Int.random(in: 0...6, using: &random) {
      let end = next + UInt64.random(in: 0...50, using: &random)
      out.append(next...end)
      next = end + UInt64.random(in: 2...100, using: &random)
    }
    if random.chance(0.1) { out = [0...UInt64.max] }
    return out
  }

  /// Any message that may travel in the datagram form when `datagram` is true, any at all
  /// otherwise.
  mutating func message(datagram: Bool = false) -> WireMessage {
    while true {
      let message: WireMessage
      switch Int.random(in: 0..<13, using: &random) {
      case 0:
        let low = UInt8.random(in: 0...10, using: &random)
        message = .hello(
          Hello(
            versions: low...(low + UInt8.random(in: 0...3, using: &random)),
            device: text(limit: 64),
            capabilities: Capabilities(rawValue: u64()), epoch: random.next(), ackFloor: u64(),
            nextSeq: u64(), boot: UInt32.random(in: 0...UInt32.max, using: &random), wallMs: i64(),
            timeAnchor: random.chance(0.5)
              ? TimeAnchor(
                boot: UInt32.random(in: 0...UInt32.max, using: &random), sinceBootMs: u64(),
                wallMs: i64())
              : nil))
      case 1:
        message = .welcome(
          Welcome(
            version: UInt8.random(in: 0...255, using: &random), stationTimeMs: i64(),
            stored: ranges(),
            window: UInt32.random(in: 0...UInt32.max, using: &random),
            maxRecordsPerBatch: UInt32.random(in: 0...256, using: &random),
            pingIntervalSeconds: UInt32.random(in: 0...86_400, using: &random)))
      case 2, 3:
        let count = random.chance(0.1) ? 256 : Int.random(in: 1...12, using: &random)
        message = .batch(Batch(epoch: random.next(), records: records(count: count)))
      case 4: message = .ack(Acknowledgement(epoch: random.next(), ranges: ranges()))
      case 5: message = random.chance(0.5) ? .ping(nonce: u64()) : .pong(nonce: u64())
      case 6:
        message = .incidentAcknowledged(
          IncidentAcknowledged(
            epoch: random.next(), seq: u64(), officer: text(limit: 32), note: text(limit: 120),
            timeMs: i64()))
      case 7:
        message = .incidentHandled(
          IncidentHandled(
            epoch: random.next(), seq: u64(), outcome: pick(IncidentOutcome.allCases),
            officer: text(limit: 32), note: text(limit: 120), timeMs: i64()))
      case 8: message = .locateNow(requestID: u64())
      case 9:
        message = .neighbourAlert(
          NeighbourAlert(
            household: text(limit: 64), kind: pick([.sos, .sensorAlarm, .unknown(77)]),
            position: random.chance(0.7) ? position() : nil, timeMs: i64()))
      case 10:
        message = .time(
          TimeSignal(
            stationTimeMs: i64(), uncertaintyMs: UInt32.random(in: 0...UInt32.max, using: &random)))
      case 11:
        message = .datagramKey(
          DatagramKey(
            index: UInt8.random(in: 0...127, using: &random),
            key: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }))
      default:
        message = .error(
          ErrorReport(
            code: ErrorCode(rawValue: u64()), message: text(limit: 200),
            offset: random.chance(0.5) ? UInt64.random(in: 0...65_536, using: &random) : nil))
      }
      if datagram, message.type.isStreamOnly { continue }
      return message
    }
  }
}
