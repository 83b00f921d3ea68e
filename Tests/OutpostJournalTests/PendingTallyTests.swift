import OutpostCore
import OutpostJournal
import Testing

@Suite struct PendingTallyTests {
  /// Whatever the slice size, a tally taken a slice at a time counts what one whole scan
  /// (`statistics()`) counts: pending records by priority and the oldest of them.
  @Test(arguments: [1, 7, 64, 10_000])
  func slicedTallyAgreesWithAWholeScan(slice: Int) throws {
    let rig = try JournalRig(size: 256 * 1024)
    let priorities: [Priority] = [.normal, .normal, .alarm, .bulk, .normal]
    for tag in 0..<300 {
      _ = try rig.journal.append(entry(priorities[tag % priorities.count], UInt64(tag)))
    }
    try rig.journal.acknowledge(0...99)
    try rig.journal.acknowledge(150...160)
    try rig.journal.acknowledge(299)
    let whole = try rig.journal.statistics()

    var tally = PendingTally()
    var visits = 0
    while !tally.isFinished {
      try rig.journal.continuePendingTally(&tally, limit: slice)
      visits += 1
    }
    #expect(tally.pendingByPriority == whole.pendingByPriority)
    #expect(tally.pending == 300 - 100 - 11 - 1)
    #expect(tally.oldestSeq == whole.oldestPendingSeq)
    #expect(tally.oldestSeq == 100)
    #expect(tally.oldestTime == whole.oldestPendingTime)
    // Each visit reads at most `slice` records (and the last one may find the head at once).
    #expect(visits >= 300 / slice)
    #expect(visits <= 300 / slice + 2)
  }

  @Test func anEmptyOrFullyAcknowledgedJournalHasNothingPending() throws {
    let rig = try JournalRig()
    var tally = PendingTally()
    try rig.journal.continuePendingTally(&tally, limit: 16)
    #expect(tally.isFinished)
    #expect(tally.pending == 0)
    #expect(tally.oldestSeq == nil)

    for tag in 0..<20 { _ = try rig.journal.append(entry(.normal, UInt64(tag))) }
    try rig.journal.acknowledge(0...19)
    tally = PendingTally()
    while !tally.isFinished { try rig.journal.continuePendingTally(&tally, limit: 3) }
    #expect(tally.pending == 0)
    #expect(tally.oldestSeq == nil)
  }

  /// The fill the health record reports needs no scan.
  @Test func usedBytesIsWhatStatisticsReports() throws {
    let rig = try JournalRig()
    for tag in 0..<50 { _ = try rig.journal.append(entry(.normal, UInt64(tag))) }
    #expect(rig.journal.usedBytes == (try rig.journal.statistics()).usedBytes)
    #expect(rig.journal.usedBytes > 0)
  }
}
