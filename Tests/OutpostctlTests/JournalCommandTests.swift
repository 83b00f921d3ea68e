import Glibc
import OutpostCore
import OutpostTestKit
import Testing

/// `outpostctl journal append`, `dump`, `stat` and `verify`, run as the real binary.
@Suite struct JournalCommandTests {
  @Test func appendedRecordsAreDumpedWithTheDocumentedBodies() throws {
    let dir = try TemporaryDirectory("append")
    defer { dir.remove() }
    let journal = dir.file("journal")
    let before = wallClockMs()
    let runs: [(priority: String, count: Int, bytes: Int)] = [
      ("normal", 300, 100), ("alarm", 20, 64), ("bulk", 50, 0),
    ]
    var printed: [UInt64: (priority: String, bytes: Int)] = [:]
    var order: [UInt64] = []
    for run in runs {
      let result = try Outpostctl.run([
        "journal", "append", "--file", journal, "--size", "262144", "--count", String(run.count),
        "--priority", run.priority, "--payload-bytes", String(run.bytes),
      ])
      #expect(result.ending == .exited(0), "\(result.errorOutput)")
      let seqs = result.lines.compactMap { UInt64($0) }
      #expect(seqs.count == run.count && result.lines.count == run.count)
      for seq in seqs { printed[seq] = (run.priority, run.bytes) }
      order += seqs
    }
    let after = wallClockMs()
    #expect(zip(order, order.dropFirst()).allSatisfy { $0 < $1 }, "numbers increase")

    let records = try JournalInspection.dump(journal)
    #expect(records.count == order.count)
    #expect(records.map(\.seq) == order, "a fresh journal dumps in append order")
    for record in records {
      guard let expected = printed[record.seq] else {
        Issue.record("dumped \(record.seq), never printed")
        continue
      }
      #expect(record.kind == "test")
      #expect(record.priority == expected.priority)
      #expect(record.body == hex(documentedBody(seq: record.seq, count: expected.bytes)))
      #expect(!record.acknowledged)
      #expect(!record.clockTrusted && record.boot == 0)
      #expect(record.wallMs >= before - 1000 && record.wallMs <= after + 1000)
      #expect(record.sinceBootMs > 0)
    }

    let stat = try JournalInspection.stat(journal)
    let total = UInt64(order.count)
    #expect(stat["records"]?.uint64 == total)
    #expect(stat["pending"]?.uint64 == total)
    for (key, count) in [("alarm", 20), ("normal", 300), ("bulk", 50)] {
      #expect(stat["records_by_priority"]?[key]?.uint64 == UInt64(count))
      #expect(stat["pending_by_priority"]?[key]?.uint64 == UInt64(count))
    }
    #expect(stat["oldest_pending_seq"]?.uint64 == order.first)
    #expect(stat["lowest_seq"]?.uint64 == order.first)
    #expect(stat["highest_seq"]?.uint64 == order.last)
    #expect((stat["next_seq"]?.uint64 ?? 0) > order.last!)
    #expect(stat["ack_floor"]?.uint64 == 0)
    #expect(stat["file_bytes"]?.uint64 == 262_144)
    let tail = stat["tail"]?.uint64 ?? .max
    let head = stat["head"]?.uint64 ?? 0
    let used = stat["used_bytes"]?.uint64 ?? .max
    let capacity = stat["capacity_bytes"]?.uint64 ?? 0
    #expect(tail <= head && used == head - tail)
    let frames = [(20, 64), (300, 100), (50, 0)].map { count, body in
      UInt64(count * JournalFrame.frameLength(bodyLength: body))
    }
    #expect(used == frames.reduce(0, +))
    #expect(used <= capacity && capacity < (stat["ring_bytes"]?.uint64 ?? 0))
    #expect((stat["ring_bytes"]?.uint64 ?? .max) < 262_144)
    for key in [
      "gap_records", "dropped_unacknowledged", "quarantined_bytes", "quarantined_regions",
      "relocated_records", "recoveries",
    ] {
      #expect(stat[key]?.uint64 == 0, "\(key)")
    }
    #expect((stat["generation"]?.uint64 ?? 0) > 0)
    #expect(UInt64(stat["epoch"]?.string ?? "", radix: 16) != nil)
    #expect(stat["path"]?.string == journal)

    let verify = try JournalInspection.verify(journal)
    #expect(verify.ending == .exited(0))
    #expect(
      verify.lines == ["\(journal): clean: \(total) records (0 gap records, 0 of unknown kinds)"])

    let readable = try Outpostctl.run(["journal", "dump", "--file", journal])
    #expect(readable.ending == .exited(0))
    #expect(readable.lines.count == order.count)
    #expect(readable.lines.first?.hasPrefix("\(order[0])  normal  test  ") == true)
    let readableStat = try Outpostctl.run(["journal", "stat", "--file", journal])
    #expect(readableStat.ending == .exited(0))
    #expect(readableStat.output.contains("records           370 (alarm 20, normal 300, bulk 50)"))
  }

  @Test func verifyReportsFlippedBytesInARecord() throws {
    let dir = try TemporaryDirectory("flip")
    defer { dir.remove() }
    let journal = dir.file("journal")
    let append = try Outpostctl.run([
      "journal", "append", "--file", journal, "--size", "131072", "--count", "200", "--priority",
      "normal",
    ])
    #expect(append.ending == .exited(0))
    let victim = try #require(UInt64(append.lines[100]))

    var bytes = try FileBytes.read(journal)
    let body = documentedBody(seq: victim, count: 64)
    let at = try #require(offset(of: body, in: bytes), "body of \(victim) not found")
    for i in (at + 8)..<(at + 24) { bytes[i] ^= 0xA5 }
    let damaged = dir.file("damaged")
    try FileBytes.write(bytes, to: damaged)

    let verify = try JournalInspection.verify(damaged)
    #expect(verify.ending == .exited(1))
    #expect(verify.lines.first?.hasPrefix("\(damaged): DAMAGED: 199 records") == true)
    #expect(verify.lines.contains { $0.hasPrefix("  damaged region: bytes ") })
    #expect(try FileBytes.read(damaged) == bytes, "verify must not write")

    // The damaged record is skipped, never shown; its neighbours are intact.
    let dumped = try JournalInspection.dump(damaged)
    #expect(dumped.count == 199)
    #expect(!dumped.contains { $0.seq == victim })
    #expect(dumped.allSatisfy { $0.body == hex(documentedBody(seq: $0.seq, count: 64)) })
    let stat = try JournalInspection.stat(damaged)
    #expect(stat["records"]?.uint64 == 199)
  }

  @Test func filesThatAreNotJournalsAreRefusedWithStatus2() throws {
    let dir = try TemporaryDirectory("foreign")
    defer { dir.remove() }
    let foreign = dir.file("foreign.bin")
    var generator = SeededRandom(seed: 42)
    let noise = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &generator) }
    try FileBytes.write(noise, to: foreign)
    for command in ["verify", "stat", "dump"] {
      let result = try Outpostctl.run(["journal", command, "--file", foreign])
      #expect(result.ending == .exited(2), "\(command)")
      #expect(result.errorOutput.contains("\(foreign) is not an Outpost journal"), "\(command)")
      #expect(result.output.isEmpty)
    }
    #expect(try FileBytes.read(foreign) == noise, "inspection must leave a foreign file alone")

    let missing = dir.file("missing")
    let absent = try JournalInspection.verify(missing)
    #expect(absent.ending == .exited(2))
    #expect(absent.errorOutput.contains(missing))

    let journal = dir.file("journal")
    _ = try Outpostctl.run([
      "journal", "append", "--file", journal, "--size", "65536", "--count", "3", "--priority",
      "bulk",
    ])
    let truncated = dir.file("truncated")
    try FileBytes.write(Array(try FileBytes.read(journal).dropLast(4096)), to: truncated)
    let mismatch = try JournalInspection.verify(truncated)
    #expect(mismatch.ending == .exited(2))
    #expect(mismatch.errorOutput.contains("\(truncated) is 61440 bytes"))

    let appendToForeign = try Outpostctl.run([
      "journal", "append", "--file", foreign, "--size", "65536", "--count", "1", "--priority",
      "alarm",
    ])
    #expect(appendToForeign.ending == .exited(2))
    #expect(appendToForeign.errorOutput.contains("\(foreign) is not an Outpost journal"))
    #expect(appendToForeign.output.isEmpty)
  }

  @Test func aJournalFullOfAlarmsStopsAppendWithAClearError() throws {
    let dir = try TemporaryDirectory("full")
    defer { dir.remove() }
    let journal = dir.file("journal")
    let result = try Outpostctl.run([
      "journal", "append", "--file", journal, "--size", "65536", "--count", "1000", "--priority",
      "alarm",
    ])
    #expect(result.ending == .exited(1))
    #expect(result.errorOutput.contains("outpostctl: \(journal): journal full"))
    let printed = result.lines.compactMap { UInt64($0) }
    #expect(printed.count == result.lines.count)
    #expect(printed.count > 100 && printed.count < 1000)

    let bytes = try FileBytes.read(journal)
    let records = try JournalInspection.dump(journal)
    #expect(records.map(\.seq) == printed, "exactly the printed alarms are in the journal")
    #expect(
      records.allSatisfy {
        $0.priority == "alarm" && $0.body == hex(documentedBody(seq: $0.seq, count: 64))
      })
    #expect(try JournalInspection.verify(journal).ending == .exited(0))
    #expect(try FileBytes.read(journal) == bytes, "inspection must not write")

    let more = try Outpostctl.run([
      "journal", "append", "--file", journal, "--size", "65536", "--count", "1", "--priority",
      "bulk",
    ])
    #expect(more.ending == .exited(1))
    #expect(more.errorOutput.contains("journal full"))
    #expect(more.output.isEmpty)
  }

  /// A zero-filled file at the journal's path (an unfinished creation by an older version, a
  /// placeholder) holds nothing: it must not stop the box from recording. A leftover
  /// `PATH.creating` from a crash during creation is discarded the same way.
  @Test func aFileLeftByACrashDuringCreationIsRecreated() throws {
    let dir = try TemporaryDirectory("half-created")
    defer { dir.remove() }
    let journal = dir.file("journal")
    try FileBytes.write([UInt8](repeating: 0, count: 1_048_576), to: journal)
    try FileBytes.write([UInt8](repeating: 7, count: 4096), to: journal + ".creating")
    let result = try Outpostctl.run([
      "journal", "append", "--file", journal, "--size", "1048576", "--count", "1", "--priority",
      "alarm",
    ])
    #expect(result.ending == .exited(0), "\(result.errorOutput)")
    #expect(result.lines.count == 1)
    let verify = try Outpostctl.run(["journal", "verify", "--file", journal])
    #expect(verify.ending == .exited(0), "\(verify.errorOutput)")
  }

  /// Killing the process at any moment while it creates the journal never leaves a file that
  /// later refuses to open: creation happens under a temporary name and is renamed when done.
  @Test func killsDuringCreationNeverLeaveAnUnusableJournal() throws {
    let dir = try TemporaryDirectory("create-kill")
    defer { dir.remove() }
    for round in 0..<20 {
      let journal = dir.file("journal-\(round)")
      let child = try ChildProcess(
        try Outpostctl.path(),
        [
          "journal", "append", "--file", journal, "--size", "4194304", "--count", "1",
          "--priority", "alarm",
        ])
      usleep(UInt32(1_000 * (round % 10)))
      child.signal(SIGKILL)
      _ = child.wait()
      let again = try Outpostctl.run([
        "journal", "append", "--file", journal, "--size", "4194304", "--count", "1", "--priority",
        "alarm",
      ])
      #expect(again.ending == .exited(0), "round \(round): \(again.errorOutput)")
    }
  }

  @Test func aSecondWriterIsRefusedWhileTheFirstHoldsTheJournal() throws {
    let dir = try TemporaryDirectory("locked")
    defer { dir.remove() }
    let journal = dir.file("journal")
    let first = try ChildProcess(
      try Outpostctl.path(),
      [
        "journal", "append", "--file", journal, "--size", "1048576", "--count", "100000000",
        "--priority", "bulk", "--group-commit-ms", "1",
      ], errorPath: dir.file("first.stderr"))
    // A printed number means the first writer has the journal open, and locked.
    let deadline = monotonicMs() + 30_000
    while first.completeOutputLines.isEmpty && monotonicMs() < deadline {
      first.read(until: min(deadline, monotonicMs() + 10))
    }
    try #require(!first.completeOutputLines.isEmpty, "the first writer printed nothing")

    let second = try Outpostctl.run([
      "journal", "append", "--file", journal, "--size", "1048576", "--count", "1", "--priority",
      "alarm",
    ])
    first.signal(SIGKILL)
    _ = first.wait()
    #expect(second.ending == .exited(2))
    #expect(second.errorOutput.contains(journal) && second.errorOutput.contains("in use"))
    #expect(second.output.isEmpty)
    // Readers never take the lock.
    #expect(try JournalInspection.verify(journal).ending == .exited(0))
  }

  @Test func badArgumentsAreRefusedBeforeAnythingIsWritten() throws {
    let dir = try TemporaryDirectory("usage")
    defer { dir.remove() }
    let journal = dir.file("journal")
    for extra in [["--priority", "urgent"], ["--priority", "bulk", "--payload-bytes", "5000"]] {
      let result = try Outpostctl.run(
        ["journal", "append", "--file", journal, "--size", "65536", "--count", "1"] + extra)
      #expect(result.ending == .exited(64), "\(extra)")
      #expect(!result.errorOutput.isEmpty)
      #expect(access(journal, F_OK) != 0, "no journal was created")
    }
  }
}

/// Milliseconds of `CLOCK_REALTIME`.
func wallClockMs() -> Int64 {
  var t = timespec()
  clock_gettime(CLOCK_REALTIME, &t)
  return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
}

/// Where `needle` first occurs in `bytes`. Test bodies are unique to their record, so this finds
/// a record without knowing the frame layout.
func offset(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
  guard let first = needle.first, needle.count <= bytes.count else { return nil }
  var at = 0
  while at + needle.count <= bytes.count {
    if bytes[at] == first && bytes[at..<(at + needle.count)].elementsEqual(needle) { return at }
    at += 1
  }
  return nil
}
