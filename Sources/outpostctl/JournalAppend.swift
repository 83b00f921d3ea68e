import ArgumentParser
import OutpostCore
import OutpostJournal

/// `outpostctl journal append`: appends synthetic test records, for crash and load tests, and
/// prints each sequence number once its record is durable.
struct JournalAppend: ParsableCommand {
  /// Names, help and the documented body function.
  static let configuration = CommandConfiguration(
    commandName: "append",
    abstract: "Append test records and print each sequence number once it is durable.",
    discussion: """
      Appends COUNT records of kind "test" with the given priority, creating the journal with \
      SIZE bytes if the file does not exist (an existing journal keeps its size). Nothing is \
      acknowledged.

      Each record's body is a function of its sequence number SEQ, so a dump can be checked \
      without knowing what was appended. With B = --payload-bytes, byte i (0 <= i < B) is

        UInt8(truncatingIfNeeded: (SEQ &* 0x9E3779B97F4A7C15) >> ((i % 8) * 8))
          ^ UInt8(truncatingIfNeeded: i)

      (the little-endian bytes of SEQ times 0x9E3779B97F4A7C15 modulo 2^64, repeated, each \
      XORed with the low byte of its index i).

      A sequence number is printed on its own line on standard output only once its record is \
      on stable storage: alarms are synced by the journal before the append returns; normal \
      and bulk records are group-committed, synced when --group-commit-ms have passed since \
      the first unsynced record, when 256 records are waiting, and at the end.

      The body is made before the append, for the number the journal announces as its next \
      one (nothing else writes to the journal meanwhile: writers hold an exclusive lock). \
      Should the journal hand out another number, the record is not printed and append stops \
      with status 1.

      Exit status: 0 when all records were appended; 1 when appending failed (for example a \
      journal full of unacknowledged alarms), after printing what did become durable; 2 when \
      the file cannot be opened or created as a journal.
      """
  )

  /// Largest number of records one group commit waits for.
  static let groupCommitRecords = 256

  /// `--file`.
  @OptionGroup var journal: JournalFileOption

  /// `--size`: bytes of a journal created by this run; an existing journal keeps its size.
  @Option(
    help: ArgumentHelp("Size of the journal file if it has to be created.", valueName: "bytes"))
  var size: UInt64

  /// `--count`: records to append.
  @Option(help: "Number of records to append.")
  var count: UInt64

  /// `--priority`: alarm, normal or bulk.
  @Option(help: "Priority of the records.")
  var priority: PriorityName

  /// `--payload-bytes`: body length B of every record, at most the journal's body limit.
  @Option(help: ArgumentHelp("Body length of each record.", valueName: "B"))
  var payloadBytes: Int = 64

  /// `--group-commit-ms`: longest delay between a normal or bulk record's append and its sync.
  @Option(
    help: ArgumentHelp(
      "Longest wait, for normal and bulk records, between the first unsynced record and the sync.",
      valueName: "ms"))
  var groupCommitMs: UInt64 = 1000

  /// Rejects bodies the journal cannot hold before anything is written.
  func validate() throws {
    guard (0...JournalFrame.maxBodyLength).contains(payloadBytes) else {
      throw ValidationError(
        "--payload-bytes must be between 0 and \(JournalFrame.maxBodyLength), not \(payloadBytes)")
    }
  }

  /// Opens or creates the journal and appends; see the command's discussion.
  func run() throws {
    try reportingFailure { () throws(CommandFailure) in
      let path = journal.file
      let ring: RingJournal
      do {
        ring = try RingJournal.openOrCreate(path: path, size: size, logger: JournalFile.logger)
      } catch {
        throw CommandFailure(error, path: path, status: CommandFailure.cannotOpen)
      }
      var session = AppendSession(
        journal: ring, priority: priority.priority, payloadBytes: payloadBytes,
        groupCommitMs: groupCommitMs)
      try session.append(count: count)
    }
  }
}

/// The priorities as they are spelled on the command line.
enum PriorityName: String, CaseIterable, ExpressibleByArgument {
  /// `alarm`: synced before each append returns, never overwritten while unacknowledged.
  case alarm
  /// `normal`: group-committed, overwritten after bulk records when the journal is full.
  case normal
  /// `bulk`: group-committed, the first to be overwritten.
  case bulk

  /// The journal's priority of that name.
  var priority: Priority {
    switch self {
    case .alarm: .alarm
    case .normal: .normal
    case .bulk: .bulk
    }
  }
}

/// One run of `journal append`: appends, group-commits and prints durable sequence numbers.
struct AppendSession {
  /// The journal appended to, opened for writing.
  let journal: RingJournal
  /// Priority of every record.
  let priority: Priority
  /// Body length of every record.
  let payloadBytes: Int
  /// Longest delay between a record's append and its sync, for normal and bulk records.
  let groupCommitMs: UInt64

  private var output = LineWriter(.output)
  /// Appended records not yet synced, whose numbers are printed after the sync.
  private var awaitingSync: [UInt64] = []
  /// When the oldest unsynced record was appended (monotonic ms).
  private var unsyncedSince: UInt64 = 0

  /// A session appending to `journal`.
  init(journal: RingJournal, priority: Priority, payloadBytes: Int, groupCommitMs: UInt64) {
    self.journal = journal
    self.priority = priority
    self.payloadBytes = payloadBytes
    self.groupCommitMs = groupCommitMs
  }

  /// Appends `count` test records, printing each number once it is durable.
  ///
  /// - Throws: ``CommandFailure`` with status 1 when the journal refuses an append or the
  ///   storage fails; records that were appended and could still be synced are printed first.
  mutating func append(count: UInt64) throws(CommandFailure) {
    do {
      for _ in 0..<count {
        try appendOne()
      }
      try commit()
      try journal.close()
    } catch {
      // What was appended before the failure is intact; if it can still be made durable, say
      // so, because a reader relies on every durable record being printed and none other.
      if !awaitingSync.isEmpty, (try? journal.sync()) != nil {
        printAwaitingSync()
      }
      if let failure = error as? CommandFailure { throw failure }
      throw CommandFailure(error, path: journal.path)
    }
  }

  private mutating func appendOne() throws {
    // Single-threaded and under the journal's writer lock, so the announced number is the one
    // this append gets: the body can be made for it before the journal assigns it.
    let announced = journal.nextSequenceNumber
    let entry = JournalEntry(
      kind: .test, priority: priority, time: RecordClock.now(),
      body: TestPayload.body(seq: announced, count: payloadBytes))
    let seq = try journal.append(entry, durable: priority == .alarm)
    guard seq == announced else {
      throw CommandFailure(
        message: "\(journal.path): the journal numbered a record \(seq) after announcing "
          + "\(announced) as its next number, so that record's body is wrong and \(seq) is not "
          + "printed. This is a journal bug; please report it with this message.")
    }
    if priority == .alarm {
      // The journal synced the alarm before returning.
      output.line(String(seq))
      output.flush()
      return
    }
    if awaitingSync.isEmpty { unsyncedSince = RecordClock.monotonicMs() }
    awaitingSync.append(seq)
    if awaitingSync.count >= JournalAppend.groupCommitRecords
      || RecordClock.monotonicMs() - unsyncedSince >= groupCommitMs
    {
      try commit()
    }
  }

  /// Syncs the journal and prints what became durable.
  private mutating func commit() throws {
    try journal.sync()
    printAwaitingSync()
  }

  private mutating func printAwaitingSync() {
    for seq in awaitingSync {
      output.line(String(seq))
    }
    output.flush()
    awaitingSync.removeAll(keepingCapacity: true)
  }
}
