import Logging
import OutpostCore
import OutpostJournal
import OutpostTestKit

/// A small journal on a simulated disk, and helpers to crash and reopen it.
struct JournalRig {
  var disk: SimulatedDisk
  var journal: RingJournal
  var configuration: JournalConfiguration

  init(size: UInt64 = 128 * 1024, seed: UInt64 = 1, faults: SimulatedDisk.Faults = .crashesOnly)
    throws
  {
    disk = SimulatedDisk(size: size, seed: seed, faults: faults)
    var configuration = JournalConfiguration()
    configuration.seqLeaseBlock = 64
    configuration.epoch = 0xE0C4
    self.configuration = configuration
    journal = try RingJournal.create(
      storage: disk, configuration: configuration, logger: quietLogger)
  }

  /// Power cut, then open again.
  mutating func crashAndReopen() throws {
    disk.crash()
    try reopen()
  }

  mutating func reopen() throws {
    journal = try RingJournal.open(storage: disk, configuration: configuration, logger: quietLogger)
  }
}

func entry(_ priority: Priority, _ tag: UInt64, bodyBytes: Int = 40) -> JournalEntry {
  var body = [UInt8](repeating: 0, count: bodyBytes)
  for i in 0..<bodyBytes {
    body[i] = UInt8(truncatingIfNeeded: (tag &* 0x9E37_79B9_7F4A_7C15) >> UInt64((i % 8) * 8))
  }
  return JournalEntry(
    kind: .test, priority: priority,
    time: RecordTime(wallMs: Int64(tag), clockTrusted: true, boot: 1, sinceBootMs: tag),
    body: body)
}

/// Tests provoke damage on purpose; the journal's error logs would only drown the results.
let quietLogger = Logger(label: "test.journal", factory: { _ in SwiftLogNoOpLogHandler() })
