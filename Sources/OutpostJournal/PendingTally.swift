import OutpostCore

/// A count of the journal's unacknowledged records and its oldest one, made a slice at a time
/// by ``RingJournal/continuePendingTally(_:limit:)``.
///
/// ``RingJournal/statistics()`` reads the whole live region in one call: with a 32 MiB journal
/// that is some 450,000 frames and 40–90 ms, during which the agent's journal writer does
/// nothing else, so an SOS waited that long for its append (station-bench, while a backlog
/// drained). A tally taken in slices lets an alarm's append in between every slice. Records
/// appended or acknowledged while the tally runs are counted as the scan finds them, so the
/// result is as of the moment each slice ran; the records the ring overwrote meanwhile were
/// counted as they stood before.
public struct PendingTally: Sendable, Hashable {
  /// Unacknowledged records found so far, by priority (alarm, normal, bulk).
  public private(set) var pendingByPriority: [UInt64] = [0, 0, 0]
  /// The unacknowledged record with the lowest sequence number found so far.
  public private(set) var oldestSeq: UInt64?
  public private(set) var oldestTime: RecordTime?
  /// The whole live region was read.
  public private(set) var isFinished = false
  /// Where the next slice starts (a logical offset); nil: at the tail.
  fileprivate var next: UInt64?

  /// A tally that starts at the journal's tail.
  public init() {}

  /// Unacknowledged records found so far.
  public var pending: UInt64 { pendingByPriority.reduce(0, +) }

  /// Counts `record`, which the journal has not seen acknowledged (also for ``RingJournal/statistics()``).
  mutating func count(_ record: Record) {
    pendingByPriority[Int(record.priority.rawValue)] += 1
    if oldestSeq.map({ record.seq < $0 }) ?? true {
      oldestSeq = record.seq
      oldestTime = record.time
    }
  }

  fileprivate mutating func finish(at offset: UInt64) {
    next = offset
    isFinished = true
  }
}

extension RingJournal {
  /// Reads the next slice of at most `limit` records of the live region (written, durable or
  /// not, as ``statistics()`` counts) into `tally`; sets ``PendingTally/isFinished`` when it
  /// reached the head. A slice that would start where the ring has since overwritten starts at
  /// the oldest live record instead.
  ///
  /// - Precondition: `limit > 0`.
  /// - Throws: ``JournalError`` when the storage cannot be read.
  public func continuePendingTally(_ tally: inout PendingTally, limit: Int) throws {
    precondition(limit > 0)
    guard !tally.isFinished else { return }
    var at = max(tally.next ?? cleanTail, cleanTail)
    var read = 0
    while read < limit {
      switch try scanStep(at: at, limit: head) {
      case .record(let decoded, let next):
        read += 1
        if !acked.contains(decoded.record.seq) { tally.count(decoded.record) }
        at = next
      case .skip(let next), .damaged(let next):
        at = next
      case .end:
        tally.finish(at: at)
        return
      }
    }
    tally.next = at
  }
}
