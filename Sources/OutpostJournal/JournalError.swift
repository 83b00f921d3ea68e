import OutpostCore

/// Why the journal refused an operation. Every case says what was wrong and what to do.
public enum JournalError: Error, Sendable, CustomStringConvertible {
  /// The file does not start like an Outpost journal; nothing was changed.
  case notAJournal(path: String)
  /// The file was written by a newer Outpost with a format this version cannot read safely.
  case newerFormat(path: String, version: UInt32, supported: UInt32)
  /// The file's size is not the size its superblock records (truncated or extended).
  case sizeMismatch(path: String, recorded: UInt64, actual: UInt64)
  /// A journal of this size cannot hold the reserves it needs.
  case tooSmall(size: UInt64, minimum: UInt64)
  case bodyTooLarge(size: Int, limit: Int)
  /// Every record left is an unacknowledged alarm; none may be overwritten.
  case fullOfUnacknowledgedAlarms(alarms: UInt64, capacity: UInt64)
  /// Acknowledgement for a sequence number the journal never handed out.
  case acknowledgementBeyondHead(seq: UInt64, next: UInt64)
  /// The journal was opened read-only.
  case readOnly
  /// An earlier storage failure left the in-memory state unreliable; reopen the journal,
  /// which recovers from what is really on disk.
  case needsReopen(cause: StorageError)
  case storage(StorageError)

  public var description: String {
    switch self {
    case .notAJournal(let path):
      "\(path) is not an Outpost journal (no journal superblock at byte 0); it was left untouched. "
        + "Move it away or point the journal at another path."
    case .newerFormat(let path, let version, let supported):
      "\(path) has journal format version \(version); this outpost reads up to version "
        + "\(supported). Upgrade outpost; the file was left untouched."
    case .sizeMismatch(let path, let recorded, let actual):
      "\(path) is \(actual) bytes but its superblock records \(recorded): the file was truncated "
        + "or extended outside outpost. It was left untouched; move it away to start a new journal."
    case .tooSmall(let size, let minimum):
      "a journal of \(size) bytes is too small; the minimum is \(minimum) bytes"
    case .bodyTooLarge(let size, let limit):
      "record body of \(size) bytes exceeds the limit of \(limit) bytes"
    case .fullOfUnacknowledgedAlarms(let alarms, let capacity):
      "journal full: all \(alarms) records left are unacknowledged alarms, which are never "
        + "overwritten (capacity \(capacity) bytes). Restore the uplink or enlarge the journal."
    case .acknowledgementBeyondHead(let seq, let next):
      "acknowledgement for sequence number \(seq), but the journal has only handed out numbers "
        + "below \(next)"
    case .readOnly:
      "the journal was opened read-only"
    case .needsReopen(let cause):
      "journal storage failed earlier (\(cause)); reopen the journal to recover"
    case .storage(let error):
      "journal storage: \(error)"
    }
  }
}

/// A record to append: everything but the sequence number, which the journal assigns.
public struct JournalEntry: Sendable, Hashable {
  public var kind: RecordKind
  public var priority: Priority
  public var time: RecordTime
  public var body: [UInt8]

  public init(kind: RecordKind, priority: Priority, time: RecordTime, body: [UInt8]) {
    self.kind = kind
    self.priority = priority
    self.time = time
    self.body = body
  }

  /// An entry for a typed body, with the kind's default priority unless one is given.
  public init(_ body: RecordBody, priority: Priority? = nil, time: RecordTime) {
    self.init(
      kind: body.kind, priority: priority ?? body.kind.defaultPriority, time: time,
      body: body.encoded())
  }
}

/// Tunables of a journal. The defaults suit a field box.
public struct JournalConfiguration: Sendable {
  /// How many sequence numbers are reserved in the header at a time. A crash skips at most this
  /// many numbers; no number is ever handed out twice.
  public var seqLeaseBlock: UInt32 = 4096
  /// Bytes of frames written between checkpoints at most; recovery scans no more than this
  /// past the last checkpoint. `nil` chooses an eighth of the ring, between 64 KiB and 1 MiB.
  public var checkpointInterval: UInt64? = nil
  /// The epoch for a new journal; `nil` draws a random one (tests pin it).
  public var epoch: UInt64? = nil
  /// Wall-clock source for the superblock's creation time.
  public var now: @Sendable () -> Int64 = { 0 }

  public init() {}
}
