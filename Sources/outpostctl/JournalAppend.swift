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

      The body is made before the record gets its number, for the number it is expected to \
      get: the journal's announced next number, plus as many as the previous append was \
      shifted by. (A full journal that overwrites unacknowledged records writes a gap record \
      before the append, which takes a number.) A record whose number differs from the \
      expected one is reported on standard error and its number is not printed, so every \
      printed number has exactly the body above; an unprinted test record's body may belong \
      to a nearby number.

      Exit status: 0 when all records were appended; 1 when appending failed (for example a \
      journal full of unacknowledged alarms), after printing what did become durable; 2 when \
      the file cannot be opened or created as a journal.
      """
  )

  /// Largest number of records one group commit waits for.
  static let groupCommitRecords = 256

  @OptionGroup var journal: JournalFileOption

  @Option(help: ArgumentHelp("Size of the journal file if it has to be created.", valueName: "bytes"))
  var size: UInt64

  @Option(help: "Number of records to append.")
  var count: UInt64

  @Option(help: "Priority of the records.")
  var priority: PriorityName

  @Option(help: ArgumentHelp("Body length of each record.", valueName: "B"))
  var payloadBytes: Int = 64

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
        ring = try RingJournal.openOrCreate(path: path, size: size)
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
  case alarm
  case normal
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
/// Single-threaded, so the number the journal announces before an append is the one that
/// append hands out unless the journal itself writes a record in between.
struct AppendSession {
  let journal: RingJournal
  let priority: Priority
  let payloadBytes: Int
  let groupCommitMs: UInt64

  private var output = LineWriter(.output)
  /// Appended, not yet synced records whose numbers will be printed.
  private var awaitingSync: [UInt64] = []
  /// Appended, not yet synced records, including any that will not be printed.
  private var unsynced = 0
  /// When the oldest unsynced record was appended (monotonic ms).
  private var unsyncedSince: UInt64 = 0
  /// How many numbers the journal's own gap records took before the previous append: the
  /// best guess for the next one, since a full journal keeps writing one per append.
  private var shift: UInt64 = 0

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
      throw CommandFailure(error, path: journal.path)
    }
  }

  private mutating func appendOne() throws {
    let announced = journal.nextSequenceNumber
    let expected = announced + shift
    let entry = JournalEntry(
      kind: .test, priority: priority, time: RecordClock.now(),
      body: TestPayload.body(seq: expected, count: payloadBytes))
    let seq = try journal.append(entry, durable: priority == .alarm)
    let bodyMatches = seq == expected
    if !bodyMatches {
      StandardStream.error.write(
        "outpostctl: \(journal.path): record \(seq) has the body for \(expected) (the journal "
          + "wrote \(seq - announced) gap records before it), so its number is not printed\n")
    }
    shift = seq - announced
    if priority == .alarm {
      // The journal synced the alarm before returning.
      if bodyMatches {
        output.line(String(seq))
        output.flush()
      }
      return
    }
    if unsynced == 0 { unsyncedSince = RecordClock.monotonicMs() }
    unsynced += 1
    if bodyMatches { awaitingSync.append(seq) }
    if unsynced >= JournalAppend.groupCommitRecords
      || RecordClock.monotonicMs() - unsyncedSince >= groupCommitMs
    {
      try commit()
    }
  }

  /// Syncs the journal and prints what became durable.
  private mutating func commit() throws {
    try journal.sync()
    unsynced = 0
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
