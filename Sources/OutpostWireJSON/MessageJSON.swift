import OutpostCore
import OutpostWire

/// A wire message as one JSON object: `type` names the message, the other members are its
/// fields (snake_case; epochs and keys as hex; ranges as `[first, last]` pairs). Used by
/// `outpostctl wire encode|decode` and by the golden vectors.
public struct MessageJSON: Codable, Sendable, Hashable {
  public var type: String
  public var versionMin: UInt8?
  public var versionMax: UInt8?
  public var device: String?
  public var capabilities: UInt64?
  public var epoch: String?
  public var ackFloor: UInt64?
  public var nextSeq: UInt64?
  public var boot: UInt32?
  public var wallMs: Int64?
  public var timeAnchor: AnchorJSON?
  public var version: UInt8?
  public var stationTimeMs: Int64?
  public var stored: [[UInt64]]?
  public var window: UInt32?
  public var maxRecordsPerBatch: UInt32?
  public var pingIntervalS: UInt32?
  public var records: [RecordJSON]?
  public var ranges: [[UInt64]]?
  public var nonce: UInt64?
  public var seq: UInt64?
  public var officer: String?
  public var note: String?
  public var timeMs: Int64?
  public var outcome: String?
  public var requestId: UInt64?
  public var household: String?
  public var kind: String?
  public var position: PositionJSON?
  public var uncertaintyMs: UInt32?
  public var keyIndex: UInt8?
  public var key: String?
  public var code: UInt64?
  public var codeName: String?
  public var message: String?
  public var offset: UInt64?
  public var messageType: UInt8?
  public var length: Int?

  public init(type: String) { self.type = type }

  /// The JSON of `message`.
  public init(_ message: WireMessage) {
    type = message.type.description
    switch message {
    case .hello(let hello):
      versionMin = hello.versions.lowerBound
      versionMax = hello.versions.upperBound
      device = hello.device
      capabilities = hello.capabilities.rawValue
      epoch = hex64(hello.epoch)
      ackFloor = hello.ackFloor
      nextSeq = hello.nextSeq
      boot = hello.boot
      wallMs = hello.wallMs
      timeAnchor = hello.timeAnchor.map {
        AnchorJSON(boot: $0.boot, sinceBootMs: $0.sinceBootMs, wallMs: $0.wallMs)
      }
    case .welcome(let welcome):
      version = welcome.version
      stationTimeMs = welcome.stationTimeMs
      stored = welcome.stored.map { [$0.lowerBound, $0.upperBound] }
      window = welcome.window
      maxRecordsPerBatch = welcome.maxRecordsPerBatch
      pingIntervalS = welcome.pingIntervalSeconds
    case .batch(let batch):
      epoch = hex64(batch.epoch)
      records = batch.records.map(RecordJSON.init)
    case .ack(let ack):
      epoch = hex64(ack.epoch)
      ranges = ack.ranges.map { [$0.lowerBound, $0.upperBound] }
    case .ping(let nonce), .pong(let nonce):
      self.nonce = nonce
    case .incidentAcknowledged(let ack):
      epoch = hex64(ack.epoch)
      seq = ack.seq
      officer = ack.officer
      note = ack.note
      timeMs = ack.timeMs
    case .incidentHandled(let handled):
      epoch = hex64(handled.epoch)
      seq = handled.seq
      outcome = handled.outcome.description
      officer = handled.officer
      note = handled.note
      timeMs = handled.timeMs
    case .locateNow(let requestID):
      requestId = requestID
    case .neighbourAlert(let alert):
      household = alert.household
      kind = alert.kind.description
      position = alert.position.map(PositionJSON.init)
      timeMs = alert.timeMs
    case .time(let signal):
      stationTimeMs = signal.stationTimeMs
      uncertaintyMs = signal.uncertaintyMs
    case .datagramKey(let key):
      keyIndex = key.index
      self.key = Hex.encode(key.key)
    case .error(let report):
      code = report.code.rawValue
      codeName = report.code.description
      self.message = report.message
      offset = report.offset
    case .skipped(let type, let length):
      self.type = "skipped"
      messageType = type
      self.length = length
    }
  }

  /// The message this JSON describes.
  ///
  /// - Throws: ``JSONInputError`` naming the member that is missing or wrong.
  public func wireMessage() throws(JSONInputError) -> WireMessage {
    func need<T>(_ value: T?, _ field: String) throws(JSONInputError) -> T {
      guard let value else { throw JSONInputError(field, "missing for a \(type) message") }
      return value
    }
    func epochValue() throws(JSONInputError) -> UInt64 {
      try parseHex64(need(epoch, "epoch"), field: "epoch")
    }
    func rangeList(_ pairs: [[UInt64]], _ field: String) throws(JSONInputError) -> [ClosedRange<
      UInt64
    >] {
      var out: [ClosedRange<UInt64>] = []
      for pair in pairs {
        guard pair.count == 2, pair[0] <= pair[1] else {
          throw JSONInputError(field, "each range is [first, last] with first <= last")
        }
        out.append(pair[0]...pair[1])
      }
      return out
    }
    switch type {
    case "hello":
      let low = try need(versionMin, "version_min")
      let high = try need(versionMax, "version_max")
      guard low <= high else { throw JSONInputError("version_min", "above version_max") }
      return .hello(
        Hello(
          versions: low...high, device: try need(device, "device"),
          capabilities: Capabilities(rawValue: capabilities ?? 0), epoch: try epochValue(),
          ackFloor: try need(ackFloor, "ack_floor"), nextSeq: try need(nextSeq, "next_seq"),
          boot: try need(boot, "boot"), wallMs: try need(wallMs, "wall_ms"),
          timeAnchor: timeAnchor.map {
            TimeAnchor(boot: $0.boot, sinceBootMs: $0.sinceBootMs, wallMs: $0.wallMs)
          }))
    case "welcome":
      return .welcome(
        Welcome(
          version: try need(version, "version"),
          stationTimeMs: try need(stationTimeMs, "station_time_ms"),
          stored: try rangeList(stored ?? [], "stored"), window: try need(window, "window"),
          maxRecordsPerBatch: try need(maxRecordsPerBatch, "max_records_per_batch"),
          pingIntervalSeconds: try need(pingIntervalS, "ping_interval_s")))
    case "batch":
      var wire: [WireRecord] = []
      for (index, record) in try need(records, "records").enumerated() {
        do {
          wire.append(try record.wireRecord())
        } catch {
          throw JSONInputError("records[\(index)].\(error.field)", error.problem)
        }
      }
      return .batch(Batch(epoch: try epochValue(), records: wire))
    case "ack":
      return .ack(
        Acknowledgement(
          epoch: try epochValue(), ranges: try rangeList(try need(ranges, "ranges"), "ranges")))
    case "ping": return .ping(nonce: try need(nonce, "nonce"))
    case "pong": return .pong(nonce: try need(nonce, "nonce"))
    case "incident-acknowledged":
      return .incidentAcknowledged(
        IncidentAcknowledged(
          epoch: try epochValue(), seq: try need(seq, "seq"), officer: try need(officer, "officer"),
          note: note ?? "", timeMs: try need(timeMs, "time_ms")))
    case "incident-handled":
      let name = try need(outcome, "outcome")
      guard let outcome = IncidentOutcome.allCases.first(where: { $0.description == name }) else {
        throw JSONInputError("outcome", "use resolved or false-alarm, not \"\(name)\"")
      }
      return .incidentHandled(
        IncidentHandled(
          epoch: try epochValue(), seq: try need(seq, "seq"), outcome: outcome,
          officer: try need(officer, "officer"), note: note ?? "",
          timeMs: try need(timeMs, "time_ms")))
    case "locate-now": return .locateNow(requestID: try need(requestId, "request_id"))
    case "neighbour-alert":
      let name = try need(kind, "kind")
      guard let kind = RecordKind(name: name) else {
        throw JSONInputError("kind", "unknown kind \"\(name)\"")
      }
      return .neighbourAlert(
        NeighbourAlert(
          household: try need(household, "household"), kind: kind, position: position?.position,
          timeMs: try need(timeMs, "time_ms")))
    case "time":
      return .time(
        TimeSignal(
          stationTimeMs: try need(stationTimeMs, "station_time_ms"),
          uncertaintyMs: uncertaintyMs ?? 0))
    case "datagram-key":
      let text = try need(key, "key")
      guard let bytes = Hex.decode(text) else { throw JSONInputError("key", "not hex") }
      return .datagramKey(DatagramKey(index: try need(keyIndex, "key_index"), key: bytes))
    case "error":
      return .error(
        ErrorReport(
          code: ErrorCode(rawValue: try need(code, "code")), message: message ?? "", offset: offset)
      )
    default:
      throw JSONInputError(
        "type",
        "unknown message type \"\(type)\"; use hello, welcome, batch, ack, ping, pong, incident-acknowledged, incident-handled, locate-now, neighbour-alert, time, datagram-key or error"
      )
    }
  }

  enum CodingKeys: String, CodingKey {
    case type
    case versionMin = "version_min"
    case versionMax = "version_max"
    case device, capabilities, epoch
    case ackFloor = "ack_floor"
    case nextSeq = "next_seq"
    case boot
    case wallMs = "wall_ms"
    case timeAnchor = "time_anchor"
    case version
    case stationTimeMs = "station_time_ms"
    case stored, window
    case maxRecordsPerBatch = "max_records_per_batch"
    case pingIntervalS = "ping_interval_s"
    case records, ranges, nonce, seq, officer, note
    case timeMs = "time_ms"
    case outcome
    case requestId = "request_id"
    case household, kind, position
    case uncertaintyMs = "uncertainty_ms"
    case keyIndex = "key_index"
    case key, code
    case codeName = "code_name"
    case message, offset
    case messageType = "message_type"
    case length
  }
}

/// A time anchor as JSON.
public struct AnchorJSON: Codable, Sendable, Hashable {
  public var boot: UInt32
  public var sinceBootMs: UInt64
  public var wallMs: Int64

  public init(boot: UInt32, sinceBootMs: UInt64, wallMs: Int64) {
    self.boot = boot
    self.sinceBootMs = sinceBootMs
    self.wallMs = wallMs
  }

  enum CodingKeys: String, CodingKey {
    case boot
    case sinceBootMs = "since_boot_ms"
    case wallMs = "wall_ms"
  }
}

/// An epoch as 16 lower-case hex digits.
public func hex64(_ value: UInt64) -> String {
  let digits = String(value, radix: 16)
  return String(repeating: "0", count: 16 - digits.count) + digits
}

/// An epoch written as ``hex64(_:)`` writes it (or with fewer digits).
///
/// - Throws: ``JSONInputError`` naming `field` when `text` is not a 64-bit hex number.
func parseHex64(_ text: String, field: String) throws(JSONInputError) -> UInt64 {
  guard let value = UInt64(text, radix: 16) else {
    throw JSONInputError(field, "\"\(text)\" is not a 64-bit hex number")
  }
  return value
}
