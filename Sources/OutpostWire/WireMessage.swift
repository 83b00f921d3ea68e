import OutpostCore

/// The protocol versions this implementation speaks.
public enum ProtocolVersion {
  /// The only version so far.
  public static let current: UInt8 = 1
  /// The lowest and highest version this side accepts in a hello.
  public static let supported: ClosedRange<UInt8> = 1...1

  /// The version a station answers a hello with: the highest that both sides speak.
  ///
  /// - Parameters:
  ///   - offered: the versions the hello offers.
  ///   - supported: the versions this side speaks.
  /// - Returns: the version, or an ``ErrorReport`` (code unsupported-version, naming both
  ///   ranges) to send back before closing.
  public static func negotiate(
    offered: ClosedRange<UInt8>, supported: ClosedRange<UInt8> = supported
  ) -> Result<UInt8, ErrorReport> {
    let low = max(offered.lowerBound, supported.lowerBound)
    let high = min(offered.upperBound, supported.upperBound)
    guard low <= high else {
      return .failure(
        ErrorReport(
          code: .unsupportedVersion,
          message:
            "no common protocol version: the box speaks \(offered.lowerBound)–\(offered.upperBound), "
            + "the station \(supported.lowerBound)–\(supported.upperBound)"))
    }
    return .success(high)
  }
}

extension ErrorReport: Error {}

/// One message of the protocol, in either framing form. See `docs/protocol.md` for the bytes.
public enum WireMessage: Sendable, Hashable {
  /// Box → station, first on every stream connection.
  case hello(Hello)
  /// Station → box, the answer to a hello.
  case welcome(Welcome)
  /// Box → station: records of one journal epoch, delta-coded.
  case batch(Batch)
  /// Station → box: records now durable in the station's store.
  case ack(Acknowledgement)
  /// Either way: are you there? Answered by ``pong(nonce:)`` with the same nonce.
  case ping(nonce: UInt64)
  case pong(nonce: UInt64)
  /// Station → box: an officer acknowledged the incident that the box's alarm opened.
  case incidentAcknowledged(IncidentAcknowledged)
  /// Station → box: an officer closed the incident.
  case incidentHandled(IncidentHandled)
  /// Station → box: send a position now.
  case locateNow(requestID: UInt64)
  /// Station → box: a linked neighbour raised an alarm.
  case neighbourAlert(NeighbourAlert)
  /// Station → box: the station's clock.
  case time(TimeSignal)
  /// Station → box, stream form only: a datagram key to use from now on.
  case datagramKey(DatagramKey)
  /// Either way: what was wrong with what the other side sent.
  case error(ErrorReport)
  /// An optional message (type 0x40 or above) of a newer version, skipped. Only decoders
  /// produce it; encoding it is a programming error.
  case skipped(type: UInt8, length: Int)

  /// The type byte.
  public var type: MessageType {
    switch self {
    case .hello: .hello
    case .welcome: .welcome
    case .batch: .batch
    case .ack: .ack
    case .ping: .ping
    case .pong: .pong
    case .incidentAcknowledged: .incidentAcknowledged
    case .incidentHandled: .incidentHandled
    case .locateNow: .locateNow
    case .neighbourAlert: .neighbourAlert
    case .time: .time
    case .datagramKey: .datagramKey
    case .error: .error
    case .skipped(let type, _): MessageType(rawValue: type)
    }
  }
}

/// The type byte of a message. Types below 0x40 are core (an unknown one is an error); 0x40 and
/// above are optional (an unknown one is skipped).
public struct MessageType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
  /// The byte on the wire.
  public var rawValue: UInt8
  /// The type with this byte, known or not.
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  // The types of version 1; see the table in docs/protocol.md.
  public static let hello = MessageType(rawValue: 0x01)
  public static let welcome = MessageType(rawValue: 0x02)
  public static let batch = MessageType(rawValue: 0x03)
  public static let ack = MessageType(rawValue: 0x04)
  public static let ping = MessageType(rawValue: 0x05)
  public static let pong = MessageType(rawValue: 0x06)
  public static let incidentAcknowledged = MessageType(rawValue: 0x10)
  public static let incidentHandled = MessageType(rawValue: 0x11)
  public static let locateNow = MessageType(rawValue: 0x12)
  public static let neighbourAlert = MessageType(rawValue: 0x13)
  public static let time = MessageType(rawValue: 0x14)
  public static let datagramKey = MessageType(rawValue: 0x15)
  public static let error = MessageType(rawValue: 0x3F)

  /// Whether a receiver that does not know this type may skip it.
  public var isOptional: Bool { rawValue >= 0x40 }

  /// Whether the type may only travel in the stream form: the handshake, and keys, which must
  /// come inside TLS.
  public var isStreamOnly: Bool { self == .hello || self == .welcome || self == .datagramKey }

  public var description: String {
    switch self {
    case .hello: "hello"
    case .welcome: "welcome"
    case .batch: "batch"
    case .ack: "ack"
    case .ping: "ping"
    case .pong: "pong"
    case .incidentAcknowledged: "incident-acknowledged"
    case .incidentHandled: "incident-handled"
    case .locateNow: "locate-now"
    case .neighbourAlert: "neighbour-alert"
    case .time: "time"
    case .datagramKey: "datagram-key"
    case .error: "error"
    default: "type-\(rawValue)"
    }
  }
}

/// What a box can do, announced in its hello so the station knows what to send down.
public struct Capabilities: OptionSet, Sendable, Hashable {
  public var rawValue: UInt64
  public init(rawValue: UInt64) { self.rawValue = rawValue }

  /// The box can send and receive the datagram form.
  public static let datagrams = Capabilities(rawValue: 1 << 0)
  /// The box has a GPS source and answers locate-now.
  public static let locate = Capabilities(rawValue: 1 << 1)
  /// The box can show or sound an officer's acknowledgement (LED, buzzer, display).
  public static let feedback = Capabilities(rawValue: 1 << 2)
  /// The box can sound a neighbour alert.
  public static let neighbourAlerts = Capabilities(rawValue: 1 << 3)
}

/// The box's opening message on a stream connection.
public struct Hello: Sendable, Hashable {
  /// The protocol versions the box speaks.
  public var versions: ClosedRange<UInt8>
  /// The device's enrolled name; must match the name in its certificate.
  public var device: String
  public var capabilities: Capabilities
  /// The epoch of the box's journal.
  public var epoch: UInt64
  /// Every record at or below this sequence number is acknowledged in the box's journal.
  public var ackFloor: UInt64
  /// The sequence number the box's journal will give its next record.
  public var nextSeq: UInt64
  /// The box's current boot.
  public var boot: UInt32
  /// The box's wall clock when it sent the hello, ms since the Unix epoch (trusted or not):
  /// the session codes record times from here.
  public var wallMs: Int64
  /// A trusted wall-clock time for a moment of this boot, when the box has one, so that the
  /// station can correct untrusted record times of the same boot.
  public var timeAnchor: TimeAnchor?

  public init(
    versions: ClosedRange<UInt8> = ProtocolVersion.supported, device: String,
    capabilities: Capabilities, epoch: UInt64, ackFloor: UInt64, nextSeq: UInt64, boot: UInt32,
    wallMs: Int64, timeAnchor: TimeAnchor? = nil
  ) {
    self.versions = versions
    self.device = device
    self.capabilities = capabilities
    self.epoch = epoch
    self.ackFloor = ackFloor
    self.nextSeq = nextSeq
    self.boot = boot
    self.wallMs = wallMs
    self.timeAnchor = timeAnchor
  }
}

/// The station's answer to a hello: the version, and what it already has of the box's epoch.
public struct Welcome: Sendable, Hashable {
  public var version: UInt8
  /// The station's clock, ms since the Unix epoch.
  public var stationTimeMs: Int64
  /// The ranges of this epoch's sequence numbers the station has stored; the box need not send
  /// them again (and may acknowledge them in its journal).
  public var stored: [ClosedRange<UInt64>]
  /// How many unacknowledged batches the box may have in flight.
  public var window: UInt32
  /// The most records the station accepts in one batch.
  public var maxRecordsPerBatch: UInt32
  /// How often the box should ping an idle link, in seconds.
  public var pingIntervalSeconds: UInt32

  public init(
    version: UInt8 = ProtocolVersion.current, stationTimeMs: Int64,
    stored: [ClosedRange<UInt64>], window: UInt32, maxRecordsPerBatch: UInt32,
    pingIntervalSeconds: UInt32
  ) {
    self.version = version
    self.stationTimeMs = stationTimeMs
    self.stored = stored
    self.window = window
    self.maxRecordsPerBatch = maxRecordsPerBatch
    self.pingIntervalSeconds = pingIntervalSeconds
  }
}

/// Records of one journal epoch, in ascending sequence order.
public struct Batch: Sendable, Hashable {
  /// The journal epoch all the records belong to.
  public var epoch: UInt64
  /// 1 to 256 records, sequence numbers strictly ascending.
  public var records: [WireRecord]

  /// A batch; the encoder checks the count, the order and the body lengths.
  public init(epoch: UInt64, records: [WireRecord]) {
    self.epoch = epoch
    self.records = records
  }
}

/// The station has these sequence numbers of `epoch` durably stored.
public struct Acknowledgement: Sendable, Hashable {
  public var epoch: UInt64
  /// Ascending, neither overlapping nor adjacent.
  public var ranges: [ClosedRange<UInt64>]

  public init(epoch: UInt64, ranges: [ClosedRange<UInt64>]) {
    self.epoch = epoch
    self.ranges = ranges
  }
}

/// An officer acknowledged the incident opened by the box's record `seq` of `epoch`.
public struct IncidentAcknowledged: Sendable, Hashable {
  public var epoch: UInt64
  public var seq: UInt64
  /// The officer's short name, at most 32 bytes.
  public var officer: String
  /// An optional short text for the household, at most 120 bytes; empty for none.
  public var note: String
  public var timeMs: Int64

  public init(epoch: UInt64, seq: UInt64, officer: String, note: String = "", timeMs: Int64) {
    self.epoch = epoch
    self.seq = seq
    self.officer = officer
    self.note = note
    self.timeMs = timeMs
  }
}

/// How an officer closed an incident.
public enum IncidentOutcome: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  case resolved = 1
  case falseAlarm = 2

  public var description: String {
    switch self {
    case .resolved: "resolved"
    case .falseAlarm: "false-alarm"
    }
  }
}

/// An officer closed the incident opened by the box's record `seq` of `epoch`.
public struct IncidentHandled: Sendable, Hashable {
  public var epoch: UInt64
  public var seq: UInt64
  public var outcome: IncidentOutcome
  public var officer: String
  public var note: String
  public var timeMs: Int64

  public init(
    epoch: UInt64, seq: UInt64, outcome: IncidentOutcome, officer: String, note: String = "",
    timeMs: Int64
  ) {
    self.epoch = epoch
    self.seq = seq
    self.outcome = outcome
    self.officer = officer
    self.note = note
    self.timeMs = timeMs
  }
}

/// A linked neighbour's alarm, for the box's buzzer.
public struct NeighbourAlert: Sendable, Hashable {
  /// The neighbour household's name, at most 64 bytes.
  public var household: String
  /// The kind of the neighbour's alarm record (sos, sensor-alarm).
  public var kind: RecordKind
  public var position: Position?
  public var timeMs: Int64

  public init(household: String, kind: RecordKind, position: Position?, timeMs: Int64) {
    self.household = household
    self.kind = kind
    self.position = position
    self.timeMs = timeMs
  }
}

/// The station's clock, for boxes without GPS or NTP.
public struct TimeSignal: Sendable, Hashable {
  public var stationTimeMs: Int64
  /// How far off the station believes its own clock may be, in ms.
  public var uncertaintyMs: UInt32

  public init(stationTimeMs: Int64, uncertaintyMs: UInt32) {
    self.stationTimeMs = stationTimeMs
    self.uncertaintyMs = uncertaintyMs
  }
}

/// A datagram key sent over the authenticated stream, for rotation.
public struct DatagramKey: Sendable, Hashable {
  /// The index datagrams sealed with this key will carry (0–127).
  public var index: UInt8
  /// 32 random bytes.
  public var key: [UInt8]

  public init(index: UInt8, key: [UInt8]) {
    self.index = index
    self.key = key
  }
}

/// What was wrong with what the other side sent.
public struct ErrorReport: Sendable, Hashable, CustomStringConvertible {
  public var code: ErrorCode
  /// At most 200 bytes.
  public var message: String
  /// The offset of the offending byte in the offending frame, when there is one.
  public var offset: UInt64?

  public init(code: ErrorCode, message: String, offset: UInt64? = nil) {
    self.code = code
    self.message = message
    self.offset = offset
  }

  /// "CODE: MESSAGE", and the offset when there is one: "malformed: … (at byte 12)".
  public var description: String {
    let at = offset.map { " (at byte \($0))" } ?? ""
    return "\(code): \(message)\(at)"
  }
}

/// The error codes of an ``ErrorReport``. Unknown codes are kept as they are.
public struct ErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
  public var rawValue: UInt64
  public init(rawValue: UInt64) { self.rawValue = rawValue }

  /// A frame could not be decoded; the connection is closed.
  public static let malformed = ErrorCode(rawValue: 1)
  /// No common protocol version; the message names both ranges.
  public static let unsupportedVersion = ErrorCode(rawValue: 2)
  /// The device is not enrolled here.
  public static let unknownDevice = ErrorCode(rawValue: 3)
  /// The device's credentials were revoked.
  public static let revoked = ErrorCode(rawValue: 4)
  /// A message arrived where the protocol does not allow it (a batch before hello).
  public static let unexpectedMessage = ErrorCode(rawValue: 5)
  /// A datagram's counter was replayed, too old or too far ahead.
  public static let counter = ErrorCode(rawValue: 6)
  /// The receiver is overloaded; retry later.
  public static let busy = ErrorCode(rawValue: 7)
  /// The receiver failed internally; retry later.
  public static let internalError = ErrorCode(rawValue: 8)

  public var description: String {
    switch self {
    case .malformed: "malformed"
    case .unsupportedVersion: "unsupported-version"
    case .unknownDevice: "unknown-device"
    case .revoked: "revoked"
    case .unexpectedMessage: "unexpected-message"
    case .counter: "counter"
    case .busy: "busy"
    case .internalError: "internal"
    default: "code-\(rawValue)"
    }
  }
}

/// One record as it travels: the journal record less what the station does not need.
///
/// The monotonic stamp (boot, ms since boot) travels only when the wall clock was not trusted:
/// that is the only case in which the station needs it, to correct the time later.
public struct WireRecord: Sendable, Hashable {
  public var seq: UInt64
  public var kind: RecordKind
  public var priority: Priority
  public var wallMs: Int64
  public var clockTrusted: Bool
  public var monotonic: MonotonicStamp?
  /// The body in the journal's encoding (``RecordBody/encoded()``).
  public var body: [UInt8]

  public init(
    seq: UInt64, kind: RecordKind, priority: Priority, wallMs: Int64, clockTrusted: Bool,
    monotonic: MonotonicStamp?, body: [UInt8]
  ) {
    self.seq = seq
    self.kind = kind
    self.priority = priority
    self.wallMs = wallMs
    self.clockTrusted = clockTrusted
    self.monotonic = monotonic
    self.body = body
  }

  /// The wire form of a journal record: the monotonic stamp is kept only for untrusted times.
  public init(_ record: Record) {
    self.init(
      seq: record.seq, kind: record.kind, priority: record.priority, wallMs: record.time.wallMs,
      clockTrusted: record.time.clockTrusted,
      monotonic: record.time.clockTrusted
        ? nil : MonotonicStamp(boot: record.time.boot, sinceBootMs: record.time.sinceBootMs),
      body: record.body)
  }

  /// The record as the station stores it; a trusted time has no monotonic stamp (boot 0, 0 ms).
  public var record: Record {
    Record(
      seq: seq, kind: kind, priority: priority,
      time: RecordTime(
        wallMs: wallMs, clockTrusted: clockTrusted, boot: monotonic?.boot ?? 0,
        sinceBootMs: monotonic?.sinceBootMs ?? 0),
      body: body)
  }
}

/// A moment on the box's monotonic clock: which boot, how long after it.
public struct MonotonicStamp: Sendable, Hashable {
  public var boot: UInt32
  public var sinceBootMs: UInt64

  public init(boot: UInt32, sinceBootMs: UInt64) {
    self.boot = boot
    self.sinceBootMs = sinceBootMs
  }
}
