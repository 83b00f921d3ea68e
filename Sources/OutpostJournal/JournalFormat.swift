import OutpostCore

/// The fixed blocks at the start of a journal file: the superblock, written once when the
/// journal is created, and two cursor slots, written alternately at every checkpoint.
/// Layouts are byte by byte in `docs/journal.md`.
enum JournalFormat {
  static let version: UInt32 = 1
  static let blockSize = 4096
  static let superblockOffset: UInt64 = 0
  static let slotOffsets: [UInt64] = [4096, 8192]
  static let ringOffset: UInt64 = 12288
  /// The smallest ring that still holds a few maximum-size records beside its reserves.
  static let minimumRingSize: UInt64 = 32 * 1024
  static let superblockMagic: UInt64 = 0x4A54_534F_5054_554F  // "OUTPOSTJ"
  static let slotMagic: UInt64 = 0x4354_534F_5054_554F  // "OUTPOSTC"
  /// Acknowledged ranges a slot can hold; further ranges are forgotten (those records are
  /// merely sent again).
  static let maxSlotRanges = 239
  /// Where a slot keeps the suspect stretch (two u64), after the acknowledged ranges.
  static let suspectOffset = 4072
}

/// Block 0: what the journal is. Never rewritten after creation.
struct Superblock: Equatable {
  var fileSize: UInt64
  var ringSize: UInt64
  var epoch: UInt64
  var seqLeaseBlock: UInt32
  /// Bytes written between checkpoints at most. Fixed at creation: recovery's scan window
  /// depends on it, so it must not change under a journal's feet. 0 in the file means the
  /// default for the ring's size.
  var storedCheckpointInterval: UInt32
  var createdMs: Int64

  /// The checkpoint interval in force: the stored one, or the default for the ring's size
  /// (an eighth of the ring, between 64 KiB and 1 MiB); never below four maximum frames, since
  /// a cleaning step may move up to half an interval.
  var checkpointInterval: UInt64 {
    let chosen =
      storedCheckpointInterval > 0
      ? UInt64(storedCheckpointInterval) : max(64 * 1024, min(1 << 20, ringSize / 8))
    return max(4 * UInt64(JournalFrame.maxFrameLength), chosen)
  }
  var ringOffset: UInt64 { JournalFormat.ringOffset }

  static let encodedLength = 68

  func encode() -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: JournalFormat.blockSize)
    bytes.withUnsafeMutableBytes { b in
      b.storeLE(JournalFormat.superblockMagic, at: 0)
      b.storeLE(JournalFormat.version, at: 8)
      b.storeLE(UInt32(JournalFormat.blockSize), at: 12)
      b.storeLE(fileSize, at: 16)
      b.storeLE(JournalFormat.ringOffset, at: 24)
      b.storeLE(ringSize, at: 32)
      b.storeLE(epoch, at: 40)
      b.storeLE(seqLeaseBlock, at: 48)
      b.storeLE(storedCheckpointInterval, at: 52)
      b.storeLE(createdMs, at: 56)
      b.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<64])), at: 64)
    }
    return bytes
  }

  enum DecodeFailure: Error, Equatable {
    case notAJournal
    case newerVersion(UInt32)
    case damaged
  }

  static func decode(_ b: UnsafeRawBufferPointer) -> Result<Superblock, DecodeFailure> {
    guard b.count >= encodedLength, b.loadLE(UInt64.self, at: 0) == JournalFormat.superblockMagic
    else { return .failure(.notAJournal) }
    guard
      CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<64])) == b.loadLE(UInt32.self, at: 64)
    else { return .failure(.damaged) }
    let version = b.loadLE(UInt32.self, at: 8)
    guard version <= JournalFormat.version else { return .failure(.newerVersion(version)) }
    guard b.loadLE(UInt32.self, at: 12) == UInt32(JournalFormat.blockSize),
      b.loadLE(UInt64.self, at: 24) == JournalFormat.ringOffset
    else { return .failure(.damaged) }
    let superblock = Superblock(
      fileSize: b.loadLE(UInt64.self, at: 16), ringSize: b.loadLE(UInt64.self, at: 32),
      epoch: b.loadLE(UInt64.self, at: 40), seqLeaseBlock: b.loadLE(UInt32.self, at: 48),
      storedCheckpointInterval: b.loadLE(UInt32.self, at: 52),
      createdMs: b.loadLE(Int64.self, at: 56))
    guard superblock.ringSize >= JournalFormat.minimumRingSize,
      superblock.ringSize % UInt64(JournalFrame.alignment) == 0,
      superblock.fileSize == JournalFormat.ringOffset + superblock.ringSize,
      superblock.seqLeaseBlock > 0
    else { return .failure(.damaged) }
    return .success(superblock)
  }
}

/// Blocks 1 and 2: the journal's cursors and counters as of a checkpoint. The slot with the
/// highest generation whose checksum holds wins; a torn slot write falls back to the other.
struct CursorSlot: Equatable {
  var generation: UInt64
  var epoch: UInt64
  /// Logical offset of the oldest byte still belonging to the ring's live region.
  var tail: UInt64
  /// Logical offset just past the last frame made durable before this checkpoint.
  var head: UInt64
  /// No sequence number at or above this has been handed out.
  var seqLimit: UInt64
  /// The next sequence number at checkpoint time.
  var nextSeq: UInt64
  var live: [UInt64]  // by priority raw value: alarm, normal, bulk
  var droppedUnacked: UInt64
  var gapRecords: UInt64
  var quarantinedBytes: UInt64
  var quarantinedRegions: UInt64
  var relocatedRecords: UInt64
  /// A gap the cleaner created whose gap record may not have been written yet.
  var pendingGap: Gap?
  var recoveries: UInt64
  var acked: SeqRangeSet
  /// Logical byte range in the live region that may hold torn frames left by a crash (found by
  /// recovery); the cleaner checks checksums there before trusting a frame's header.
  var suspect: Range<UInt64>? = nil

  struct Gap: Equatable {
    var count: UInt64
    var firstSeq: UInt64
    var lastSeq: UInt64
  }

  func encode() -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: JournalFormat.blockSize)
    bytes.withUnsafeMutableBytes { b in
      b.storeLE(JournalFormat.slotMagic, at: 0)
      b.storeLE(JournalFormat.version, at: 8)
      b.storeLE(generation, at: 16)
      b.storeLE(epoch, at: 24)
      b.storeLE(tail, at: 32)
      b.storeLE(head, at: 40)
      b.storeLE(seqLimit, at: 48)
      b.storeLE(nextSeq, at: 56)
      b.storeLE(live[0], at: 64)
      b.storeLE(live[1], at: 72)
      b.storeLE(live[2], at: 80)
      b.storeLE(droppedUnacked, at: 88)
      b.storeLE(gapRecords, at: 96)
      b.storeLE(quarantinedBytes, at: 104)
      b.storeLE(quarantinedRegions, at: 112)
      b.storeLE(relocatedRecords, at: 120)
      b.storeLE(pendingGap?.count ?? 0, at: 128)
      b.storeLE(pendingGap?.firstSeq ?? 0, at: 136)
      b.storeLE(pendingGap?.lastSeq ?? 0, at: 144)
      b.storeLE(recoveries, at: 152)
      let ranges = acked.ranges.prefix(JournalFormat.maxSlotRanges)
      b.storeLE(UInt16(ranges.count), at: 160)
      for (i, range) in ranges.enumerated() {
        b.storeLE(range.lowerBound, at: 168 + i * 16)
        b.storeLE(range.upperBound, at: 176 + i * 16)
      }
      b.storeLE(suspect?.lowerBound ?? 0, at: JournalFormat.suspectOffset)
      b.storeLE(suspect?.upperBound ?? 0, at: JournalFormat.suspectOffset + 8)
      let end = JournalFormat.blockSize - 4
      b.storeLE(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<end])), at: end)
    }
    return bytes
  }

  static func decode(_ b: UnsafeRawBufferPointer) -> CursorSlot? {
    let end = JournalFormat.blockSize - 4
    guard b.count >= JournalFormat.blockSize,
      b.loadLE(UInt64.self, at: 0) == JournalFormat.slotMagic,
      CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<end]))
        == b.loadLE(UInt32.self, at: end),
      b.loadLE(UInt32.self, at: 8) <= JournalFormat.version
    else { return nil }
    let rangeCount = Int(b.loadLE(UInt16.self, at: 160))
    guard rangeCount <= JournalFormat.maxSlotRanges else { return nil }
    var acked = SeqRangeSet()
    for i in 0..<rangeCount {
      let lower = b.loadLE(UInt64.self, at: 168 + i * 16)
      let upper = b.loadLE(UInt64.self, at: 176 + i * 16)
      guard lower <= upper else { return nil }
      acked.insert(lower...upper)
    }
    let gapCount = b.loadLE(UInt64.self, at: 128)
    var slot = CursorSlot(
      generation: b.loadLE(UInt64.self, at: 16), epoch: b.loadLE(UInt64.self, at: 24),
      tail: b.loadLE(UInt64.self, at: 32), head: b.loadLE(UInt64.self, at: 40),
      seqLimit: b.loadLE(UInt64.self, at: 48), nextSeq: b.loadLE(UInt64.self, at: 56),
      live: [
        b.loadLE(UInt64.self, at: 64), b.loadLE(UInt64.self, at: 72), b.loadLE(UInt64.self, at: 80),
      ],
      droppedUnacked: b.loadLE(UInt64.self, at: 88), gapRecords: b.loadLE(UInt64.self, at: 96),
      quarantinedBytes: b.loadLE(UInt64.self, at: 104),
      quarantinedRegions: b.loadLE(UInt64.self, at: 112),
      relocatedRecords: b.loadLE(UInt64.self, at: 120),
      pendingGap: gapCount == 0
        ? nil
        : Gap(
          count: gapCount, firstSeq: b.loadLE(UInt64.self, at: 136),
          lastSeq: b.loadLE(UInt64.self, at: 144)),
      recoveries: b.loadLE(UInt64.self, at: 152),
      acked: acked)
    let suspectFrom = b.loadLE(UInt64.self, at: JournalFormat.suspectOffset)
    let suspectTo = b.loadLE(UInt64.self, at: JournalFormat.suspectOffset + 8)
    if suspectTo > suspectFrom { slot.suspect = suspectFrom..<suspectTo }
    guard slot.tail <= slot.head, slot.nextSeq <= slot.seqLimit else { return nil }
    return slot
  }
}
