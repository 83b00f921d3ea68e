import NIOCore
import OutpostCore

/// The per-record flags byte of a batch. See "Batches" in `docs/protocol.md`.
enum RecordFlags {
  /// The sequence number is the previous record's plus one; else a zigzag gap follows.
  static let nextSeq: UInt8 = 1 << 0
  /// The kind is the previous record's; else a kind byte follows.
  static let sameKind: UInt8 = 1 << 1
  /// The priority is the kind's default; else a priority byte follows.
  static let defaultPriority: UInt8 = 1 << 2
  static let clockTrusted: UInt8 = 1 << 3
  /// The time step from the previous record is the previous step again; else a zigzag step
  /// follows.
  static let sameStep: UInt8 = 1 << 4
  /// A monotonic stamp follows.
  static let monotonic: UInt8 = 1 << 5
  /// The body is in its wire form (kinds with one), else a varint length and the journal bytes.
  static let wireBody: UInt8 = 1 << 6
  /// The whole byte `0x80` means: the previous record's flags again, and, for a body in wire
  /// form, the previous position mask again (it is not written). Bit 7 with any other bit is
  /// invalid.
  static let repeatPrevious: UInt8 = 0x80
}

/// What the coding of one record depends on from the records before it. In the stream form it
/// lives as long as the connection (set up by the hello, carried across batches); a datagram
/// starts from ``init()``.
struct RecordContext: Sendable, Hashable {
  var seq: UInt64 = 0
  var kind: RecordKind = .position
  var timeMs: Int64 = 0
  var step: Int64 = 0
  var stamp = MonotonicStamp(boot: 0, sinceBootMs: 0)
  var stampTimeMs: Int64 = 0
  var position: Position?
  var positionTimeMs: Int64 = 0
  var flags: UInt8 = 0
  var mask: UInt8 = 0
}

/// The state one end of a stream connection keeps about the frames it has sent or received.
///
/// A hello binds the connection to a journal epoch, so batches on it need not repeat the epoch,
/// and each record is coded against the one before it, across batches: a live track sent one
/// fix per batch costs what a batched one does. Encoder and decoder each keep one session per
/// connection, updated as frames pass; a datagram is coded against a fresh session.
public struct WireSession: Sendable, Hashable {
  /// The journal epoch the hello named, if one has passed.
  public private(set) var epoch: UInt64?
  var records = RecordContext()

  /// A session before any hello: batches carry their epoch, records start from zero.
  public init() {}

  /// The session a hello opens: its epoch; sequence numbers counted from its ack floor and
  /// times from its clock.
  public init(hello: Hello) {
    epoch = hello.epoch
    records.seq = hello.ackFloor
    records.timeMs = hello.wallMs
    records.stampTimeMs = hello.wallMs
  }

  /// A session for one datagram whose epoch is implied by its header.
  init(impliedEpoch: UInt64?) {
    epoch = impliedEpoch
  }
}

extension ByteBuffer {
  /// Writes a batch payload (after the type byte), coded against `session`, which it updates.
  ///
  /// The epoch is left out when it is the session's.
  ///
  /// - Throws: ``WireEncodingError`` when the batch is empty, too long, out of order, or holds
  ///   a body over the limit; `session` is unchanged then.
  mutating func writeBatch(_ batch: Batch, session: inout WireSession) throws(WireEncodingError) {
    let records = batch.records
    guard !records.isEmpty, records.count <= WireLimits.maxRecordsPerBatch else {
      throw .recordCount(records.count)
    }
    for (previous, next) in zip(records, records.dropFirst()) where next.seq <= previous.seq {
      throw .recordsNotAscending(previous: previous.seq, next: next.seq)
    }
    for record in records where record.body.count > WireLimits.maxBodyLength {
      throw .bodyTooLong(seq: record.seq, length: record.body.count)
    }
    // One varint: the record count, doubled, plus 1 when the epoch follows.
    let epochPresent = session.epoch != batch.epoch
    writeWireVarint(UInt64(records.count) << 1 | (epochPresent ? 1 : 0))
    if epochPresent { writeInteger(batch.epoch, endianness: .little) }
    for record in records { writeRecord(record, context: &session.records) }
  }

  private mutating func writeRecord(_ record: WireRecord, context: inout RecordContext) {
    let typed = WireBody(kind: record.kind, journalBytes: record.body)
    let step = record.wallMs &- context.timeMs
    var flags: UInt8 = 0
    if record.seq == context.seq &+ 1 { flags |= RecordFlags.nextSeq }
    if record.kind == context.kind { flags |= RecordFlags.sameKind }
    if record.priority == record.kind.defaultPriority { flags |= RecordFlags.defaultPriority }
    if record.clockTrusted { flags |= RecordFlags.clockTrusted }
    if step == context.step { flags |= RecordFlags.sameStep }
    if record.monotonic != nil { flags |= RecordFlags.monotonic }
    var plan: PositionPlan?
    if let typed {
      flags |= RecordFlags.wireBody
      plan = PositionPlan(
        typed.position, previous: context.position, recordTimeMs: record.wallMs,
        previousTimeMs: context.positionTimeMs)
    }
    let repeats = flags == context.flags && (plan == nil || plan!.mask == context.mask)
    writeInteger(repeats ? RecordFlags.repeatPrevious : flags)
    if flags & RecordFlags.nextSeq == 0 {
      writeWireSigned(Int64(bitPattern: record.seq &- (context.seq &+ 1)))
    }
    if flags & RecordFlags.sameKind == 0 { writeInteger(record.kind.rawValue) }
    if flags & RecordFlags.defaultPriority == 0 { writeInteger(record.priority.rawValue) }
    if flags & RecordFlags.sameStep == 0 { writeWireSigned(step) }
    if let stamp = record.monotonic {
      writeWireSigned(Int64(stamp.boot) - Int64(context.stamp.boot))
      let elapsed = record.wallMs &- context.stampTimeMs
      writeWireSigned(
        Int64(bitPattern: stamp.sinceBootMs &- context.stamp.sinceBootMs) &- elapsed)
      context.stamp = stamp
      context.stampTimeMs = record.wallMs
    }
    if let typed, let plan {
      typed.writePrefix(into: &self)
      writeWirePosition(
        typed.position, plan: plan, previous: context.position, writeMask: !repeats)
      context.mask = plan.mask
      if let position = typed.position {
        context.position = position
        context.positionTimeMs = record.wallMs
      }
    } else {
      writeWireVarint(UInt64(record.body.count))
      writeBytes(record.body)
    }
    context.seq = record.seq
    context.kind = record.kind
    context.step = step
    context.timeMs = record.wallMs
    context.flags = flags
  }
}

extension WireReader {
  /// Reads a batch payload up to the end of its records (extensions are the caller's), coded
  /// against `session`, which it updates.
  mutating func readBatch(session: inout WireSession) throws(WireError) -> Batch {
    let headerAt = offset
    let header = try readVarint("record count")
    let count = header >> 1
    guard count >= 1, count <= UInt64(WireLimits.maxRecordsPerBatch) else {
      throw WireError(
        .recordCount(count: count, limit: WireLimits.maxRecordsPerBatch), at: headerAt)
    }
    let epoch: UInt64
    if header & 1 != 0 {
      epoch = try readLittleEndian(UInt64.self, "epoch")
    } else if let sessionEpoch = session.epoch {
      epoch = sessionEpoch
    } else {
      throw WireError(
        .invalidValue(field: "epoch (left out, and no hello named one)"), at: headerAt)
    }
    var records: [WireRecord] = []
    // Every record takes at least two bytes: reserve no more than the frame can hold.
    records.reserveCapacity(min(Int(count), remaining / 2))
    for index in 0..<Int(count) {
      let at = offset
      let record = try readRecord(context: &session.records)
      if index > 0, record.seq <= records[index - 1].seq {
        throw WireError(
          .invalidValue(field: "sequence number (not ascending in the batch)"), at: at)
      }
      records.append(record)
    }
    return Batch(epoch: epoch, records: records)
  }

  private mutating func readRecord(context: inout RecordContext) throws(WireError) -> WireRecord {
    let flagsAt = offset
    var flags = try readByte("record flags")
    let repeats = flags == RecordFlags.repeatPrevious
    if repeats {
      flags = context.flags
    } else if flags & RecordFlags.repeatPrevious != 0 {
      throw WireError(.invalidValue(field: "record flags (bit 7 with other bits)"), at: flagsAt)
    }
    var seq = context.seq &+ 1
    if flags & RecordFlags.nextSeq == 0 {
      seq = seq &+ UInt64(bitPattern: try readSigned("sequence gap"))
    }
    let kind =
      flags & RecordFlags.sameKind != 0
      ? context.kind : RecordKind(rawValue: try readByte("kind"))
    let priority: Priority
    if flags & RecordFlags.defaultPriority != 0 {
      priority = kind.defaultPriority
    } else {
      let at = offset
      guard let explicit = Priority(rawValue: try readByte("priority")) else {
        throw WireError(.invalidValue(field: "priority"), at: at)
      }
      priority = explicit
    }
    var step = context.step
    if flags & RecordFlags.sameStep == 0 { step = try readSigned("time step") }
    // Steps wrap around, as the encoder computes them: every pair of times has one step.
    let time = context.timeMs &+ step
    var stamp: MonotonicStamp?
    if flags & RecordFlags.monotonic != 0 {
      let bootAt = offset
      let boot = Int64(context.stamp.boot) &+ (try readSigned("boot delta"))
      guard let boot = UInt32(exactly: boot) else {
        throw WireError(.invalidValue(field: "boot"), at: bootAt)
      }
      let residual = try readSigned("monotonic residual")
      let elapsed = time &- context.stampTimeMs
      let since = context.stamp.sinceBootMs &+ UInt64(bitPattern: residual &+ elapsed)
      let read = MonotonicStamp(boot: boot, sinceBootMs: since)
      stamp = read
      context.stamp = read
      context.stampTimeMs = time
    }
    let body: [UInt8]
    if flags & RecordFlags.wireBody != 0 {
      let bodyAt = offset
      guard
        let wire = try WireBody.read(
          kind: kind, from: &self, previous: context.position, recordTimeMs: time,
          previousTimeMs: context.positionTimeMs, impliedMask: repeats ? context.mask : nil)
      else {
        throw WireError(
          .invalidValue(field: "record flags (kind \(kind) has no wire body)"), at: bodyAt)
      }
      body = wire.body.encoded()
      context.mask = wire.mask
      if let position = wire.position {
        context.position = position
        context.positionTimeMs = time
      }
    } else {
      let at = offset
      let length = try readVarint("body length")
      guard length <= UInt64(WireLimits.maxBodyLength) else {
        throw WireError(
          .fieldTooLong(field: "body", length: length, limit: WireLimits.maxBodyLength), at: at)
      }
      body = try readBytes(Int(length), "body")
    }
    context.seq = seq
    context.kind = kind
    context.step = step
    context.timeMs = time
    context.flags = flags
    return WireRecord(
      seq: seq, kind: kind, priority: priority, wallMs: time,
      clockTrusted: flags & RecordFlags.clockTrusted != 0, monotonic: stamp, body: body)
  }
}

/// The wire form of the bodies that carry a position: the journal's fields, with the position in
/// the delta coding of ``PositionMask``. Other kinds travel as their journal bytes.
struct WireBody {
  var body: RecordBody
  var position: Position?
  var mask: UInt8 = 0

  /// The wire form of `journalBytes`, when the kind has one and the bytes are exactly what the
  /// journal would write for the decoded body (so that the station rebuilds the same bytes).
  init?(kind: RecordKind, journalBytes: [UInt8]) {
    switch kind {
    case .sos, .checkIn, .report, .position: break
    default: return nil
    }
    guard let body = try? RecordBody(kind: kind, bytes: journalBytes),
      body.encoded() == journalBytes
    else { return nil }
    self.init(body: body)
  }

  private init(body: RecordBody, mask: UInt8 = 0) {
    self.body = body
    self.mask = mask
    switch body {
    case .sos(_, let position), .checkIn(_, let position), .report(_, _, let position):
      self.position = position
    case .position(let position): self.position = position
    default: self.position = nil
    }
  }

  /// Writes the fields before the position.
  func writePrefix(into buffer: inout ByteBuffer) {
    switch body {
    case .sos(let presses, _):
      buffer.writeWireVarint(UInt64(presses))
    case .checkIn(let who, _):
      buffer.writeInteger(UInt8(who == nil ? 0 : 1))
      if let who { buffer.writeWireString(who) }
    case .report(let category, let note, _):
      buffer.writeInteger(category.rawValue)
      buffer.writeInteger(UInt8(note == nil ? 0 : 1))
      if let note { buffer.writeWireString(note) }
    default:
      break
    }
  }

  /// Reads the wire body of `kind`, or returns nil when the kind has no wire form.
  static func read(
    kind: RecordKind, from reader: inout WireReader, previous: Position?, recordTimeMs: Int64,
    previousTimeMs: Int64, impliedMask: UInt8?
  ) throws(WireError) -> WireBody? {
    func position(_ reader: inout WireReader) throws(WireError) -> (Position?, UInt8) {
      try reader.readWirePosition(
        previous: previous, recordTimeMs: recordTimeMs, previousTimeMs: previousTimeMs,
        impliedMask: impliedMask)
    }
    switch kind {
    case .sos:
      let presses = try reader.readVarint("presses", max: UInt64(UInt32.max))
      let (fix, mask) = try position(&reader)
      return WireBody(body: .sos(presses: UInt32(presses), position: fix), mask: mask)
    case .checkIn:
      let who =
        try reader.readFlag("who present")
        ? try reader.readString("who", limit: WireLimits.maxCheckInWho) : nil
      let (fix, mask) = try position(&reader)
      return WireBody(body: .checkIn(who: who, position: fix), mask: mask)
    case .report:
      let at = reader.offset
      guard let category = ReportCategory(rawValue: try reader.readByte("category")) else {
        throw WireError(.invalidValue(field: "category"), at: at)
      }
      let note =
        try reader.readFlag("note present")
        ? try reader.readString("note", limit: WireLimits.maxReportNote) : nil
      let (fix, mask) = try position(&reader)
      return WireBody(body: .report(category: category, note: note, position: fix), mask: mask)
    case .position:
      let at = reader.offset
      guard case (let fix?, let mask) = try position(&reader) else {
        throw WireError(
          .invalidValue(field: "position mask (a position record needs a fix)"), at: at)
      }
      return WireBody(body: .position(fix), mask: mask)
    default:
      return nil
    }
  }
}
