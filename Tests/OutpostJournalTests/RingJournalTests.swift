import OutpostCore
import OutpostJournal
import OutpostTestKit
import Testing

@Suite struct RingJournalTests {
  @Test func appendedRecordsReadBackInOrderAfterReopen() throws {
    var rig = try JournalRig()
    var seqs: [UInt64] = []
    for i in 0..<50 {
      seqs.append(try rig.journal.append(entry(i % 3 == 0 ? .alarm : .normal, UInt64(i))))
    }
    try rig.journal.sync()
    #expect(seqs == Array(0..<50))
    try rig.reopen()
    let records = try rig.journal.records()
    #expect(records.map(\.seq) == seqs)
    for (i, record) in records.enumerated() {
      let expected = entry(i % 3 == 0 ? .alarm : .normal, UInt64(i))
      #expect(record.body == expected.body)
      #expect(record.priority == expected.priority)
      #expect(record.time == expected.time)
    }
    #expect(try rig.journal.verify().isClean)
  }

  @Test func alarmIsDurableWhenAppendReturns() throws {
    var rig = try JournalRig()
    let seq = try rig.journal.append(entry(.alarm, 7))
    // Nothing else synced: a crash now must keep the alarm.
    try rig.crashAndReopen()
    #expect(try rig.journal.records().map(\.seq) == [seq])
  }

  @Test func unsyncedRoutineRecordsMayBeLostButNumbersAreNeverReused() throws {
    var rig = try JournalRig(seed: 99)
    var issued = Set<UInt64>()
    var highest: UInt64 = 0
    for round in 0..<30 {
      for i in 0..<10 {
        let seq = try rig.journal.append(entry(.normal, UInt64(round * 100 + i)), durable: false)
        #expect(!issued.contains(seq), "sequence number \(seq) handed out twice")
        #expect(seq >= highest)
        issued.insert(seq)
        highest = seq + 1
      }
      try rig.crashAndReopen()
      #expect(rig.journal.nextSequenceNumber >= highest)
    }
  }

  @Test func tornSlotWriteFallsBackToThePreviousCheckpoint() throws {
    var rig = try JournalRig()
    for i in 0..<20 { try rig.journal.append(entry(.normal, UInt64(i))) }
    try rig.journal.checkpoint()
    for i in 20..<25 { try rig.journal.append(entry(.alarm, UInt64(i))) }
    try rig.journal.checkpoint()
    // Destroy the newest slot, as a torn header write would.
    let stats = try rig.journal.statistics()
    let newest = Int(stats.generation % 2)
    rig.disk.overwrite([UInt8](repeating: 0xA5, count: 700), at: 4096 * (1 + newest) + 100)
    try rig.reopen()
    #expect(try rig.journal.records().map(\.seq) == Array(0..<25))
    #expect(try rig.journal.append(entry(.alarm, 99)) >= 25)
  }

  @Test func corruptRecordIsQuarantinedNeverReturned() throws {
    var rig = try JournalRig()
    for i in 0..<30 { try rig.journal.append(entry(.normal, UInt64(i))) }
    try rig.journal.checkpoint()
    // Flip bytes inside the tenth frame's body (frames are 104 bytes for 40-byte bodies).
    let frame = JournalFrame.frameLength(bodyLength: 40)
    rig.disk.overwrite([0xFF, 0x00, 0xFF], at: 12288 + 9 * frame + 60)
    try rig.reopen()
    let records = try rig.journal.records()
    #expect(records.map(\.seq) == Array(0..<9) + Array(10..<30))
    #expect(!(try rig.journal.verify().isClean))
    // The journal keeps recording.
    let seq = try rig.journal.append(entry(.alarm, 1000))
    #expect(seq >= 30)
    try rig.reopen()
    #expect(try rig.journal.records().last?.seq == seq)
  }

  @Test func bothSlotsDestroyedIsSalvagedWithANewLease() throws {
    var rig = try JournalRig()
    for i in 0..<40 { try rig.journal.append(entry(i % 2 == 0 ? .alarm : .bulk, UInt64(i))) }
    try rig.journal.sync()
    rig.disk.overwrite([UInt8](repeating: 0, count: 8192), at: 4096)
    try rig.reopen()
    #expect(try rig.journal.records().map(\.seq) == Array(0..<40))
    #expect(rig.journal.nextSequenceNumber > 40)
    #expect(try rig.journal.statistics().recoveries >= 1)
  }

  @Test func recoveryReadsOnlyTheUnflushedTailNotTheFile() throws {
    let disk = SimulatedDisk(size: 16 << 20, seed: 3)
    let journal = try RingJournal.create(storage: disk, logger: quietLogger)
    let batch = (0..<256).map { entry(.bulk, UInt64($0)) }
    for _ in 0..<400 { try journal.append(contentsOf: batch, durable: true) }
    try journal.checkpoint()
    for i in 0..<100 { try journal.append(entry(.normal, UInt64(i)), durable: false) }
    disk.crash()
    disk.bytesRead = 0
    let reopened = try RingJournal.open(storage: disk, logger: quietLogger)
    let readByOpen = disk.bytesRead
    let used = try reopened.statistics().usedBytes
    #expect(used > 8 << 20, "the journal should hold megabytes of records for this test")
    // The open read the header blocks and at most one checkpoint interval (1 MiB here) plus
    // slack, not the megabytes of records before the checkpoint.
    #expect(readByOpen < 1_400_000, "recovery read \(readByOpen) bytes")
  }
}

@Suite struct AcknowledgementTests {
  @Test func outOfOrderAcknowledgementsMoveTheFloorAndSurviveACheckpoint() throws {
    var rig = try JournalRig()
    for i in 0..<20 { try rig.journal.append(entry(i == 12 ? .alarm : .normal, UInt64(i))) }
    try rig.journal.sync()
    // The alarm overtakes the backlog and is acknowledged first.
    try rig.journal.acknowledge(12)
    #expect(rig.journal.ackFloor == 0)
    try rig.journal.acknowledge(5...9)
    #expect(rig.journal.ackFloor == 0)
    try rig.journal.acknowledge(0...4)
    #expect(rig.journal.ackFloor == 10)
    try rig.journal.acknowledge(10...11)
    #expect(rig.journal.ackFloor == 13)
    try rig.journal.checkpoint()
    try rig.crashAndReopen()
    #expect(rig.journal.ackFloor == 13)
    #expect(rig.journal.isAcknowledged(12) && !rig.journal.isAcknowledged(13))
    #expect(try rig.journal.unacknowledged().map(\.seq) == Array(13..<20))
    let beyond = rig.journal.nextSequenceNumber + 5
    #expect(throws: JournalError.self) { try rig.journal.acknowledge(beyond) }
  }

  /// A crash keeps the unused part of the sequence lease from being given back; those numbers
  /// are never handed out, so they must not stay a hole the ack floor cannot pass (a box that
  /// loses power often would otherwise pile up holes until its acknowledgements no longer fit a
  /// checkpoint).
  @Test func numbersACrashSkippedDoNotHoldTheAckFloorBack() throws {
    var rig = try JournalRig()
    for crash in 0..<300 {
      let first = rig.journal.nextSequenceNumber
      let seqs = try rig.journal.append(
        contentsOf: (0..<3).map { entry(.normal, UInt64($0)) }, durable: true)
      #expect(seqs.first == first, "crash \(crash)")
      try rig.journal.acknowledge(seqs.first!...seqs.last!)
      try rig.journal.checkpoint()
      try rig.crashAndReopen()
      #expect(
        rig.journal.ackFloor == rig.journal.nextSequenceNumber,
        "crash \(crash): floor \(rig.journal.ackFloor), next \(rig.journal.nextSequenceNumber)")
    }
    #expect(try rig.journal.statistics().acknowledgedRanges <= 1)
  }

  @Test func readersStartAtAnySequenceNumber() throws {
    let rig = try JournalRig()
    for i in 0..<30 { try rig.journal.append(entry(.bulk, UInt64(i)), durable: false) }
    // Not yet synced: a durable-only reader sees nothing, a reader of everything sees all.
    #expect(try rig.journal.records(from: 0).isEmpty)
    #expect(try rig.journal.records(from: 25, durableOnly: false).map(\.seq) == Array(25..<30))
    try rig.journal.sync()
    #expect(try rig.journal.records(from: 17, limit: 3).map(\.seq) == [17, 18, 19])
    #expect(try rig.journal.records(from: 1000).isEmpty)
  }
}
