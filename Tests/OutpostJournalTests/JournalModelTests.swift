import Glibc
import OutpostCore
import OutpostJournal
import OutpostTestKit
import Testing

/// Model-based tests: thousands of seeded random sequences of append / sync / ack / checkpoint /
/// crash / reopen (and, in one suite, I/O errors and bit flips) run against the real journal on
/// a simulated disk, and after every reopen the journal is compared with a simple model.
///
/// A failure names its seed. Replay one seed with `OUTPOST_MODEL_SEED=<seed> swift test
/// --filter JournalModelTests`; change the number of runs with `OUTPOST_MODEL_RUNS`.
@Suite struct JournalModelTests {
  static func seeds(default count: Int, base: UInt64) -> [UInt64] {
    if let text = getenv("OUTPOST_MODEL_SEED"), let seed = UInt64(String(cString: text)) {
      return [seed]
    }
    var runs = count
    if let text = getenv("OUTPOST_MODEL_RUNS"), let n = Int(String(cString: text)) { runs = n }
    return (0..<UInt64(runs)).map { base &+ $0 }
  }

  /// Runs the seeds of one mode on a thread of its own, and records up to three failures, each
  /// with its seed.
  ///
  /// The runs take tens of seconds of CPU; on the cooperative pool (two threads on a two-core
  /// machine) they would starve every other test of the process for that long, and tests that
  /// wait on real timers would then fail for reasons of their own.
  static func runAll(_ mode: ModelRun.Mode, default count: Int, base: UInt64) async throws {
    let seeds = seeds(default: count, base: base)
    let failures = try await onOwnThread {
      var failures: [String] = []
      for seed in seeds {
        var run = ModelRun(seed: seed, mode: mode)
        run.execute()
        if let failure = run.failure {
          failures.append(
            "model run failed — replay with OUTPOST_MODEL_SEED=\(seed): \(failure)")
          if failures.count >= 3 { break }
        }
      }
      return failures
    }
    for failure in failures { Issue.record(Comment(rawValue: failure)) }
  }

  @Test func crashesNeverLoseDurableRecordsNorReturnCorruptOnes() async throws {
    try await Self.runAll(.crashes, default: 1500, base: 1_000_000)
  }

  @Test func powerCutsInTheMiddleOfAnOperationLoseNothingDurable() async throws {
    try await Self.runAll(.powerCuts, default: 1000, base: 9_000_000)
  }

  @Test func ioErrorsAndBitFlipsNeverProduceCorruptRecordsOrReusedNumbers() async throws {
    try await Self.runAll(.faults, default: 1000, base: 5_000_000)
  }
}

/// One seeded sequence of operations and the model it is checked against.
struct ModelRun {
  enum Mode {
    /// Crashes drop and tear unsynced writes; no I/O errors, no decay. Every durable record
    /// must survive unless the overwrite policy allowed its loss.
    case crashes
    /// The power fails in the middle of an operation: any write or sync may be the last one
    /// (it fails, then the machine crashes), so cleaning steps, checkpoints and recoveries are
    /// cut at every point. No decay: every durable record must survive as in `crashes`.
    case powerCuts
    /// Adds EIO/ENOSPC on writes and syncs and bit flips at rest. Nothing corrupt may be
    /// returned and no sequence number may repeat; flipped records may be lost.
    case faults
  }

  let seed: UInt64
  let mode: Mode
  var random: SeededRandom
  let disk: SimulatedDisk
  var configuration = JournalConfiguration()
  var journal: RingJournal?
  var failure: String?
  /// Switched on once the journal exists: formatting a journal is the installer's job, not a
  /// crash-recovery path.
  let injectedFaults: SimulatedDisk.Faults

  /// Every record the journal may legitimately hold, by sequence number.
  var known: [UInt64: JournalEntry] = [:]
  /// Entries of appends that failed: they may surface under numbers the model never saw.
  var unattributed: [JournalEntry] = []
  /// Records reported durable (an alarm append returned, a sync returned after them, or a
  /// reopen found them).
  var durable: Set<UInt64> = []
  var unsynced: [UInt64] = []
  /// Every number ever acknowledged; the journal may reclaim those records.
  var everAcked: Set<UInt64> = []
  /// Every number the journal has handed out or shown.
  var highestSeen: UInt64?
  var step = 0

  init(seed: UInt64, mode: Mode) {
    self.seed = seed
    self.mode = mode
    random = SeededRandom(seed: seed)
    var faults = SimulatedDisk.Faults()
    if mode == .powerCuts {
      faults.writeEIO = 0.01
      faults.syncEIO = 0.01
    }
    if mode == .faults {
      faults.writeEIO = 0.004
      faults.writeENOSPC = 0.002
      faults.syncEIO = 0.004
    }
    // Power cuts are aimed at the cleaner: small rings that wrap many times, so cuts land in
    // the middle of cleaning steps that move alarms.
    let kib =
      mode == .powerCuts
      ? Int.random(in: 44...64, using: &random) : Int.random(in: 48...160, using: &random)
    let size = UInt64(kib * 1024)
    disk = SimulatedDisk(size: size, seed: seed ^ 0x5EED)
    injectedFaults = faults
    configuration.seqLeaseBlock = UInt32.random(in: 8...200, using: &random)
    // Short checkpoint intervals keep leases short too, so runs cross many lease renewals.
    configuration.checkpointInterval = UInt64.random(in: 8...32, using: &random) * 1024
    configuration.epoch = seed | 1
  }

  mutating func fail(_ message: String) {
    if failure == nil { failure = "step \(step): \(message)" }
  }

  mutating func execute() {
    do {
      journal = try RingJournal.create(
        storage: disk, configuration: configuration, logger: quietLogger)
    } catch {
      fail("create failed: \(error)")
      return
    }
    disk.faults = injectedFaults
    let operations =
      mode == .powerCuts
      ? Int.random(in: 300...600, using: &random) : Int.random(in: 100...300, using: &random)
    while step < operations && failure == nil {
      step += 1
      let roll = Int.random(in: 0..<100, using: &random)
      switch roll {
      case 0..<40: append(count: 1)
      case 40..<55: append(count: Int.random(in: 2...24, using: &random))
      case 55..<65: sync()
      case 65..<78: acknowledge()
      case 78..<82: checkpoint()
      case 82..<92: crashAndReopen()
      case 92..<96: cleanReopen()
      default:
        if mode == .faults { decay() } else { crashAndReopen() }
      }
      if mode != .faults, let journal, let counts = try? journal.liveCounts(),
        counts.counted != counts.scanned
      {
        fail(
          "live counters \(counts.counted) but the ring holds \(counts.scanned) after op \(roll)")
      }
    }
    if failure == nil { crashAndReopen() }
  }

  mutating func makeEntry() -> JournalEntry {
    let roll = Int.random(in: 0..<100, using: &random)
    let priority: Priority = roll < 15 ? .alarm : roll < 55 ? .normal : .bulk
    let length = Int.random(in: 0...160, using: &random)
    var body = [UInt8](repeating: 0, count: length)
    for i in 0..<length { body[i] = UInt8.random(in: 0...255, using: &random) }
    let time = RecordTime(
      wallMs: Int64.random(in: 0...Int64(1) << 42, using: &random),
      clockTrusted: Bool.random(using: &random), boot: UInt32.random(in: 0...9, using: &random),
      sinceBootMs: UInt64.random(in: 0...UInt64(1) << 40, using: &random))
    return JournalEntry(kind: .test, priority: priority, time: time, body: body)
  }

  mutating func noteIssued(_ seq: UInt64) {
    if let highestSeen, seq <= highestSeen {
      fail("sequence number \(seq) handed out after \(highestSeen) was already seen")
    }
    highestSeen = max(highestSeen ?? seq, seq)
  }

  mutating func append(count: Int) {
    guard let journal else { return }
    let entries = (0..<count).map { _ in makeEntry() }
    let first = journal.nextSequenceNumber
    let wantsDurable: Bool? = Int.random(in: 0..<4, using: &random) == 0 ? true : nil
    // If the append fails part-way, any of these may still show up later, under numbers the
    // model never learnt.
    unattributed.append(contentsOf: entries)
    do {
      let seqs = try journal.append(contentsOf: entries, durable: wantsDurable)
      unattributed.removeLast(entries.count)
      if seqs.count != count || zip(seqs, seqs.dropFirst()).contains(where: { $0 >= $1 })
        || (seqs.first ?? first) < first
      {
        fail("append of \(count) returned \(seqs), from \(first) on expected")
      }
      for (seq, entry) in zip(seqs, entries) {
        known[seq] = entry
        noteIssued(seq)
      }
      if wantsDurable == true || entries.contains(where: { $0.priority == .alarm }) {
        durable.formUnion(unsynced)
        durable.formUnion(seqs)
        unsynced.removeAll()
      } else {
        unsynced.append(contentsOf: seqs)
      }
    } catch JournalError.fullOfUnacknowledgedAlarms {
      checkFullIsOnlyAlarms()
      // Nothing of this batch may count as handed out, but a prefix may have been written.
      highestSeen = max(highestSeen ?? 0, journal.nextSequenceNumber &- 1)
    } catch {
      afterFailure(error)
    }
  }

  mutating func sync() {
    guard let journal else { return }
    do {
      try journal.sync()
      durable.formUnion(unsynced)
      unsynced.removeAll()
    } catch {
      afterFailure(error)
    }
  }

  mutating func acknowledge() {
    guard let journal, journal.nextSequenceNumber > 0 else { return }
    let candidates = Array(durable.union(unsynced)).sorted()
    guard !candidates.isEmpty else { return }
    let lower = candidates[Int.random(in: 0..<candidates.count, using: &random)]
    let span = UInt64.random(in: 0...20, using: &random)
    let upper = min(lower + span, journal.nextSequenceNumber - 1)
    do {
      try journal.acknowledge(lower...upper)
      for seq in lower...upper { everAcked.insert(seq) }
    } catch {
      fail("acknowledge \(lower)...\(upper) failed: \(error)")
    }
  }

  mutating func checkpoint() {
    guard let journal else { return }
    do {
      try journal.checkpoint()
      durable.formUnion(unsynced)
      unsynced.removeAll()
    } catch {
      afterFailure(error)
    }
  }

  mutating func afterFailure(_ error: any Error) {
    switch mode {
    case .crashes:
      fail("unexpected error without injected faults: \(error)")
      return
    case .powerCuts:
      crashAndReopen()
      return
    case .faults:
      break
    }
    // A failed write or sync: the journal must be reopened. Half the time the machine dies too.
    if Bool.random(using: &random) { crashAndReopen() } else { reopenAfterError() }
  }

  mutating func crashAndReopen() {
    journal = nil
    disk.crash()
    unsynced.removeAll()
    reopenAndCheck()
  }

  mutating func cleanReopen() {
    if let journal {
      do {
        try journal.close()
        durable.formUnion(unsynced)
        unsynced.removeAll()
      } catch {
        afterFailure(error)
        return
      }
    }
    journal = nil
    reopenAndCheck()
  }

  mutating func reopenAfterError() {
    journal = nil
    unsynced.removeAll()
    reopenAndCheck()
  }

  mutating func decay() {
    // Bits rot in the ring, and now and then in one header slot.
    let ring = 12288..<Int(disk.size)
    disk.flipBits(Int.random(in: 1...3, using: &random), in: ring)
    if Int.random(in: 0..<4, using: &random) == 0 {
      let slot = 4096 * Int.random(in: 1...2, using: &random)
      disk.flipBits(1, in: slot..<(slot + 200))
    }
    journal = nil
    unsynced.removeAll()
    reopenAndCheck()
  }

  mutating func reopenAndCheck() {
    var attempts = 0
    while journal == nil {
      attempts += 1
      do {
        journal = try RingJournal.open(
          storage: disk, configuration: configuration, logger: quietLogger)
      } catch {
        // Injected faults may hit recovery's own writes; the disk keeps what it has. A journal
        // must never refuse to open for good.
        if mode == .crashes || attempts > 50 {
          fail("reopen failed: \(error)")
          return
        }
        disk.crash()
      }
    }
    checkAgainstModel()
  }

  mutating func checkAgainstModel() {
    guard let journal else { return }
    let records: [Record]
    let stats: JournalStatistics
    do {
      records = try journal.records()
      stats = try journal.statistics()
    } catch {
      if mode == .faults {
        self.journal = nil
        reopenAndCheck()
      } else {
        fail("reading failed: \(error)")
      }
      return
    }
    var present = Set<UInt64>()
    for record in records {
      if !present.insert(record.seq).inserted {
        fail("sequence number \(record.seq) returned twice")
      }
      if record.kind == .journalGap {
        guard case .journalGap? = try? record.decodedBody() else {
          fail("gap record \(record.seq) does not decode")
          continue
        }
        known[record.seq] = JournalEntry(
          kind: record.kind, priority: record.priority, time: record.time, body: record.body)
        continue
      }
      if known[record.seq] == nil,
        let index = unattributed.firstIndex(
          of: JournalEntry(
            kind: record.kind, priority: record.priority, time: record.time, body: record.body))
      {
        known[record.seq] = unattributed.remove(at: index)
      }
      guard let expected = known[record.seq] else {
        fail("record \(record.seq) was never appended")
        continue
      }
      if expected.kind != record.kind || expected.priority != record.priority
        || expected.time != record.time || expected.body != record.body
      {
        fail("record \(record.seq) came back different from what was appended")
      }
    }
    if let top = records.map(\.seq).max() {
      highestSeen = max(highestSeen ?? top, top)
    }
    if journal.nextSequenceNumber <= (highestSeen ?? 0) && highestSeen != nil {
      fail("next sequence number \(journal.nextSequenceNumber) not above \(highestSeen!)")
    }
    if mode != .faults {
      var droppedRoutine = 0
      for seq in durable where !present.contains(seq) && !everAcked.contains(seq) {
        guard let entry = known[seq] else { continue }
        if entry.priority == .alarm {
          fail("durable unacknowledged alarm \(seq) is gone")
        } else {
          droppedRoutine += 1
        }
      }
      if UInt64(droppedRoutine) > stats.droppedUnacknowledged {
        fail(
          "\(droppedRoutine) durable unacknowledged records are gone but the journal counts only "
            + "\(stats.droppedUnacknowledged) overwritten")
      }
    }
    // What the journal holds now is durable: recovery synced it.
    durable.formUnion(present)
  }

  mutating func checkFullIsOnlyAlarms() {
    guard let journal else { return }
    do {
      let stats = try journal.statistics()
      if stats.records != stats.pendingByPriority[0] {
        fail(
          "journal reported full of alarms but holds \(stats.records) records of which "
            + "\(stats.pendingByPriority[0]) are unacknowledged alarms")
      }
    } catch {
      if mode == .crashes { fail("statistics failed: \(error)") }
    }
  }
}
