import OutpostCore
import OutpostJournal
import OutpostTestKit
import Testing

/// Group commit: every append returns only once durable; routine records share syncs.
@Suite struct JournalWriterTests {
  func makeWriter(delay: Duration, maxPending: Int = 256) throws -> (SimulatedDisk, JournalWriter) {
    let disk = SimulatedDisk(size: 256 * 1024, seed: 11)
    let journal = try RingJournal.create(storage: disk, logger: quietLogger)
    return (disk, JournalWriter(journal: journal, groupCommitDelay: delay, maxPending: maxPending))
  }

  @Test func routineAppendsReturnOnlyAfterOneSharedSync() async throws {
    let (disk, writer) = try makeWriter(delay: .milliseconds(50))
    let syncsBefore = disk.syncs
    let seqs = try await withThrowingTaskGroup(of: UInt64.self) { group in
      for i in 0..<20 {
        group.addTask { try await writer.append(entry(.normal, UInt64(i))) }
      }
      return try await group.reduce(into: [UInt64]()) { $0.append($1) }
    }
    #expect(Set(seqs).count == 20)
    // All twenty became durable through group commits, far fewer than one sync each.
    let commits = await writer.groupCommits
    #expect(commits >= 1 && commits <= 3)
    #expect(disk.syncs - syncsBefore <= 6)
    disk.crash()
    let reopened = try RingJournal.open(storage: disk, logger: quietLogger)
    #expect(Set(try reopened.records().map(\.seq)) == Set(seqs))
  }

  @Test func reachingMaxPendingSyncsWithoutWaitingForTheTimer() async throws {
    // A timer of an hour: only the pending limit can release these appends.
    let (disk, writer) = try makeWriter(delay: .seconds(3600), maxPending: 8)
    let seqs = try await withThrowingTaskGroup(of: UInt64.self) { group in
      for i in 0..<8 {
        group.addTask { try await writer.append(entry(.bulk, UInt64(i))) }
      }
      return try await group.reduce(into: [UInt64]()) { $0.append($1) }
    }
    #expect(await writer.groupCommits == 1)
    disk.crash()
    let reopened = try RingJournal.open(storage: disk, logger: quietLogger)
    #expect(Set(try reopened.records().map(\.seq)) == Set(seqs))
  }

  @Test func anAlarmIsDurableAtOnceAndReleasesWaitingRecords() async throws {
    let (disk, writer) = try makeWriter(delay: .seconds(3600))
    async let routine = writer.append(entry(.normal, 1))
    // Let the routine append reach its wait before the alarm comes.
    while await writer.withJournal({ $0.hasUnsyncedRecords }) == false {
      await Task.yield()
    }
    let alarm = try await writer.append(entry(.alarm, 2))
    let normal = try await routine
    disk.crash()
    let reopened = try RingJournal.open(storage: disk, logger: quietLogger)
    #expect(Set(try reopened.records().map(\.seq)) == [normal, alarm])
  }
}
