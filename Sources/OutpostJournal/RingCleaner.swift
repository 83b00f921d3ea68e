import OutpostCore

/// The cleaner: makes room at the head by reclaiming records at the tail.
///
/// What may be reclaimed, in order (`docs/journal.md`, "Overwrite policy"):
/// 0. acknowledged records — nothing is lost;
/// 1. unacknowledged bulk records, oldest first;
/// 2. unacknowledged normal records, oldest first.
/// Unacknowledged alarms are never reclaimed. The cleaner walks from the tail; each record it
/// meets is either reclaimed (allowed at the current level) or moved to the head with its
/// sequence number, time and body unchanged. The level is the lowest whose victims exist, so an
/// unacknowledged record is never overwritten while an acknowledged one is still in the ring,
/// and no normal record while a bulk one is. An overwritten gap record's content is carried into
/// the next gap record, so gap records never pile up nor lose a count. Each step ends with
/// `fdatasync` of the moved records and then a checkpoint that moves the tail, so a crash at
/// any point leaves every record either at its old place or durable at its new one (recovery
/// removes the old copy of a record whose move was not yet checkpointed).
extension RingJournal {
  /// Makes sure `bytes` can be written at the head while the cleaner's reserve stays free.
  func makeRoom(for bytes: UInt64) throws {
    let required = bytes + reserve
    guard freeBytes < required else { return }
    // More than an empty ring could give: refuse before overwriting anything.
    guard required <= superblock.ringSize else {
      throw JournalError.tooSmall(
        size: superblock.fileSize, minimum: required + superblock.ringOffset)
    }
    // Reclaiming acknowledged records loses nothing, so the cleaner then frees a good stretch
    // at once and the checkpoint it costs is shared by many appends. Overwriting unacknowledged
    // records takes only what this append needs.
    let desired = required + cleaningChunk
    var level = try victimLevel()
    // Bytes the cleaner may examine at this level before concluding it has no victims left.
    var budget = head - cleanTail
    while freeBytes < required {
      let before = cleanTail
      try cleaningStep(level: level, need: (level == 0 ? desired : required) - freeBytes)
      let examined = cleanTail - before
      if examined >= budget || examined == 0 {
        // A whole lap at this level without enough room: escalate.
        level += 1
        if level == 1 && counters.live[Int(Priority.bulk.rawValue)] == 0 && !countsMayBeLow {
          level = 2
        }
        guard level <= 2 else { throw fullError() }
        budget = head - cleanTail
      } else {
        budget -= examined
      }
    }
  }

  /// What the cleaner frees beyond the need when it reclaims acknowledged records: a little
  /// less than a checkpoint interval, so that on a busy ring the cleaner's checkpoint comes
  /// just before the interval's would, and one checkpoint serves both.
  var cleaningChunk: UInt64 {
    min(checkpointInterval - checkpointInterval / 8, superblock.ringSize / 16)
  }

  /// Whether the live counters may be lower than the truth: only after damage was found, when
  /// a header the cleaner trusted may have named the wrong priority. The cleaner then walks a
  /// level rather than skipping it on a count.
  var countsMayBeLow: Bool { counters.quarantinedRegions > 0 }

  func fullError() -> JournalError {
    .fullOfUnacknowledgedAlarms(alarms: counters.live[0], capacity: capacity)
  }

  /// The lowest level at which a victim exists.
  func victimLevel() throws -> Int {
    if try hasLiveAcknowledgedRecord() { return 0 }
    if counters.live[Int(Priority.bulk.rawValue)] > 0 { return 1 }
    // Refusing an alarm is only ever decided on counts that are exact.
    if counters.live[Int(Priority.normal.rawValue)] > 0 || countsMayBeLow { return 2 }
    throw fullError()
  }

  /// Whether any record in the ring has been acknowledged. A read-only scan, cached until the
  /// next acknowledgement (records appended since cannot be acknowledged without one).
  func hasLiveAcknowledgedRecord() throws -> Bool {
    guard !acked.isEmpty, noAckedLiveAtVersion != ackVersion else { return false }
    var at = cleanTail
    while true {
      switch try scanStep(at: at, limit: head) {
      case .record(let decoded, let next):
        if acked.contains(decoded.record.seq) { return true }
        at = next
      case .skip(let next), .damaged(let next):
        at = next
      case .end:
        noAckedLiveAtVersion = ackVersion
        return false
      }
    }
  }

  /// Reclaims or moves records from the tail until `need` bytes are gained, the step's move
  /// budget is spent or the head is reached; then syncs and checkpoints the new tail.
  func cleaningStep(level: Int, need: UInt64) throws {
    // Moved records must fit in the free space that exists now, with room for ring-end padding,
    // and stay within recovery's scan window past the last checkpoint; a checkpoint first is
    // needed only when that window is nearly used up.
    let maxFrame = UInt64(JournalFrame.maxFrameLength)
    var window =
      checkpointHead + checkpointInterval - min(head, checkpointHead + checkpointInterval)
    if window < 2 * maxFrame {
      try writeCheckpoint()
      window = checkpointInterval
    }
    let room = min(freeBytes, window)
    let moveBudget = room > maxFrame ? room - maxFrame : 0
    var moved: UInt64 = 0
    var gap: CursorSlot.Gap? = nil
    let startTail = cleanTail
    let limit = head
    scan: while cleanTail < limit {
      let gained = (cleanTail - startTail) - min(cleanTail - startTail, moved)
      if gained >= need { break }
      // Runs of acknowledged records are reclaimed a window at a time on their headers alone.
      let run = try reclaimAcknowledgedRun(
        from: cleanTail, limit: limit, need: need - gained)
      if run > 0 {
        cleanTail += run
        continue
      }
      // Acknowledged records are reclaimed on their header alone; nothing of them is kept, so
      // their record is not decoded (and outside the suspect stretch not even checksummed).
      if let header = try reclaimableHeader(at: cleanTail), !header.isPadding,
        cleanTail + UInt64(header.length) <= limit, acked.contains(header.seq)
      {
        uncount(header.priority)
        cleanTail += UInt64(header.length)
        continue
      }
      switch try scanStep(at: cleanTail, limit: limit) {
      case .end:
        break scan
      case .skip(let next):
        cleanTail = next
      case .damaged(let next):
        quarantine(from: cleanTail, to: next)
        cleanTail = next
      case .record(let decoded, let next):
        let record = decoded.record
        if acked.contains(record.seq) {
          uncount(record.priority)
        } else if (record.priority == .bulk && level >= 1)
          || (record.priority == .normal && level >= 2)
        {
          uncount(record.priority)
          if record.kind == .journalGap,
            case .journalGap(let count, let first, let last)? = try? record.decodedBody()
          {
            // An undelivered gap record is not lost: what it said is carried into the next.
            pendingGap = Self.merge(
              pendingGap, CursorSlot.Gap(count: count, firstSeq: first, lastSeq: last))
          } else {
            counters.droppedUnacked += 1
            gap = Self.widen(gap, with: record.seq)
          }
        } else {
          let length = UInt64(decoded.length)
          guard moved + length <= moveBudget else { break scan }
          try writeFrameAtHead(record, relocated: true)
          moved += length
          counters.relocatedRecords += 1
        }
        cleanTail = next
      }
    }
    if let gap {
      pendingGap = Self.merge(pendingGap, gap)
    }
    if head > durableHead { try syncData() }
    tail = cleanTail
    if let stretch = suspect, stretch.upperBound <= tail { suspect = nil }
    // The checkpoint carries the pending gap, so the loss is on record before the space is
    // reused; the gap record itself is written at the next sync (one per group commit).
    try writeCheckpoint()
  }

  /// Writes the gap record owed for records the cleaner overwrote, if any. When the ring holds
  /// nothing but unacknowledged alarms the gap stays pending (it is in every checkpoint) until
  /// there is room: a gap record never displaces an alarm nor fails the append that needed it.
  func emitPendingGap() throws {
    guard pendingGap != nil else { return }
    do {
      // Making room may overwrite more, which only widens the pending gap.
      try makeRoom(for: 2 * UInt64(JournalFrame.maxFrameLength))
    } catch JournalError.fullOfUnacknowledgedAlarms {
      return
    }
    guard let pending = pendingGap else { return }
    try writeGapRecord(pending)
    pendingGap = nil
  }

  /// Reclaims consecutive acknowledged records from `from` within one read window, outside the
  /// suspect stretch, until `need` bytes are passed, `limit` or the window's end is reached, or
  /// a record that is not acknowledged comes. The loop works on the window's bytes and locals
  /// only: this is the cleaner's steady state on a box whose uplink keeps up.
  ///
  /// - Returns: the bytes passed (0 when the first frame does not qualify).
  func reclaimAcknowledgedRun(from: UInt64, limit: UInt64, need: UInt64) throws -> UInt64 {
    let room = min(roomToRingEnd(from), limit - from)
    guard room >= UInt64(JournalFrame.minFrameLength) else { return 0 }
    let span = Int(min(room, UInt64(ReadWindow.chunk)))
    if let stretch = suspect, from < stretch.upperBound, from + UInt64(span) > stretch.lowerBound {
      return 0
    }
    let acked = self.acked
    var removed: (UInt64, UInt64, UInt64) = (0, 0, 0)
    let passed = try window.withBytes(storage, physical: physical(from), count: span) { bytes in
      var offset = 0
      while UInt64(offset) < need {
        let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
        guard
          let header = JournalFrame.uncheckedHeader(
            rest, expectedLogicalOffset: from + UInt64(offset)),
          !header.isPadding, acked.contains(header.seq)
        else { break }
        switch header.priority {
        case .alarm: removed.0 += 1
        case .normal: removed.1 += 1
        case .bulk: removed.2 += 1
        }
        offset += header.length
      }
      return UInt64(offset)
    }
    counters.live[0] -= min(counters.live[0], removed.0)
    counters.live[1] -= min(counters.live[1], removed.1)
    counters.live[2] -= min(counters.live[2], removed.2)
    return passed
  }

  /// One live record fewer of `priority`. Saturates: bit rot in a header the cleaner trusted
  /// may name the wrong priority, and a count is a hint for the cleaner, never a reason to stop.
  func uncount(_ priority: Priority) {
    let index = Int(priority.rawValue)
    if counters.live[index] > 0 { counters.live[index] -= 1 }
  }

  /// Counts bytes that held no valid frame as quarantined: they are skipped by every reader and
  /// reclaimed by the cleaner like any other space.
  func quarantine(from: UInt64, to: UInt64) {
    guard to > from else { return }
    counters.quarantinedBytes += to - from
    counters.quarantinedRegions += 1
    logger.error(
      "journal quarantined a damaged region",
      metadata: ["from": "\(from)", "to": "\(to)", "bytes": "\(to - from)", "path": "\(path)"])
  }

  static func widen(_ gap: CursorSlot.Gap?, with seq: UInt64) -> CursorSlot.Gap {
    guard let gap else { return CursorSlot.Gap(count: 1, firstSeq: seq, lastSeq: seq) }
    return CursorSlot.Gap(
      count: gap.count + 1, firstSeq: min(gap.firstSeq, seq), lastSeq: max(gap.lastSeq, seq))
  }

  static func merge(_ a: CursorSlot.Gap?, _ b: CursorSlot.Gap) -> CursorSlot.Gap {
    guard let a else { return b }
    return CursorSlot.Gap(
      count: a.count + b.count, firstSeq: min(a.firstSeq, b.firstSeq),
      lastSeq: max(a.lastSeq, b.lastSeq))
  }
}
