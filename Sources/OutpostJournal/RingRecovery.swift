import Logging
import OutpostCore

/// Creating and opening journals, and the recovery that runs on every open.
extension RingJournal {
  /// Formats `storage` as a new, empty journal with a fresh random epoch.
  ///
  /// - Throws: ``JournalError/tooSmall(size:minimum:)`` when the storage cannot hold a ring;
  ///   storage errors.
  public static func create(
    storage: any JournalStorage, path: String = "journal",
    configuration: JournalConfiguration = JournalConfiguration(),
    logger: Logger = Logger(label: "outpost.journal")
  ) throws -> RingJournal {
    let minimum = JournalFormat.ringOffset + JournalFormat.minimumRingSize
    guard storage.size >= minimum else {
      throw JournalError.tooSmall(size: storage.size, minimum: minimum)
    }
    var ringSize = storage.size - JournalFormat.ringOffset
    ringSize -= ringSize % UInt64(JournalFrame.alignment)
    var epoch = configuration.epoch ?? 0
    while epoch == 0 { epoch = UInt64.random(in: 1...UInt64.max) }
    let superblock = Superblock(
      fileSize: JournalFormat.ringOffset + ringSize, ringSize: ringSize, epoch: epoch,
      seqLeaseBlock: configuration.seqLeaseBlock,
      storedCheckpointInterval: UInt32(clamping: configuration.checkpointInterval ?? 0),
      createdMs: configuration.now())
    let empty = CursorSlot(
      generation: 0, epoch: epoch, tail: 0, head: 0, seqLimit: 0, nextSeq: 0, live: [0, 0, 0],
      droppedUnacked: 0, gapRecords: 0, quarantinedBytes: 0, quarantinedRegions: 0,
      relocatedRecords: 0, pendingGap: nil, recoveries: 0, acked: SeqRangeSet())
    do {
      // Invalidate both slots before the superblock appears, so no stale slot of an earlier
      // journal on the same storage can be taken for this one's.
      let zeros = [UInt8](repeating: 0, count: JournalFormat.blockSize)
      for offset in JournalFormat.slotOffsets {
        try zeros.withUnsafeBytes { try storage.write($0, at: offset) }
      }
      try storage.sync()
      try superblock.encode().withUnsafeBytes { try storage.write($0, at: 0) }
      try storage.sync()
    } catch let error as StorageError {
      throw JournalError.storage(error)
    }
    let journal = RingJournal(
      storage: storage, superblock: superblock, slot: empty, path: path, readOnly: false,
      configuration: configuration, logger: logger)
    // Two checkpoints put the first sequence lease in both slots.
    try journal.writeCheckpoint()
    try journal.writeCheckpoint()
    logger.info(
      "journal created",
      metadata: [
        "path": "\(path)", "ring_bytes": "\(ringSize)", "epoch": "\(String(epoch, radix: 16))",
      ])
    return journal
  }

  /// Opens an existing journal and recovers it: reads the newest valid cursor slot and scans only
  /// what was written after it. Damaged regions are quarantined, never returned; a journal whose
  /// slots are both destroyed is salvaged by a scan of the whole ring.
  ///
  /// - Parameter readOnly: recover in memory only; nothing is written (for inspection tools
  ///   while the agent runs).
  /// - Throws: ``JournalError/notAJournal(path:)``, ``JournalError/newerFormat(path:version:supported:)``,
  ///   ``JournalError/sizeMismatch(path:recorded:actual:)``; storage errors. A damaged journal
  ///   of ours is never refused.
  public static func open(
    storage: any JournalStorage, path: String = "journal", readOnly: Bool = false,
    configuration: JournalConfiguration = JournalConfiguration(),
    logger: Logger = Logger(label: "outpost.journal")
  ) throws -> RingJournal {
    var header = [UInt8](repeating: 0, count: 3 * JournalFormat.blockSize)
    do {
      let got = try header.withUnsafeMutableBytes { try storage.read(into: $0, at: 0) }
      if got < header.count {
        header.replaceSubrange(
          got..<header.count, with: repeatElement(0, count: header.count - got))
      }
    } catch let error as StorageError {
      throw JournalError.storage(error)
    }
    let slots = JournalFormat.slotOffsets.map { offset in
      header.withUnsafeBytes { b in
        CursorSlot.decode(
          UnsafeRawBufferPointer(rebasing: b[Int(offset)..<(Int(offset) + JournalFormat.blockSize)])
        )
      }
    }
    // A slot whose cursors could not belong to a ring in this file was written by no correct
    // journal; leave it out rather than compute with it.
    let ringBound = storage.size - min(storage.size, JournalFormat.ringOffset)
    let best = slots.compactMap { $0 }
      .filter { $0.head - $0.tail <= ringBound && $0.head < 1 << 62 }
      .max { $0.generation < $1.generation }

    var superblock: Superblock
    let decoded = header.withUnsafeBytes {
      Superblock.decode(UnsafeRawBufferPointer(rebasing: $0[0..<JournalFormat.blockSize]))
    }
    switch decoded {
    case .success(let found):
      superblock = found
    case .failure(.notAJournal):
      throw JournalError.notAJournal(path: path)
    case .failure(.newerVersion(let version)):
      throw JournalError.newerFormat(path: path, version: version, supported: JournalFormat.version)
    case .failure(.damaged):
      // The superblock is written once and never again, so damage here is decay. The geometry
      // follows from the file size; the epoch survives in the cursor slots.
      guard let best else {
        throw JournalError.notAJournal(path: path)
      }
      var ringSize = storage.size - min(storage.size, JournalFormat.ringOffset)
      ringSize -= ringSize % UInt64(JournalFrame.alignment)
      superblock = Superblock(
        fileSize: JournalFormat.ringOffset + ringSize, ringSize: ringSize, epoch: best.epoch,
        seqLeaseBlock: configuration.seqLeaseBlock,
        storedCheckpointInterval: UInt32(clamping: configuration.checkpointInterval ?? 0),
        createdMs: 0)
      // Rebuilt geometry must be one this journal could have had: a file cut short is no journal.
      guard ringSize >= JournalFormat.minimumRingSize, best.head - best.tail <= ringSize else {
        throw JournalError.notAJournal(path: path)
      }
      logger.error("journal superblock damaged; rebuilt from file size and cursor slots")
      if !readOnly {
        do {
          try superblock.encode().withUnsafeBytes { try storage.write($0, at: 0) }
          try storage.sync()
        } catch let error as StorageError {
          throw JournalError.storage(error)
        }
      }
    }
    guard superblock.fileSize == storage.size else {
      throw JournalError.sizeMismatch(
        path: path, recorded: superblock.fileSize, actual: storage.size)
    }

    let journal: RingJournal
    if let best, best.epoch == superblock.epoch {
      journal = RingJournal(
        storage: storage, superblock: superblock, slot: best, path: path, readOnly: readOnly,
        configuration: configuration, logger: logger)
      try journal.recoverTail()
    } else {
      logger.error("journal cursor slots both damaged; salvaging by a scan of the whole ring")
      let empty = CursorSlot(
        generation: slots.compactMap { $0?.generation }.max() ?? 0, epoch: superblock.epoch,
        tail: 0, head: 0, seqLimit: 0, nextSeq: 0, live: [0, 0, 0], droppedUnacked: 0,
        gapRecords: 0, quarantinedBytes: 0, quarantinedRegions: 0, relocatedRecords: 0,
        pendingGap: nil, recoveries: 0, acked: SeqRangeSet())
      journal = RingJournal(
        storage: storage, superblock: superblock, slot: empty, path: path, readOnly: readOnly,
        configuration: configuration, logger: logger)
      try journal.salvage()
    }
    if !readOnly {
      try journal.finishRecovery()
    }
    return journal
  }

  /// Opens the journal at `path`, creating it with `size` bytes when the file does not exist.
  /// An existing journal keeps its own size (a changed configured size is logged, not applied).
  ///
  /// A new journal is formatted under a temporary name (`PATH.creating`) and renamed into place
  /// only once its superblock and first checkpoints are durable, so a crash during creation
  /// never leaves a half-made journal at `path`. A file at `path` whose header blocks are all
  /// zeros (an unfinished creation by an older version, or a preallocated placeholder) holds
  /// nothing and is replaced by a new journal. The writer holds an exclusive lock on the file.
  public static func openOrCreate(
    path: String, size: UInt64, configuration: JournalConfiguration = JournalConfiguration(),
    logger: Logger = Logger(label: "outpost.journal")
  ) throws -> RingJournal {
    let storage: FileStorage
    do {
      storage = try FileStorage(path: path)
    } catch let error as StorageError where error.errno == 2 {
      return try createInPlace(
        path: path, size: size, configuration: configuration, logger: logger)
    } catch let error as StorageError {
      throw JournalError.storage(error)
    }
    do {
      try storage.lockForWriting()
    } catch let error as StorageError {
      throw JournalError.storage(error)
    }
    if storage.size != size {
      logger.warning(
        "journal file size differs from the configured size; keeping the file's size",
        metadata: [
          "path": "\(path)", "file_bytes": "\(storage.size)", "configured_bytes": "\(size)",
        ])
    }
    do {
      return try open(storage: storage, path: path, configuration: configuration, logger: logger)
    } catch JournalError.notAJournal where (try? headerIsBlank(storage)) == true {
      logger.warning(
        "journal file has blank header blocks (an unfinished creation); starting a new journal",
        metadata: ["path": "\(path)"])
      return try createInPlace(
        path: path, size: size, configuration: configuration, logger: logger)
    }
  }

  /// Whether the superblock and both slots are all zeros: nothing was ever recorded there.
  static func headerIsBlank(_ storage: any JournalStorage) throws -> Bool {
    var header = [UInt8](repeating: 0xFF, count: Int(JournalFormat.ringOffset))
    let got = try header.withUnsafeMutableBytes { try storage.read(into: $0, at: 0) }
    return got == header.count && header.allSatisfy { $0 == 0 }
  }

  /// Formats a new journal under `PATH.creating`, then renames it to `path`.
  static func createInPlace(
    path: String, size: UInt64, configuration: JournalConfiguration, logger: Logger
  ) throws -> RingJournal {
    let temporary = path + ".creating"
    do {
      // A leftover from a crash during an earlier creation holds nothing.
      FileStorage.remove(temporary)
      let created = try FileStorage.create(path: temporary, size: size)
      try created.lockForWriting()
      let journal = try create(
        storage: created, path: path, configuration: configuration, logger: logger)
      try FileStorage.rename(temporary, to: path)
      return journal
    } catch let error as StorageError {
      FileStorage.remove(temporary)
      throw JournalError.storage(error)
    } catch {
      FileStorage.remove(temporary)
      throw error
    }
  }

  /// Scans from the checkpointed head over what may have been written since, up to the
  /// checkpoint interval: the journal never writes further without a new checkpoint.
  ///
  /// A moved frame (one the cleaner rewrote at the head) past the checkpointed head means a
  /// cleaning step was cut short before the checkpoint that would have released its originals.
  /// Between a step's first move and that checkpoint nothing but its moves and padding is
  /// written, and the originals were never overwritten: so the head is cut back to the first
  /// moved frame, the originals stay where they are, and the abandoned copies are erased when
  /// recovery finishes (so no later recovery can find them again).
  func recoverTail() throws {
    let limit = min(
      checkpointHead + checkpointInterval + 2 * UInt64(JournalFrame.maxFrameLength),
      tail + superblock.ringSize)
    var at = checkpointHead
    var lastGood = checkpointHead
    var maxSeq: UInt64? = nil
    var gapWritten = false
    var tornBytes: UInt64 = 0
    var cut: UInt64? = nil
    scan: while at < limit {
      var found = try frame(at: at)
      if case .record(let decoded) = found, !decoded.relocated, decoded.record.seq < nextSeq {
        // A frame numbered before the checkpoint cannot sit past its head: garbage.
        found = .invalid(torn: false)
      }
      switch found {
      case .record(let decoded):
        let record = decoded.record
        // Numbers seen are never handed out again, abandoned or not.
        maxSeq = max(maxSeq ?? 0, record.seq)
        if decoded.relocated && cut == nil { cut = at }
        if cut == nil {
          counters.live[Int(record.priority.rawValue)] += 1
          if let pending = pendingGap, record.kind == .journalGap,
            case .journalGap(let count, let first, let last)? = try? record.decodedBody(),
            count == pending.count, first == pending.firstSeq, last == pending.lastSeq
          {
            gapWritten = true
          }
        }
        at += UInt64(decoded.length)
        lastGood = at
      case .padding, .ringEnd:
        at = nextLap(at)
        lastGood = at
      case .invalid(let torn):
        guard let next = try resynchronize(after: at, before: limit) else {
          if torn { tornBytes = limit - at }
          break scan
        }
        if cut == nil {
          quarantine(from: at, to: next)
          markSuspect(at..<next)
        }
        at = next
      }
    }
    head = cut ?? lastGood
    durableHead = head
    if let cut, lastGood > cut {
      abandoned = cut..<lastGood
      logger.notice(
        "journal discards the copies of a cleaning step cut short; the originals stay",
        metadata: ["from": "\(cut)", "to": "\(lastGood)"])
    }
    if let maxSeq { nextSeq = max(nextSeq, maxSeq + 1) }
    // The rest of the lease was never handed out (a crash kept it from being given back): no
    // record will ever carry those numbers, so they count as acknowledged. Otherwise they would
    // stay a hole in the acknowledged ranges for ever, the ack floor could not pass them, and
    // after enough crashes the ranges would outgrow what a checkpoint keeps.
    if newestLease > nextSeq { acked.insert(nextSeq...(newestLease - 1)) }
    nextSeq = max(nextSeq, newestLease)
    seqLimit = nextSeq
    if head != checkpointHead || tornBytes > 0 || cut != nil {
      counters.recoveries += 1
      logger.notice(
        "journal recovered records written after the last checkpoint",
        metadata: ["bytes": "\(head - checkpointHead)", "next_seq": "\(nextSeq)"])
    }
    if gapWritten { pendingGap = nil }
  }

  /// Salvage after both cursor slots were destroyed: every valid frame in the ring is found by
  /// its magic, checksum and logical offset; the frames of the newest stretch the ring can hold
  /// (its capacity, so the cleaner's reserve stays free) are kept. Where a sequence number is
  /// found twice (a record and the copy a cleaning step made of it), the later copy is kept and
  /// the earlier one erased when recovery finishes. O(ring size), on this rare path only.
  func salvage() throws {
    let ring = superblock.ringSize
    var found: [(logical: UInt64, length: UInt64, record: Record)] = []
    var position: UInt64 = 0
    while position + UInt64(JournalFrame.minFrameLength) <= ring {
      let at = superblock.ringOffset + position
      let header = try window.read(storage, physical: at, count: 16)
      var advanced = false
      if header.count == 16 {
        let (magic, logical) = header.withUnsafeBytes {
          ($0.loadLE(UInt16.self, at: 0), $0.loadLE(UInt64.self, at: 8))
        }
        if magic == JournalFrame.magic, logical % ring == position,
          case .record(let decoded) = try frame(at: logical)
        {
          found.append((logical, UInt64(decoded.length), decoded.record))
          position += UInt64(decoded.length)
          advanced = true
        }
      }
      if !advanced { position += UInt64(JournalFrame.alignment) }
    }
    let end = found.map { $0.logical + $0.length }.max() ?? 0
    let floor = end > capacity ? end - capacity : 0
    let kept = found.filter { $0.logical >= floor }.sorted { $0.logical < $1.logical }
    var latest: [UInt64: Int] = [:]
    for (index, frame) in kept.enumerated() { latest[frame.record.seq] = index }
    var erase: [Range<UInt64>] = []
    for (index, frame) in kept.enumerated() {
      if latest[frame.record.seq] == index {
        counters.live[Int(frame.record.priority.rawValue)] += 1
      } else {
        erase.append(frame.logical..<(frame.logical + frame.length))
      }
    }
    tail = kept.first?.logical ?? end
    cleanTail = tail
    head = end
    durableHead = end
    checkpointHead = end
    erasures = erase
    // Whatever lay between the frames found is unknown: check everything before trusting it.
    if end > tail { markSuspect(tail..<end) }
    let maxSeq = kept.map(\.record.seq).max() ?? 0
    // The lease in the lost slots is unknown; skip two whole leases past the highest number seen.
    let lease = leaseBlock
    nextSeq = (maxSeq / lease + 2) * lease
    seqLimit = nextSeq
    newestLease = nextSeq
    counters.recoveries += 1
  }

  /// Overwrites `range` of the ring with zeros, in pieces that never cross the ring's end.
  func erase(_ range: Range<UInt64>) throws {
    var at = range.lowerBound
    while at < range.upperBound {
      let piece = Int(min(range.upperBound - at, roomToRingEnd(at)))
      let zeros = [UInt8](repeating: 0, count: piece)
      window.invalidate(physical: physical(at), count: piece)
      do {
        try zeros.withUnsafeBytes { try storage.write($0, at: physical(at)) }
      } catch let error as StorageError {
        throw JournalError.storage(error)
      }
      at += UInt64(piece)
    }
  }

  /// Widens the suspect stretch to cover `range`.
  func markSuspect(_ range: Range<UInt64>) {
    guard let current = suspect else {
      suspect = range
      return
    }
    suspect = min(current.lowerBound, range.lowerBound)..<max(current.upperBound, range.upperBound)
  }

  /// Makes the recovered state durable: syncs what the scan accepted, checkpoints with a fresh
  /// sequence lease, and writes any gap record still owed.
  func finishRecovery() throws {
    try guarded {
      // Copies abandoned by a cleaning step cut short, and duplicates found by salvage, are
      // erased before any checkpoint could place them in the live region again.
      for range in erasures + (abandoned.map { [$0] } ?? []) { try erase(range) }
      erasures = []
      abandoned = nil
      try syncData()
      // Two checkpoints: the fresh lease must be in both slots before it is used.
      try writeCheckpoint()
      try writeCheckpoint()
      if pendingGap != nil {
        try emitPendingGap()
        try writeCheckpoint()
      }
    }
  }
}
