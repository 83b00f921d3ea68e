import Logging
import OutpostCore

/// The field box's crash-safe ring-buffer journal: one preallocated file of fixed size that never
/// grows, holding every record until the station has acknowledged it.
///
/// Layout and guarantees are in `docs/journal.md`. In short:
/// - Each record is a checksummed frame whose commit marker is its last bytes, placed at a
///   logical offset (position plus laps) that the frame itself records.
/// - Cursors and counters live in two header slots written alternately with a generation number,
///   so a torn header write falls back to the previous checkpoint.
/// - Sequence numbers are leased from the header before they are handed out, so none is ever
///   handed out twice, whatever crashes.
/// - When the ring is full, the cleaner reclaims acknowledged records first, then the oldest
///   bulk, then normal records, moving the records it keeps to the head; unacknowledged alarms
///   are always kept, and every overwritten unacknowledged record is counted in a gap record.
/// - Opening scans only what was written since the last checkpoint.
///
/// Not thread-safe: one owner (the agent's journal writer) calls it. Storage failures during a
/// write leave the journal needing a reopen (``JournalError/needsReopen(cause:)``), because after
/// a failed `fdatasync` nothing in memory can be trusted to match the disk.
public final class RingJournal {
  let storage: any JournalStorage
  let superblock: Superblock
  let logger: Logger
  /// Where the journal lives, for messages.
  public let path: String
  /// Opened with `readOnly`: recovery runs in memory only and nothing is written.
  public let isReadOnly: Bool

  let reserve: UInt64
  let checkpointInterval: UInt64

  // Persisted through checkpoints.
  var generation: UInt64
  /// Tail as of the last checkpoint: the space before it may be overwritten.
  var tail: UInt64
  var checkpointHead: UInt64
  /// Sequence numbers below this may be handed out: the lease recorded in *both* slots, so
  /// that losing the newest slot to decay cannot bring back a lower lease.
  var seqLimit: UInt64
  /// The lease written in the newest slot.
  var newestLease: UInt64
  var counters: Counters
  var acked: SeqRangeSet
  var pendingGap: CursorSlot.Gap?
  /// Stretch of the live region where recovery found torn frames; see ``CursorSlot/suspect``.
  var suspect: Range<UInt64>?

  // In memory only.
  /// Records before this are gone; equals `tail` except while a cleaning step is in progress.
  var cleanTail: UInt64
  var head: UInt64
  var durableHead: UInt64
  var nextSeq: UInt64
  var poisoned: StorageError?
  /// Set by recovery: copies a cleaning step cut short left past the head, to be erased.
  var abandoned: Range<UInt64>?
  /// Set by salvage: older duplicates of records found twice, to be erased.
  var erasures: [Range<UInt64>] = []
  var ackVersion = 0
  /// `ackVersion` at the last scan that found no live acknowledged record.
  var noAckedLiveAtVersion: Int?
  var window: ReadWindow

  struct Counters: Equatable {
    var live: [UInt64] = [0, 0, 0]
    var droppedUnacked: UInt64 = 0
    var gapRecords: UInt64 = 0
    var quarantinedBytes: UInt64 = 0
    var quarantinedRegions: UInt64 = 0
    var relocatedRecords: UInt64 = 0
    var recoveries: UInt64 = 0
  }

  /// The journal's epoch: a random number drawn when the journal was created. (device, epoch,
  /// sequence number) names a record for ever.
  public var epoch: UInt64 { superblock.epoch }
  /// Bytes of the ring, excluding the header blocks.
  public var ringSize: UInt64 { superblock.ringSize }
  /// Bytes the ring can fill before it must overwrite: the ring less the cleaner's reserve.
  public var capacity: UInt64 { superblock.ringSize - reserve }
  /// Bytes the live region takes now (as ``statistics()`` reports them, without its scan).
  public var usedBytes: UInt64 { head - cleanTail }
  /// The sequence number the next append will get.
  public var nextSequenceNumber: UInt64 { nextSeq }
  /// The lowest sequence number not yet acknowledged.
  public var ackFloor: UInt64 { acked.firstMissing(from: 0) }
  /// Whether records were appended that are not yet durable.
  public var hasUnsyncedRecords: Bool { head > durableHead }

  init(
    storage: any JournalStorage, superblock: Superblock, slot: CursorSlot, path: String,
    readOnly: Bool, configuration: JournalConfiguration, logger: Logger
  ) {
    self.storage = storage
    self.superblock = superblock
    self.path = path
    self.isReadOnly = readOnly
    self.logger = logger
    let ring = superblock.ringSize
    reserve = max(2 * UInt64(JournalFrame.maxFrameLength) + 256, ring / 32)
    checkpointInterval = superblock.checkpointInterval
    generation = slot.generation
    tail = slot.tail
    cleanTail = slot.tail
    checkpointHead = slot.head
    head = slot.head
    durableHead = slot.head
    seqLimit = slot.seqLimit
    newestLease = slot.seqLimit
    nextSeq = slot.nextSeq
    acked = slot.acked
    pendingGap = slot.pendingGap
    suspect = slot.suspect
    counters = Counters(
      live: slot.live, droppedUnacked: slot.droppedUnacked, gapRecords: slot.gapRecords,
      quarantinedBytes: slot.quarantinedBytes, quarantinedRegions: slot.quarantinedRegions,
      relocatedRecords: slot.relocatedRecords, recoveries: slot.recoveries)
    window = ReadWindow(ringOffset: superblock.ringOffset, ringSize: ring)
  }

  // MARK: Appending

  /// Appends one record and returns its sequence number.
  ///
  /// - Parameter durable: when true the record is on stable storage (`fdatasync`) before this
  ///   returns. Defaults to true for alarms; other records become durable at the next ``sync()``.
  /// - Throws: ``JournalError/fullOfUnacknowledgedAlarms(alarms:capacity:)`` when nothing may be
  ///   overwritten; ``JournalError/bodyTooLarge(size:limit:)``; storage errors.
  @discardableResult
  public func append(_ entry: JournalEntry, durable: Bool? = nil) throws -> UInt64 {
    try append(contentsOf: [entry], durable: durable ?? (entry.priority == .alarm))[0]
  }

  /// Appends records in one write where they fit, and returns their sequence numbers in order.
  ///
  /// - Parameter durable: make them durable before returning; defaults to true if any is an
  ///   alarm.
  @discardableResult
  public func append(contentsOf entries: [JournalEntry], durable: Bool? = nil)
    throws -> [UInt64]
  {
    try checkWritable()
    for entry in entries where entry.body.count > JournalFrame.maxBodyLength {
      throw JournalError.bodyTooLarge(size: entry.body.count, limit: JournalFrame.maxBodyLength)
    }
    var seqs: [UInt64] = []
    seqs.reserveCapacity(entries.count)
    var start = 0
    while start < entries.count {
      // A chunk stays within `chunkLimit`, so recovery's scan window always covers it.
      var bytes: UInt64 = 0
      var largest: UInt64 = 0
      var end = start
      while end < entries.count {
        let length = UInt64(JournalFrame.frameLength(bodyLength: entries[end].body.count))
        if end > start && bytes + length > chunkLimit { break }
        bytes += length
        largest = max(largest, length)
        end += 1
      }
      try guarded { () throws in
        try writeChunk(
          entries[start..<end], frameBytes: bytes, largestFrame: largest, seqs: &seqs)
      }
      start = end
    }
    if durable ?? entries.contains(where: { $0.priority == .alarm }) {
      try sync()
    }
    return seqs
  }

  /// Makes every appended record durable.
  public func sync() throws {
    try checkWritable()
    guard head > durableHead || pendingGap != nil else { return }
    try guarded { () throws in
      try emitPendingGap()
      try syncData()
    }
  }

  /// Marks records as acknowledged by the upstream. Acknowledgements may arrive in any order;
  /// they are persisted at the next checkpoint (until then a crash merely means a resend).
  ///
  /// - Throws: ``JournalError/acknowledgementBeyondHead(seq:next:)`` for numbers never handed
  ///   out; nothing is changed then.
  public func acknowledge(_ seqs: ClosedRange<UInt64>) throws {
    guard seqs.upperBound < nextSeq else {
      throw JournalError.acknowledgementBeyondHead(seq: seqs.upperBound, next: nextSeq)
    }
    acked.insert(seqs)
    ackVersion += 1
  }

  /// Acknowledges one record.
  public func acknowledge(_ seq: UInt64) throws {
    try acknowledge(seq...seq)
  }

  /// Whether `seq` has been acknowledged.
  public func isAcknowledged(_ seq: UInt64) -> Bool { acked.contains(seq) }

  /// Persists cursors, counters and acknowledgements now (after making appended records
  /// durable).
  public func checkpoint() throws {
    try checkWritable()
    try guarded { () throws in
      try emitPendingGap()
      try writeCheckpoint()
    }
  }

  /// Syncs and checkpoints, and gives back the unused part of the sequence lease so that the
  /// next open continues where this one stopped instead of skipping to the end of the lease.
  /// The journal may still be used afterwards.
  public func close() throws {
    guard !isReadOnly, poisoned == nil else { return }
    try guarded { () throws in
      try emitPendingGap()
      // Nothing at or above nextSeq was handed out, so a lease ending there is safe once it is
      // in both slots.
      try writeCheckpoint(releasingLease: true)
      try writeCheckpoint(releasingLease: true)
    }
  }

  // MARK: Internals shared by the parts of the journal

  func checkWritable() throws {
    if isReadOnly { throw JournalError.readOnly }
    if let poisoned { throw JournalError.needsReopen(cause: poisoned) }
  }

  /// Runs a mutation; a storage failure poisons the journal until it is reopened.
  func guarded(_ body: () throws -> Void) throws {
    do {
      try body()
    } catch let error as JournalError {
      if case .storage(let cause) = error {
        poisoned = cause
        logger.error(
          "journal storage failed; reopen needed",
          metadata: ["error": "\(cause)", "path": "\(path)"])
      }
      throw error
    }
  }

  func physical(_ logical: UInt64) -> UInt64 {
    superblock.ringOffset + logical % superblock.ringSize
  }

  /// Bytes left before the end of the ring at `logical`.
  func roomToRingEnd(_ logical: UInt64) -> UInt64 {
    superblock.ringSize - logical % superblock.ringSize
  }

  /// The logical offset of the start of the next lap after `logical`.
  func nextLap(_ logical: UInt64) -> UInt64 {
    logical + roomToRingEnd(logical)
  }

  var freeBytes: UInt64 { tail + superblock.ringSize - head }

  /// The most frame bytes one write may carry: half a checkpoint interval, so recovery's scan
  /// window always covers it, and never more than an empty ring could take beside the padding
  /// slack and the reserve.
  var chunkLimit: UInt64 {
    min(checkpointInterval / 2, capacity - UInt64(JournalFrame.maxFrameLength))
  }

  /// Sequence numbers reserved per lease: the configured block, and at least two checkpoint
  /// intervals of the smallest frames, so leases are renewed by the checkpoints that happen
  /// anyway rather than by checkpoints of their own.
  var leaseBlock: UInt64 {
    max(
      UInt64(superblock.seqLeaseBlock), 2 * checkpointInterval / UInt64(JournalFrame.minFrameLength)
    )
  }

  func storageWrite(_ bytes: UnsafeRawBufferPointer, atLogical logical: UInt64)
    throws
  {
    precondition(logical >= head || logical + UInt64(bytes.count) <= head)
    precondition(logical + UInt64(bytes.count) <= tail + superblock.ringSize, "write past tail")
    precondition(bytes.count <= Int(roomToRingEnd(logical)), "frame crosses the ring end")
    window.invalidate(physical: physical(logical), count: bytes.count)
    do {
      try storage.write(bytes, at: physical(logical))
    } catch let error as StorageError {
      throw JournalError.storage(error)
    }
  }

  func syncData() throws {
    do {
      try storage.sync()
    } catch let error as StorageError {
      throw JournalError.storage(error)
    }
    durableHead = head
  }

  /// Writes frames for `entries` at the head, after making room and renewing the sequence
  /// lease as needed.
  private func writeChunk(
    _ entries: ArraySlice<JournalEntry>, frameBytes: UInt64, largestFrame: UInt64,
    seqs: inout [UInt64]
  ) throws {
    // Where the chunk meets the ring's end, padding wastes less than its largest frame.
    let paddingSlack = largestFrame
    try makeRoom(for: frameBytes + paddingSlack)
    if head + frameBytes + paddingSlack > checkpointHead + checkpointInterval {
      try writeCheckpoint()
    }
    while nextSeq + UInt64(entries.count) > seqLimit {
      try writeCheckpoint(minimumLease: UInt64(entries.count))
    }
    // Every byte of the run is written by the frame encoders before it is used.
    var buffer = [UInt8](unsafeUninitializedCapacity: Int(frameBytes + paddingSlack)) {
      _, count in count = Int(frameBytes + paddingSlack)
    }
    var runStart = head
    var used = 0
    // Hot loop: work on locals and store them back once, rather than touching the journal's
    // properties (each access to a class property is an exclusivity check) per record.
    var seq = nextSeq
    var added: (alarm: UInt64, normal: UInt64, bulk: UInt64) = (0, 0, 0)
    defer {
      nextSeq = seq
      counters.live[0] += added.alarm
      counters.live[1] += added.normal
      counters.live[2] += added.bulk
    }
    let ringSize = superblock.ringSize
    try buffer.withUnsafeMutableBytes { buf throws in
      for entry in entries {
        let length = JournalFrame.frameLength(bodyLength: entry.body.count)
        let at = runStart + UInt64(used)
        if used > 0 && at % ringSize == 0 {
          // The run reached the ring's end exactly: one write may not wrap around.
          try storageWrite(UnsafeRawBufferPointer(rebasing: buf[0..<used]), atLogical: runStart)
          runStart = at
          used = 0
        }
        if UInt64(length) > roomToRingEnd(at) {
          // Flush the run, fill the end of the ring with padding, continue at the next lap.
          let room = Int(roomToRingEnd(at))
          if room >= JournalFrame.minFrameLength {
            JournalFrame.encodePadding(
              length: room, logicalOffset: at,
              into: UnsafeMutableRawBufferPointer(rebasing: buf[used..<(used + room)]))
            used += room
          }
          if used > 0 {
            try storageWrite(UnsafeRawBufferPointer(rebasing: buf[0..<used]), atLogical: runStart)
          }
          head = nextLap(at)
          runStart = head
          used = 0
        }
        JournalFrame.encode(
          seq: seq, kind: entry.kind, priority: entry.priority, time: entry.time,
          body: entry.body, logicalOffset: runStart + UInt64(used), relocated: false,
          into: UnsafeMutableRawBufferPointer(rebasing: buf[used..<(used + length)]))
        used += length
        seqs.append(seq)
        seq += 1
        switch entry.priority {
        case .alarm: added.alarm += 1
        case .normal: added.normal += 1
        case .bulk: added.bulk += 1
        }
      }
      if used > 0 {
        try storageWrite(UnsafeRawBufferPointer(rebasing: buf[0..<used]), atLogical: runStart)
      }
      head = runStart + UInt64(used)
    }
  }

  /// Writes one frame at the head (the cleaner's relocations and gap records), padding the
  /// end of the ring first when it does not fit. The caller has made sure there is room.
  func writeFrameAtHead(_ record: Record, relocated: Bool) throws {
    let length = JournalFrame.frameLength(bodyLength: record.body.count)
    if UInt64(length) > roomToRingEnd(head) {
      let room = Int(roomToRingEnd(head))
      if room >= JournalFrame.minFrameLength {
        var padding = [UInt8](repeating: 0, count: room)
        try padding.withUnsafeMutableBytes { buf throws in
          JournalFrame.encodePadding(length: room, logicalOffset: head, into: buf)
          try storageWrite(UnsafeRawBufferPointer(buf), atLogical: head)
        }
      }
      head = nextLap(head)
    }
    var frame = [UInt8](repeating: 0, count: length)
    try frame.withUnsafeMutableBytes { buf throws in
      JournalFrame.encode(record, logicalOffset: head, relocated: relocated, into: buf)
      try storageWrite(UnsafeRawBufferPointer(buf), atLogical: head)
    }
    head += UInt64(length)
  }

  /// Appends a gap record for records the cleaner overwrote. Space for it is in the reserve.
  func writeGapRecord(_ gap: CursorSlot.Gap) throws {
    while nextSeq >= seqLimit { try writeCheckpoint() }
    let body = RecordBody.journalGap(count: gap.count, firstSeq: gap.firstSeq, lastSeq: gap.lastSeq)
    let record = Record(
      seq: nextSeq, kind: .journalGap, priority: .normal, time: gapTime, body: body.encoded())
    try writeFrameAtHead(record, relocated: false)
    nextSeq += 1
    counters.live[Int(Priority.normal.rawValue)] += 1
    counters.gapRecords += 1
    logger.warning(
      "journal overwrote unacknowledged records",
      metadata: [
        "count": "\(gap.count)", "first_seq": "\(gap.firstSeq)", "last_seq": "\(gap.lastSeq)",
      ])
  }

  /// Gap records carry no trustworthy time of their own: the journal has no clock.
  var gapTime: RecordTime { RecordTime(wallMs: 0, clockTrusted: false, boot: 0, sinceBootMs: 0) }

  /// Syncs data, then writes the next cursor slot and syncs again.
  ///
  /// - Parameter minimumLease: sequence numbers that must be available after the checkpoint.
  func writeCheckpoint(minimumLease: UInt64 = 0, releasingLease: Bool = false) throws {
    if head > durableHead { try syncData() }
    let lease = max(leaseBlock, minimumLease)
    let newLimit = releasingLease ? nextSeq : max(newestLease, nextSeq + lease)
    let slot = CursorSlot(
      generation: generation + 1, epoch: superblock.epoch, tail: tail, head: head,
      seqLimit: newLimit, nextSeq: nextSeq, live: counters.live,
      droppedUnacked: counters.droppedUnacked, gapRecords: counters.gapRecords,
      quarantinedBytes: counters.quarantinedBytes,
      quarantinedRegions: counters.quarantinedRegions,
      relocatedRecords: counters.relocatedRecords, pendingGap: pendingGap,
      recoveries: counters.recoveries, acked: acked, suspect: suspect)
    let bytes = slot.encode()
    do {
      try bytes.withUnsafeBytes { b throws in
        try storage.write(b, at: JournalFormat.slotOffsets[Int(slot.generation % 2)])
      }
      try storage.sync()
    } catch let error as StorageError {
      throw JournalError.storage(error)
    }
    generation = slot.generation
    checkpointHead = head
    // The older slot now holds the previous lease; both hold at least the smaller of the two.
    seqLimit = min(newestLease, newLimit)
    newestLease = newLimit
  }
}
