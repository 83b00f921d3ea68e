import NIOCore
import OutpostCore

/// The per-record flags byte of a batch. See "Batches" in `docs/protocol.md`.
enum RecordFlags {
  /// The sequence number is the previous one plus one (for the first record: the batch's first
  /// sequence number, and the flag must be set).
  static let nextSeq: UInt8 = 1 << 0
  /// The kind is the previous record's (never set on the first record).
  static let sameKind: UInt8 = 1 << 1
  /// The priority is the kind's default.
  static let defaultPriority: UInt8 = 1 << 2
  static let clockTrusted: UInt8 = 1 << 3
  /// The time step from the previous record is the same as the previous step (the first
  /// record's step is 0, from the batch's base time).
  static let sameStep: UInt8 = 1 << 4
  /// A monotonic stamp follows.
  static let monotonic: UInt8 = 1 << 5
  /// The body is in its wire form (kinds with one), else a varint length and the journal bytes.
  static let wireBody: UInt8 = 1 << 6
  static let reserved: UInt8 = 1 << 7
}

/// The state both ends carry from one record of a batch to the next.
private struct BatchContext {
  var seq: UInt64
  var kind: RecordKind?
  var timeMs: Int64
  var step: Int64 = 0
  var stamp: MonotonicStamp = MonotonicStamp(boot: 0, sinceBootMs: 0)
  var stampTimeMs: Int64
  var position: Position?
  var positionTimeMs: Int64 = 0

  init(firstSeq: UInt64, baseTimeMs: Int64) {
    seq = firstSeq &- 1
    timeMs = baseTimeMs
    stampTimeMs = baseTimeMs
  }
}

extension ByteBuffer {
  /// Writes a batch payload (after the type byte).
  ///
  /// - Throws: ``WireEncodingError`` when the batch is empty, too long, out of order, or holds
  ///   a body over the limit.
  mutating func writeBatch(_ batch: Batch) throws(WireEncodingError) {
    let records = batch.records
    guard let first = records.first, records.count <= WireLimits.maxRecordsPerBatch else {
      throw .recordCount(records.count)
    }
    writeInteger(batch.epoch, endianness: .little)
    writeWireVarint(first.seq)
    writeWireVarint(UInt64(records.count))
    writeWireSigned(first.wallMs)
    var context = BatchContext(firstSeq: first.seq, baseTimeMs: first.wallMs)
    for (index, record) in records.enumerated() {
      if index > 0, record.seq <= context.seq {
        throw .recordsNotAscending(previous: context.seq, next: record.seq)
      }
      guard record.body.count <= WireLimits.maxBodyLength else {
        throw .bodyTooLong(seq: record.seq, length: record.body.count)
      }
      try writeRecord(record, context: &context)
    }
  }

  private mutating func writeRecord(
    _ record: WireRecord, context: inout BatchContext
  ) throws(WireEncodingError) {
    let typed = WireBody(kind: record.kind, journalBytes: record.body)
    let step = record.wallMs &- context.timeMs
    var flags: UInt8 = 0
    if record.seq == context.seq &+ 1 { flags |= RecordFlags.nextSeq }
    if let kind = context.kind, kind == record.kind { flags |= RecordFlags.sameKind }
    if record.priority == record.kind.defaultPriority { flags |= RecordFlags.defaultPriority }
    if record.clockTrusted { flags |= RecordFlags.clockTrusted }
    if step == context.step { flags |= RecordFlags.sameStep }
    if record.monotonic != nil { flags |= RecordFlags.monotonic }
    if typed != nil { flags |= RecordFlags.wireBody }
    writeInteger(flags)
    if flags & RecordFlags.nextSeq == 0 { writeWireVarint(record.seq - context.seq - 2) }
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
    if let typed {
      typed.write(
        into: &self, previous: context.position, recordTimeMs: record.wallMs,
        previousTimeMs: context.positionTimeMs)
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
  }
}

extension WireReader {
  /// Reads a batch payload up to the end of its records (extensions are the caller's).
  mutating func readBatch() throws(WireError) -> Batch {
    let epoch = try readLittleEndian(UInt64.self, "epoch")
    let firstSeq = try readVarint("first sequence number")
    let countAt = offset
    let count = try readVarint("record count")
    guard count >= 1, count <= UInt64(WireLimits.maxRecordsPerBatch) else {
      throw WireError(
        .recordCount(count: count, limit: WireLimits.maxRecordsPerBatch), at: countAt)
    }
    let baseTime = try readSigned("base time")
    var context = BatchContext(firstSeq: firstSeq, baseTimeMs: baseTime)
    var records: [WireRecord] = []
    // Every record takes at least two bytes: reserve no more than the frame can hold.
    records.reserveCapacity(min(Int(count), remaining / 2))
    for index in 0..<Int(count) {
      records.append(try readRecord(first: index == 0, context: &context))
    }
    return Batch(epoch: epoch, records: records)
  }

  private mutating func readRecord(
    first: Bool, context: inout BatchContext
  ) throws(WireError) -> WireRecord {
    let flagsAt = offset
    let flags = try readByte("record flags")
    guard flags & RecordFlags.reserved == 0 else {
      throw WireError(.invalidValue(field: "record flags (reserved bit set)"), at: flagsAt)
    }
    var seq = context.seq &+ 1
    if flags & RecordFlags.nextSeq == 0 {
      guard !first else {
        throw WireError(
          .invalidValue(field: "record flags (first record must follow)"), at: flagsAt)
      }
      let gapAt = offset
      let gap = try readVarint("sequence gap")
      let (withGap, overflow) = context.seq.addingReportingOverflow(gap)
      let (next, overflow2) = withGap.addingReportingOverflow(2)
      guard !overflow, !overflow2 else {
        throw WireError(.invalidValue(field: "sequence gap"), at: gapAt)
      }
      seq = next
    } else if !first, context.seq == .max {
      throw WireError(.invalidValue(field: "sequence number (past 2^64 - 1)"), at: flagsAt)
    }
    let kind: RecordKind
    if flags & RecordFlags.sameKind != 0 {
      guard let previous = context.kind else {
        throw WireError(.invalidValue(field: "record flags (no previous kind)"), at: flagsAt)
      }
      kind = previous
    } else {
      kind = RecordKind(rawValue: try readByte("kind"))
    }
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
      stamp = MonotonicStamp(boot: boot, sinceBootMs: since)
      context.stamp = stamp!
      context.stampTimeMs = time
    }
    let body: [UInt8]
    if flags & RecordFlags.wireBody != 0 {
      let bodyAt = offset
      guard
        let wire = try WireBody.read(
          kind: kind, from: &self, previous: context.position, recordTimeMs: time,
          previousTimeMs: context.positionTimeMs)
      else {
        throw WireError(
          .invalidValue(field: "record flags (kind \(kind) has no wire body)"), at: bodyAt)
      }
      body = wire.body.encoded()
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

  private init(body: RecordBody) {
    self.body = body
    switch body {
    case .sos(_, let position), .checkIn(_, let position), .report(_, _, let position):
      self.position = position
    case .position(let position): self.position = position
    default: self.position = nil
    }
  }

  func write(
    into buffer: inout ByteBuffer, previous: Position?, recordTimeMs: Int64,
    previousTimeMs: Int64
  ) {
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
    buffer.writeWirePosition(
      position, previous: previous, recordTimeMs: recordTimeMs, previousTimeMs: previousTimeMs)
  }

  /// Reads the wire body of `kind`, or returns nil when the kind has no wire form.
  static func read(
    kind: RecordKind, from reader: inout WireReader, previous: Position?, recordTimeMs: Int64,
    previousTimeMs: Int64
  ) throws(WireError) -> WireBody? {
    func position(_ reader: inout WireReader) throws(WireError) -> Position? {
      try reader.readWirePosition(
        previous: previous, recordTimeMs: recordTimeMs, previousTimeMs: previousTimeMs)
    }
    switch kind {
    case .sos:
      let presses = try reader.readVarint("presses", max: UInt64(UInt32.max))
      return WireBody(body: .sos(presses: UInt32(presses), position: try position(&reader)))
    case .checkIn:
      let who =
        try reader.readFlag("who present")
        ? try reader.readString("who", limit: WireLimits.maxCheckInWho) : nil
      return WireBody(body: .checkIn(who: who, position: try position(&reader)))
    case .report:
      let at = reader.offset
      guard let category = ReportCategory(rawValue: try reader.readByte("category")) else {
        throw WireError(.invalidValue(field: "category"), at: at)
      }
      let note =
        try reader.readFlag("note present")
        ? try reader.readString("note", limit: WireLimits.maxReportNote) : nil
      return WireBody(
        body: .report(category: category, note: note, position: try position(&reader)))
    case .position:
      let at = reader.offset
      guard let fix = try position(&reader) else {
        throw WireError(
          .invalidValue(field: "position mask (a position record needs a fix)"), at: at)
      }
      return WireBody(body: .position(fix))
    default:
      return nil
    }
  }
}
