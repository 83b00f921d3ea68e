import OutpostCore
import OutpostJournal
import OutpostTestKit
import Testing

/// The full-journal policy: acknowledged records go first, then the oldest bulk, then normal;
/// unacknowledged alarms never.
@Suite struct OverwritePolicyTests {
  func gapRecords(_ journal: RingJournal) throws -> [(count: UInt64, first: UInt64, last: UInt64)] {
    try journal.records().compactMap { record in
      guard case .journalGap(let count, let first, let last)? = try? record.decodedBody() else {
        return nil
      }
      return (count, first, last)
    }
  }

  @Test func acknowledgedRecordsAreReclaimedBeforeAnyUnacknowledgedOne() throws {
    let rig = try JournalRig(size: 64 * 1024)
    // Fill about half the ring with unacknowledged records, then acknowledged ones.
    var unacked: [UInt64] = []
    for i in 0..<150 { unacked.append(try rig.journal.append(entry(.bulk, UInt64(i)))) }
    var acked: [UInt64] = []
    for i in 150..<300 { acked.append(try rig.journal.append(entry(.normal, UInt64(i)))) }
    try rig.journal.acknowledge(acked.first!...acked.last!)
    // Keep appending: space must come from the acknowledged records, though the bulk ones are
    // older and sit at the tail.
    for i in 300..<600 { try rig.journal.append(entry(.normal, UInt64(i)), durable: false) }
    try rig.journal.sync()
    let present = Set(try rig.journal.records().map(\.seq))
    #expect(unacked.allSatisfy { present.contains($0) }, "an unacknowledged bulk record was lost")
    #expect(try rig.journal.statistics().droppedUnacknowledged == 0)
    #expect(try gapRecords(rig.journal).isEmpty)
    #expect(acked.contains { !present.contains($0) }, "the journal should have had to reclaim")
  }

  @Test func bulkIsOverwrittenBeforeNormalAndEveryLossLeavesAGapRecord() throws {
    let rig = try JournalRig(size: 64 * 1024)
    var normals: [UInt64] = []
    var bulks: [UInt64] = []
    for i in 0..<200 {
      if i % 2 == 0 {
        normals.append(try rig.journal.append(entry(.normal, UInt64(i)), durable: false))
      } else {
        bulks.append(try rig.journal.append(entry(.bulk, UInt64(i)), durable: false))
      }
    }
    for i in 200..<560 {
      normals.append(try rig.journal.append(entry(.normal, UInt64(i)), durable: false))
    }
    try rig.journal.sync()
    let present = Set(try rig.journal.records().map(\.seq))
    let lostBulk = bulks.filter { !present.contains($0) }
    let lostNormal = normals.filter { !present.contains($0) }
    #expect(!lostBulk.isEmpty)
    if !lostNormal.isEmpty {
      #expect(lostBulk.count == bulks.count, "a normal record went while bulk records remained")
    }
    // The oldest bulk records go first. (Normal records the cleaner moved past to reach bulk
    // ones now sit behind newer ones in the ring, so among normals ring order decides.)
    #expect(lostBulk == Array(bulks.prefix(lostBulk.count)))
    let stats = try rig.journal.statistics()
    #expect(stats.droppedUnacknowledged == UInt64(lostBulk.count + lostNormal.count))
    let gaps = try gapRecords(rig.journal)
    #expect(gaps.map(\.count).reduce(0, +) == stats.droppedUnacknowledged)
    for seq in lostBulk + lostNormal {
      #expect(gaps.contains { $0.first <= seq && seq <= $0.last }, "loss of \(seq) not in a gap")
    }
  }

  @Test func unacknowledgedAlarmsAreNeverOverwrittenAndAFullJournalSaysSo() throws {
    var rig = try JournalRig(size: 64 * 1024)
    var alarms: [UInt64] = []
    for i in 0..<20 { alarms.append(try rig.journal.append(entry(.alarm, UInt64(i)))) }
    for i in 20..<60 { try rig.journal.append(entry(.bulk, UInt64(i))) }
    var fullError: JournalError? = nil
    for i in 60..<2000 {
      do {
        alarms.append(try rig.journal.append(entry(.alarm, UInt64(i))))
      } catch let error as JournalError {
        fullError = error
        break
      }
    }
    guard case .fullOfUnacknowledgedAlarms(let count, _)? = fullError else {
      Issue.record("expected the journal to fill with alarms, got \(String(describing: fullError))")
      return
    }
    #expect(count == UInt64(alarms.count))
    #expect("\(fullError!)".contains("never overwritten"))
    try rig.crashAndReopen()
    let present = Set(try rig.journal.records().map(\.seq))
    #expect(alarms.allSatisfy { present.contains($0) })
    // Once the station acknowledges, room returns.
    try rig.journal.acknowledge(alarms[0]...alarms[99])
    #expect(throws: Never.self) { try rig.journal.append(entry(.alarm, 5000)) }
  }

  @Test func movedRecordsSurviveACrashInTheMiddleOfCleaning() throws {
    // Alarms at the tail force the cleaner to move them; crash at every point of the run.
    for seed in UInt64(1)...40 {
      var rig = try JournalRig(size: 48 * 1024, seed: seed)
      var alarms: [UInt64] = []
      for i in 0..<30 { alarms.append(try rig.journal.append(entry(.alarm, UInt64(i)))) }
      for i in 0..<Int(seed) * 12 {
        try rig.journal.append(entry(.bulk, UInt64(1000 + i)), durable: i % 7 == 0)
      }
      try rig.crashAndReopen()
      let records = try rig.journal.records()
      let seqs = records.map(\.seq)
      #expect(Set(seqs).count == seqs.count, "seed \(seed): a moved record appears twice")
      #expect(alarms.allSatisfy { Set(seqs).contains($0) }, "seed \(seed): an alarm was lost")
    }
  }
}
