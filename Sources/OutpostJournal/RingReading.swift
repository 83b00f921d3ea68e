import OutpostCore

/// Reading the journal: iteration from any sequence number, statistics and verification.
extension RingJournal {
  /// Calls `body` for every live record whose sequence number is at least `seq`, in ring order
  /// (append order, except that records the cleaner moved come again after newer ones, with
  /// their original sequence number and time). Damaged bytes are skipped, never returned.
  ///
  /// - Parameters:
  ///   - seq: the lowest sequence number wanted.
  ///   - durableOnly: stop at what is known to be on stable storage (default).
  ///   - body: return false to stop.
  public func forEachRecord(
    from seq: UInt64 = 0, durableOnly: Bool = true, _ body: (Record) throws -> Bool
  ) throws {
    let limit = durableOnly ? durableHead : head
    var at = cleanTail
    while true {
      switch try scanStep(at: at, limit: limit) {
      case .record(let decoded, let next):
        if decoded.record.seq >= seq, try !body(decoded.record) { return }
        at = next
      case .skip(let next), .damaged(let next):
        at = next
      case .end:
        return
      }
    }
  }

  /// The live records from `seq` on, at most `limit` of them; see ``forEachRecord(from:durableOnly:_:)``.
  public func records(from seq: UInt64 = 0, limit: Int = .max, durableOnly: Bool = true) throws
    -> [Record]
  {
    var result: [Record] = []
    guard limit > 0 else { return result }
    try forEachRecord(from: seq, durableOnly: durableOnly) { record in
      result.append(record)
      return result.count < limit
    }
    return result
  }

  /// Where reading by ``records(after:limit:)`` starts: the oldest live record.
  public var oldestPosition: RingPosition { RingPosition(offset: cleanTail) }

  /// Where the next appended record will be: reading from here finds only later records.
  public var headPosition: RingPosition { RingPosition(offset: head) }

  /// Reads forward: the durable live records at or after `position` in ring order, at most
  /// `limit`, and the position just after the last one returned (or after the durable head,
  /// when fewer were found). A position the ring has since overwritten reads from the oldest
  /// live record. The uplink reads the backlog this way, a little at a time, without rescanning
  /// from the tail; records the cleaner relocated come again later in ring order.
  public func records(after position: RingPosition, limit: Int) throws -> (
    records: [Record], next: RingPosition
  ) {
    var at = max(position.offset, cleanTail)
    var result: [Record] = []
    while result.count < limit {
      switch try scanStep(at: at, limit: durableHead) {
      case .record(let decoded, let next):
        result.append(decoded.record)
        at = next
      case .skip(let next), .damaged(let next):
        at = next
      case .end:
        return (result, RingPosition(offset: at))
      }
    }
    return (result, RingPosition(offset: at))
  }

  /// Live records not yet acknowledged, alarms first, then the rest in ring order.
  public func unacknowledged(limit: Int = .max) throws -> [Record] {
    var alarms: [Record] = []
    var others: [Record] = []
    try forEachRecord { record in
      if !acked.contains(record.seq) {
        if record.priority == .alarm { alarms.append(record) } else { others.append(record) }
      }
      return alarms.count < limit
    }
    return Array((alarms + others).prefix(limit))
  }

  /// Counts, cursors, capacity, gaps and quarantined bytes. Reads the whole live region to count
  /// pending records; meant for status tools, not hot paths.
  public func statistics() throws -> JournalStatistics {
    var pending = PendingTally()
    var records: UInt64 = 0
    var lowest: UInt64? = nil
    var highest: UInt64? = nil
    try forEachRecord(durableOnly: false) { record in
      records += 1
      lowest = min(lowest ?? record.seq, record.seq)
      highest = max(highest ?? record.seq, record.seq)
      if !acked.contains(record.seq) { pending.count(record) }
      return true
    }
    return JournalStatistics(
      path: path, epoch: epoch, fileBytes: superblock.fileSize, ringBytes: ringSize,
      capacityBytes: capacity, usedBytes: head - cleanTail, records: records,
      recordsByPriority: counters.live, pendingByPriority: pending.pendingByPriority,
      oldestPendingSeq: pending.oldestSeq, oldestPendingTime: pending.oldestTime,
      lowestSeq: lowest, highestSeq: highest, nextSeq: nextSeq, ackFloor: ackFloor,
      acknowledgedRanges: acked.ranges.count, tail: cleanTail, head: head,
      durableHead: durableHead, generation: generation, gapRecords: counters.gapRecords,
      droppedUnacknowledged: counters.droppedUnacked,
      quarantinedBytes: counters.quarantinedBytes,
      quarantinedRegions: counters.quarantinedRegions,
      relocatedRecords: counters.relocatedRecords, recoveries: counters.recoveries)
  }

  /// Live records by priority (alarm, normal, bulk) as the journal's counters have them, and as
  /// a scan of the live region finds them; the two agree unless damage was quarantined.
  public func liveCounts() throws -> (counted: [UInt64], scanned: [UInt64]) {
    var scanned: [UInt64] = [0, 0, 0]
    try forEachRecord(durableOnly: false) { record in
      scanned[Int(record.priority.rawValue)] += 1
      return true
    }
    return (counters.live, scanned)
  }

  /// Checks every frame in the live region.
  ///
  /// - Returns: a report; ``VerifyReport/isClean`` only when every byte of the live region is a
  ///   valid frame and no sequence number appears twice.
  public func verify() throws -> VerifyReport {
    var report = VerifyReport()
    var seen = Set<UInt64>()
    var at = cleanTail
    loop: while true {
      switch try scanStep(at: at, limit: head) {
      case .record(let decoded, let next):
        report.records += 1
        if !seen.insert(decoded.record.seq).inserted {
          report.duplicateSeqs.append(decoded.record.seq)
        }
        if case .journalGap = decoded.record.kind {
          report.gapRecords += 1
        }
        if case .unknown = decoded.record.kind {
          report.unknownKinds += 1
        } else if (try? decoded.record.decodedBody()) == nil {
          report.undecodableBodies.append(decoded.record.seq)
        }
        at = next
      case .skip(let next):
        at = next
      case .damaged(let next):
        report.damagedRegions.append(at..<next)
        at = next
      case .end:
        break loop
      }
    }
    return report
  }
}

/// What ``RingJournal/verify()`` found.
/// A place in the ring, for reading forward with ``RingJournal/records(after:limit:)``.
public struct RingPosition: Sendable, Hashable, Comparable {
  /// Bytes since the ring was created (never wraps).
  public var offset: UInt64

  public init(offset: UInt64) { self.offset = offset }

  public static func < (a: RingPosition, b: RingPosition) -> Bool { a.offset < b.offset }
}

public struct VerifyReport: Sendable, Equatable {
  public var records: UInt64 = 0
  public var gapRecords: UInt64 = 0
  public var unknownKinds: UInt64 = 0
  /// Logical byte ranges that hold no valid frame.
  public var damagedRegions: [Range<UInt64>] = []
  public var duplicateSeqs: [UInt64] = []
  /// Records whose checksum holds but whose body does not decode as their kind.
  public var undecodableBodies: [UInt64] = []

  public var isClean: Bool {
    damagedRegions.isEmpty && duplicateSeqs.isEmpty && undecodableBodies.isEmpty
  }
}

/// A journal's figures, as `outpostctl journal stat` prints them.
public struct JournalStatistics: Sendable, Equatable {
  public var path: String
  public var epoch: UInt64
  public var fileBytes: UInt64
  public var ringBytes: UInt64
  public var capacityBytes: UInt64
  public var usedBytes: UInt64
  public var records: UInt64
  /// Live records by priority (alarm, normal, bulk) as the journal's counters have them.
  public var recordsByPriority: [UInt64]
  /// Unacknowledged records by priority (alarm, normal, bulk).
  public var pendingByPriority: [UInt64]
  public var oldestPendingSeq: UInt64?
  public var oldestPendingTime: RecordTime?
  public var lowestSeq: UInt64?
  public var highestSeq: UInt64?
  public var nextSeq: UInt64
  public var ackFloor: UInt64
  public var acknowledgedRanges: Int
  public var tail: UInt64
  public var head: UInt64
  public var durableHead: UInt64
  public var generation: UInt64
  public var gapRecords: UInt64
  public var droppedUnacknowledged: UInt64
  public var quarantinedBytes: UInt64
  public var quarantinedRegions: UInt64
  public var relocatedRecords: UInt64
  public var recoveries: UInt64

  public var pending: UInt64 { pendingByPriority.reduce(0, +) }
}
