import NIOCore
import OutpostCore

extension ByteBuffer {
  /// Writes `message` as its type byte and payload, the part both framing forms share.
  ///
  /// - Throws: ``WireEncodingError`` when the message breaks a limit of the protocol.
  public mutating func writeWireMessage(_ message: WireMessage) throws(WireEncodingError) {
    var session = WireSession()
    try writeWireMessage(message, session: &session)
  }

  /// Writes `message` coded against `session`, and updates the session: a hello opens a new
  /// one, a batch moves its record context on. On a throw nothing about the session changes.
  public mutating func writeWireMessage(
    _ message: WireMessage, session: inout WireSession
  ) throws(WireEncodingError) {
    writeInteger(message.type.rawValue)
    switch message {
    case .hello(let hello):
      writeWireVarint(UInt64(hello.versions.lowerBound))
      writeWireVarint(UInt64(hello.versions.upperBound))
      try writeLimitedString(hello.device, "device name", WireLimits.maxDeviceName)
      writeWireVarint(hello.capabilities.rawValue)
      writeInteger(hello.epoch, endianness: .little)
      writeWireVarint(hello.ackFloor)
      writeWireVarint(hello.nextSeq)
      writeWireVarint(UInt64(hello.boot))
      writeWireSigned(hello.wallMs)
      if let anchor = hello.timeAnchor {
        writeInteger(UInt8(1))
        writeWireVarint(UInt64(anchor.boot))
        writeWireVarint(anchor.sinceBootMs)
        writeWireSigned(anchor.wallMs)
      } else {
        writeInteger(UInt8(0))
      }
      session = WireSession(hello: hello)
    case .welcome(let welcome):
      writeWireVarint(UInt64(welcome.version))
      writeWireSigned(welcome.stationTimeMs)
      try writeRanges(welcome.stored)
      writeWireVarint(UInt64(welcome.window))
      writeWireVarint(UInt64(welcome.maxRecordsPerBatch))
      writeWireVarint(UInt64(welcome.pingIntervalSeconds))
    case .batch(let batch):
      try writeBatch(batch, session: &session)
    case .ack(let ack):
      writeInteger(ack.epoch, endianness: .little)
      try writeRanges(ack.ranges)
    case .ping(let nonce), .pong(let nonce):
      writeWireVarint(nonce)
    case .incidentAcknowledged(let ack):
      writeInteger(ack.epoch, endianness: .little)
      writeWireVarint(ack.seq)
      try writeLimitedString(ack.officer, "officer", WireLimits.maxOfficerName)
      try writeLimitedString(ack.note, "note", WireLimits.maxNote)
      writeWireSigned(ack.timeMs)
    case .incidentHandled(let handled):
      writeInteger(handled.epoch, endianness: .little)
      writeWireVarint(handled.seq)
      writeInteger(handled.outcome.rawValue)
      try writeLimitedString(handled.officer, "officer", WireLimits.maxOfficerName)
      try writeLimitedString(handled.note, "note", WireLimits.maxNote)
      writeWireSigned(handled.timeMs)
    case .locateNow(let requestID):
      writeWireVarint(requestID)
    case .neighbourAlert(let alert):
      try writeLimitedString(alert.household, "household", WireLimits.maxHousehold)
      writeInteger(alert.kind.rawValue)
      writeWireSigned(alert.timeMs)
      writeWirePosition(
        alert.position, previous: nil, recordTimeMs: alert.timeMs, previousTimeMs: 0)
    case .time(let signal):
      writeWireSigned(signal.stationTimeMs)
      writeWireVarint(UInt64(signal.uncertaintyMs))
    case .datagramKey(let key):
      guard key.key.count == WireLimits.datagramKeyLength else {
        throw .invalidKeyLength(key.key.count)
      }
      guard key.index < 0x80 else { throw .notEncodable("datagram key indexes are 0–127") }
      writeInteger(key.index)
      writeBytes(key.key)
    case .error(let report):
      writeWireVarint(report.code.rawValue)
      try writeLimitedString(report.message, "error message", WireLimits.maxErrorMessage)
      writeWireVarint(report.offset.map { $0 &+ 1 } ?? 0)
    case .skipped:
      throw .notEncodable("a skipped message cannot be encoded")
    }
  }

  private mutating func writeLimitedString(
    _ value: String, _ field: String, _ limit: Int
  ) throws(WireEncodingError) {
    let length = value.utf8.count
    guard length <= limit else { throw .fieldTooLong(field: field, length: length, limit: limit) }
    writeWireString(value)
  }

  /// A count, then for each range the gap from the previous range (minus the one number that
  /// must separate them) and its length minus one.
  private mutating func writeRanges(_ ranges: [ClosedRange<UInt64>]) throws(WireEncodingError) {
    guard ranges.count <= WireLimits.maxRanges else { throw .tooManyRanges(ranges.count) }
    writeWireVarint(UInt64(ranges.count))
    var previousEnd: UInt64?
    for range in ranges {
      if let previousEnd {
        guard previousEnd < UInt64.max - 1, range.lowerBound >= previousEnd + 2 else {
          throw .rangesNotAscending
        }
        writeWireVarint(range.lowerBound - previousEnd - 2)
      } else {
        writeWireVarint(range.lowerBound)
      }
      writeWireVarint(range.upperBound - range.lowerBound)
      previousEnd = range.upperBound
    }
  }
}

extension WireReader {
  /// Reads the message of `type` from the rest of the frame, then its extensions.
  ///
  /// - Parameter datagram: whether the frame came in the datagram form, where hello, welcome
  ///   and datagram-key are not allowed.
  mutating func readMessage(
    type: UInt8, typeOffset: Int, datagram: Bool, session: inout WireSession
  ) throws(WireError) -> WireMessage {
    let messageType = MessageType(rawValue: type)
    if datagram, messageType.isStreamOnly {
      throw WireError(.messageNotAllowed(type: type, form: "datagram"), at: typeOffset)
    }
    let message: WireMessage
    switch messageType {
    case .hello:
      let minAt = offset
      let minimum = try readVarint("minimum version", max: UInt64(UInt8.max))
      let maximum = try readVarint("maximum version", max: UInt64(UInt8.max))
      guard minimum <= maximum else {
        throw WireError(.invalidValue(field: "version range"), at: minAt)
      }
      let device = try readString("device name", limit: WireLimits.maxDeviceName)
      let capabilities = Capabilities(rawValue: try readVarint("capabilities"))
      let epoch = try readLittleEndian(UInt64.self, "epoch")
      let ackFloor = try readVarint("ack floor")
      let nextSeq = try readVarint("next sequence number")
      let boot = try readVarint("boot", max: UInt64(UInt32.max))
      let wallMs = try readSigned("wall time")
      var anchor: TimeAnchor?
      if try readFlag("time anchor present") {
        let anchorBoot = try readVarint("anchor boot", max: UInt64(UInt32.max))
        anchor = TimeAnchor(
          boot: UInt32(anchorBoot), sinceBootMs: try readVarint("anchor since boot"),
          wallMs: try readSigned("anchor wall time"))
      }
      let hello = Hello(
        versions: UInt8(minimum)...UInt8(maximum), device: device, capabilities: capabilities,
        epoch: epoch, ackFloor: ackFloor, nextSeq: nextSeq, boot: UInt32(boot), wallMs: wallMs,
        timeAnchor: anchor)
      try skipExtensions()
      session = WireSession(hello: hello)
      return .hello(hello)
    case .welcome:
      let version = try readVarint("version", max: UInt64(UInt8.max))
      let time = try readSigned("station time")
      let stored = try readRanges("stored ranges")
      let window = try readVarint("window", max: UInt64(UInt32.max))
      let maxRecords = try readVarint("records per batch", max: UInt64(UInt32.max))
      let ping = try readVarint("ping interval", max: UInt64(UInt32.max))
      message = .welcome(
        Welcome(
          version: UInt8(version), stationTimeMs: time, stored: stored, window: UInt32(window),
          maxRecordsPerBatch: UInt32(maxRecords), pingIntervalSeconds: UInt32(ping)))
    case .batch:
      // The session moves on only once the whole frame has been read.
      var next = session
      let batch = try readBatch(session: &next)
      try skipExtensions()
      session = next
      return .batch(batch)
    case .ack:
      let epoch = try readLittleEndian(UInt64.self, "epoch")
      message = .ack(Acknowledgement(epoch: epoch, ranges: try readRanges("acknowledged ranges")))
    case .ping:
      message = .ping(nonce: try readVarint("nonce"))
    case .pong:
      message = .pong(nonce: try readVarint("nonce"))
    case .incidentAcknowledged:
      message = .incidentAcknowledged(
        IncidentAcknowledged(
          epoch: try readLittleEndian(UInt64.self, "epoch"), seq: try readVarint("sequence number"),
          officer: try readString("officer", limit: WireLimits.maxOfficerName),
          note: try readString("note", limit: WireLimits.maxNote),
          timeMs: try readSigned("time")))
    case .incidentHandled:
      let epoch = try readLittleEndian(UInt64.self, "epoch")
      let seq = try readVarint("sequence number")
      let at = offset
      guard let outcome = IncidentOutcome(rawValue: try readByte("outcome")) else {
        throw WireError(.invalidValue(field: "outcome"), at: at)
      }
      message = .incidentHandled(
        IncidentHandled(
          epoch: epoch, seq: seq, outcome: outcome,
          officer: try readString("officer", limit: WireLimits.maxOfficerName),
          note: try readString("note", limit: WireLimits.maxNote),
          timeMs: try readSigned("time")))
    case .locateNow:
      message = .locateNow(requestID: try readVarint("request id"))
    case .neighbourAlert:
      let household = try readString("household", limit: WireLimits.maxHousehold)
      let kind = RecordKind(rawValue: try readByte("kind"))
      let time = try readSigned("time")
      let position = try readWirePosition(previous: nil, recordTimeMs: time, previousTimeMs: 0)
        .position
      message = .neighbourAlert(
        NeighbourAlert(household: household, kind: kind, position: position, timeMs: time))
    case .time:
      message = .time(
        TimeSignal(
          stationTimeMs: try readSigned("station time"),
          uncertaintyMs: UInt32(try readVarint("uncertainty", max: UInt64(UInt32.max)))))
    case .datagramKey:
      let indexAt = offset
      let index = try readByte("key index")
      guard index < 0x80 else { throw WireError(.invalidValue(field: "key index"), at: indexAt) }
      message = .datagramKey(
        DatagramKey(index: index, key: try readBytes(WireLimits.datagramKeyLength, "key")))
    case .error:
      let code = ErrorCode(rawValue: try readVarint("error code"))
      let text = try readString("error message", limit: WireLimits.maxErrorMessage)
      let offsetPlusOne = try readVarint("error offset")
      message = .error(
        ErrorReport(code: code, message: text, offset: offsetPlusOne == 0 ? nil : offsetPlusOne - 1)
      )
    default:
      guard messageType.isOptional else {
        throw WireError(.unknownMessageType(type), at: typeOffset)
      }
      let length = remaining
      buffer.moveReaderIndex(forwardBy: length)
      return .skipped(type: type, length: length)
    }
    try skipExtensions()
    return message
  }

  private mutating func readRanges(_ field: String) throws(WireError) -> [ClosedRange<UInt64>] {
    let countAt = offset
    let count = try readVarint("\(field) count")
    guard count <= UInt64(WireLimits.maxRanges) else {
      throw WireError(
        .listTooLong(field: field, count: count, limit: WireLimits.maxRanges), at: countAt)
    }
    var ranges: [ClosedRange<UInt64>] = []
    // Every range takes at least two bytes: reserve no more than the frame can hold.
    ranges.reserveCapacity(min(Int(count), remaining / 2))
    var previousEnd: UInt64?
    for _ in 0..<Int(count) {
      let at = offset
      let gap = try readVarint("range start")
      var start = gap
      if let previousEnd {
        let (a, o1) = previousEnd.addingReportingOverflow(gap)
        let (b, o2) = a.addingReportingOverflow(2)
        guard !o1, !o2 else { throw WireError(.invalidValue(field: "range start"), at: at) }
        start = b
      }
      let lengthAt = offset
      let span = try readVarint("range length")
      let (end, overflow) = start.addingReportingOverflow(span)
      guard !overflow else { throw WireError(.invalidValue(field: "range length"), at: lengthAt) }
      ranges.append(start...end)
      previousEnd = end
    }
    return ranges
  }
}
