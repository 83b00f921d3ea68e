import OutpostCore
import OutpostTestKit
import Testing

@testable import OutpostJournal

/// Forwards to a simulated disk; when armed, the next sync fails (the process "dies" there).
final class FailingSyncStorage: JournalStorage {
  // A test double: the journal under test is its only user.
  let disk: SimulatedDisk
  var failNextSync = false
  init(_ disk: SimulatedDisk) { self.disk = disk }
  var size: UInt64 { disk.size }
  func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
    try disk.read(into: buffer, at: offset)
  }
  func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
    try disk.write(bytes, at: offset)
  }
  func sync() throws {
    if failNextSync {
      failNextSync = false
      throw StorageError(.sync, errno: StorageError.eio)
    }
    try disk.sync()
  }
}

/// Defects found by review, each once a failing test: crashes in the middle of a cleaning step,
/// salvage of a wrapped ring, small rings, and damaged geometry.
@Suite struct JournalReviewTests {
  /// A journal on `disk` behind storage whose next sync can be made to fail.
  func makeJournal(on disk: SimulatedDisk) throws -> (
    FailingSyncStorage, JournalConfiguration, RingJournal
  ) {
    let storage = FailingSyncStorage(disk)
    var configuration = JournalConfiguration()
    configuration.seqLeaseBlock = 64
    configuration.epoch = 0xE0C4
    let journal = try RingJournal.create(
      storage: storage, configuration: configuration, logger: quietLogger)
    return (storage, configuration, journal)
  }

  /// Appends acknowledged normal records until the next 40-byte record needs the cleaner.
  ///
  /// - Returns: the tag for the next record.
  func fillWithAcknowledgedRecords(_ journal: RingJournal) throws -> UInt64 {
    let frame = UInt64(JournalFrame.frameLength(bodyLength: 40))
    var i: UInt64 = 10
    while true {
      let s = try journal.statistics()
      if s.capacityBytes - s.usedBytes < 2 * frame { return i }
      let seq = try journal.append(entry(.normal, i), durable: false)
      try journal.acknowledge(seq)
      i += 1
    }
  }

  /// Finding 1: a cleaning step is cut short after writing its moved copies but before syncing
  /// them; the disk keeps the copy of the *second* moved alarm and loses the copy of the first
  /// (unsynced writes may reach the platter in any order). Recovery once walked the tail up to
  /// the original of the copy it found and dropped the first alarm as "overwritten by that step".
  @Test func partiallyPersistedMovesNeverLoseAnAlarm() throws {
    let disk = SimulatedDisk(size: 128 * 1024, seed: 1)
    let (storage, configuration, journal) = try makeJournal(on: disk)
    let alarmB = try journal.append(entry(.alarm, 1))
    let alarmA = try journal.append(entry(.alarm, 2))
    let frame = UInt64(JournalFrame.frameLength(bodyLength: 40))
    let i = try fillWithAcknowledgedRecords(journal)
    try journal.checkpoint()
    let headBefore = try journal.statistics().head
    #expect(try journal.statistics().tail == 0)
    // The next append needs the cleaner: it moves B and A (unacknowledged alarms at the tail)
    // to the head, reclaims acknowledged records, then syncs -- which fails here.
    storage.failNextSync = true
    #expect(throws: JournalError.self) {
      try journal.append(entry(.normal, i), durable: false)
    }
    // Power cut: the copy of B (first moved frame) never reached the disk, A's copy did.
    var bytes = disk.currentBytes
    let ring = disk.size - 12288
    let at = Int(12288 + headBefore % ring)
    bytes.replaceSubrange(at..<(at + Int(frame)), with: disk.durable[at..<(at + Int(frame))])
    let after = SimulatedDisk(bytes: bytes, seed: 2)
    let reopened = try RingJournal.open(
      storage: after, configuration: configuration, logger: quietLogger)
    let seqs = try reopened.records().map(\.seq)
    #expect(seqs.contains(alarmA))
    #expect(seqs.contains(alarmB), "unacknowledged alarm \(alarmB) was lost by recovery")
    #expect(try reopened.statistics().droppedUnacknowledged == 0)
  }

  /// Finding 2: salvage of a ring that has wrapped keeps the stale frames of the previous lap
  /// that lie in the free space, so tail ends up a few bytes after head - ringSize: freeBytes is
  /// nearly 0 and the next append's cleaning step computes `min(freeBytes, window) - maxFrame`,
  /// an unsigned underflow (trap). Every restart salvages nothing new (the slots are valid now),
  /// and traps again on the first append: a crash loop.
  @Test func appendAfterSalvagingAWrappedRing() throws {
    var rig = try JournalRig()
    for i in 0..<3000 {
      let seq = try rig.journal.append(entry(.bulk, UInt64(i)), durable: false)
      try rig.journal.acknowledge(seq)
    }
    try rig.journal.sync()
    rig.disk.overwrite([UInt8](repeating: 0, count: 8192), at: 4096)
    try rig.reopen()
    let s = try rig.journal.statistics()
    #expect(s.ringBytes - (s.head - s.tail) >= UInt64(JournalFrame.maxFrameLength))
    // The box keeps recording after the salvage, and after a restart.
    try rig.journal.append(entry(.bulk, 5000))
    try rig.reopen()
    try rig.journal.append(entry(.alarm, 5001))
    #expect(try rig.journal.verify().duplicateSeqs.isEmpty)
  }

  /// Finding 3: on a small ring (minimum is 32 KiB) the chunk limit (half a checkpoint interval,
  /// which is at least 64 KiB) lets one batch exceed what can ever be freed; the cleaner then
  /// overwrites every unacknowledged normal and bulk record and the batch fails with
  /// "full of unacknowledged alarms" (alarms: 0).
  @Test func batchOnASmallRingIsNotRefusedAfterDestroyingEverything() throws {
    let rig = try JournalRig(size: 12288 + 32 * 1024)
    for i in 0..<20 { try rig.journal.append(entry(.normal, UInt64(i)), durable: false) }
    try rig.journal.sync()
    let batch = (0..<230).map { entry(.bulk, UInt64(100 + $0)) }
    #expect(230 * UInt64(JournalFrame.frameLength(bodyLength: 40)) < rig.journal.capacity)
    var error: (any Error)? = nil
    do { try rig.journal.append(contentsOf: batch) } catch let e { error = e }
    #expect(error == nil, "\(String(describing: error))")
    #expect(try rig.journal.statistics().droppedUnacknowledged == 0)
  }
  /// Finding 4: when the checkpoint interval is not small against the ring (the default on
  /// rings below ~80 KiB: the interval is at least 64 KiB), the originals a cleaning step moves
  /// can lie *after* the checkpointed head. After a crash between the moves and the step's
  /// checkpoint, recovery's scan (which starts at the checkpointed head) sees both the original
  /// and the moved copy; recovery once kept both live, returning the same sequence number twice.
  @Test func interruptedCleaningOnASmallRingDuplicatesARecord() throws {
    let disk = SimulatedDisk(size: 12288 + 64 * 1024, seed: 1)
    let (storage, configuration, journal) = try makeJournal(on: disk)
    let alarm = try journal.append(entry(.alarm, 1))
    let i = try fillWithAcknowledgedRecords(journal)
    try journal.sync()
    storage.failNextSync = true
    #expect(throws: JournalError.self) {
      try journal.append(entry(.normal, i), durable: false)
    }
    // Power cut after the moved copy reached the disk but before the tail was checkpointed.
    let after = SimulatedDisk(bytes: disk.currentBytes, seed: 2)
    let reopened = try RingJournal.open(
      storage: after, configuration: configuration, logger: quietLogger)
    let seqs = try reopened.records().map(\.seq)
    #expect(
      seqs.filter { $0 == alarm }.count == 1,
      "seq \(alarm) appears \(seqs.filter { $0 == alarm }.count) times")
    #expect(try reopened.verify().duplicateSeqs.isEmpty)
  }

  /// Finding 5: with the superblock damaged, the geometry used to be rebuilt from the file size
  /// without any sanity check; a file cut short (here to 16 KiB: 4 KiB of ring) opened with a
  /// ring smaller than the reserve and trapped on `capacity`. It must be refused, clearly.
  @Test func damagedSuperblockOnATruncatedFileIsRefusedNotTrapped() throws {
    let rig = try JournalRig()
    for i in 0..<5 { try rig.journal.append(entry(.alarm, UInt64(i))) }
    var bytes = Array(rig.disk.durable[0..<(12288 + 4096)])
    bytes[20] ^= 0x01  // superblock CRC no longer holds
    let disk = SimulatedDisk(bytes: bytes, seed: 3)
    #expect {
      _ = try RingJournal.open(storage: disk, configuration: rig.configuration, logger: quietLogger)
    } throws: { error in
      guard case .notAJournal? = error as? JournalError else { return false }
      return true
    }
  }
}
