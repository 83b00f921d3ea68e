/// One journal record: what happened, when, how urgent, under which sequence number.
///
/// The box's device id and the journal's epoch are not repeated in every record: a journal
/// belongs to one box and has one epoch, and together with ``seq`` they identify the record for
/// ever (see ``RecordID``).
public struct Record: Sendable, Hashable {
  /// The journal sequence number: unique and increasing on a box within an epoch, never reused,
  /// not necessarily dense (a crash may skip numbers).
  public var seq: UInt64
  public var kind: RecordKind
  public var priority: Priority
  public var time: RecordTime
  /// The encoded body; see ``RecordBody`` for the typed view.
  public var body: [UInt8]

  public init(seq: UInt64, kind: RecordKind, priority: Priority, time: RecordTime, body: [UInt8]) {
    self.seq = seq
    self.kind = kind
    self.priority = priority
    self.time = time
    self.body = body
  }

  /// Decodes the typed body.
  ///
  /// - Throws: ``RecordBodyError`` when the bytes do not match the kind.
  public func decodedBody() throws(RecordBodyError) -> RecordBody {
    try RecordBody(kind: kind, bytes: body)
  }
}

/// A record's name for ever: the box, the journal epoch, the sequence number. The station
/// deduplicates on it.
public struct RecordID: Sendable, Hashable, CustomStringConvertible {
  public var device: String
  public var epoch: UInt64
  public var seq: UInt64

  public init(device: String, epoch: UInt64, seq: UInt64) {
    self.device = device
    self.epoch = epoch
    self.seq = seq
  }

  public var description: String {
    "\(device)/\(String(epoch, radix: 16))/\(seq)"
  }
}
