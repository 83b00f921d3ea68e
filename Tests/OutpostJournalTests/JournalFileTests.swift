import Glibc
import OutpostCore
import OutpostJournal
import Testing

/// Journals on real files, and files that are not what they should be.
@Suite struct JournalFileTests {
  let directory: String

  init() {
    var template = Array("/tmp/outpost-journal-XXXXXX".utf8CString)
    directory = template.withUnsafeMutableBufferPointer {
      String(cString: mkdtemp($0.baseAddress!))
    }
  }

  func path(_ name: String) -> String { directory + "/" + name }

  func writeFile(_ name: String, _ bytes: [UInt8]) {
    let fd = open(path(name), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
  }

  @Test func journalOnAFileSurvivesReopenAndKeepsItsSize() throws {
    let file = path("j")
    var journal: RingJournal? = try RingJournal.openOrCreate(
      path: file, size: 256 * 1024, logger: quietLogger)
    let seq = try journal!.append(entry(.alarm, 1))
    let epoch = journal!.epoch
    // A second writer is refused while the first holds the file.
    #expect {
      _ = try RingJournal.openOrCreate(path: file, size: 256 * 1024, logger: quietLogger)
    } throws: { error in
      "\(error)".contains("in use by another process")
    }
    journal = nil
    let reopened = try RingJournal.openOrCreate(path: file, size: 999_999, logger: quietLogger)
    #expect(reopened.epoch == epoch)
    #expect(reopened.ringSize == 256 * 1024 - 12288)
    #expect(try reopened.records().map(\.seq) == [seq])
    var st = stat()
    stat(file, &st)
    #expect(st.st_size == 256 * 1024)
    #expect(st.st_mode & 0o777 == 0o600)
  }

  @Test func aForeignFileIsRefusedAndLeftUntouched() throws {
    let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    writeFile("foreign", bytes)
    #expect {
      _ = try RingJournal.openOrCreate(path: path("foreign"), size: 100_000, logger: quietLogger)
    } throws: { error in
      guard case .notAJournal(let where_)? = error as? JournalError else { return false }
      return where_ == path("foreign") && "\(error)".contains("not an Outpost journal")
    }
    let storage = try FileStorage(path: path("foreign"))
    var after = [UInt8](repeating: 0, count: bytes.count)
    _ = try after.withUnsafeMutableBytes { try storage.read(into: $0, at: 0) }
    #expect(after == bytes)
  }

  @Test func aTruncatedOrExtendedJournalIsRefusedWithItsSizes() throws {
    let file = path("t")
    _ = try RingJournal.openOrCreate(path: file, size: 128 * 1024, logger: quietLogger)
    #expect(truncate(file, 100 * 1024) == 0)
    #expect {
      _ = try RingJournal.openOrCreate(path: file, size: 128 * 1024, logger: quietLogger)
    } throws: { error in
      guard case .sizeMismatch(_, let recorded, let actual)? = error as? JournalError else {
        return false
      }
      return recorded == 128 * 1024 && actual == 100 * 1024
    }
  }

  @Test func aJournalFromANewerFormatIsRefused() throws {
    let file = path("n")
    _ = try RingJournal.openOrCreate(path: file, size: 128 * 1024, logger: quietLogger)
    // Version 2 with a valid checksum, as a newer outpost would write it.
    let storage = try FileStorage(path: file)
    var block = [UInt8](repeating: 0, count: 68)
    _ = try block.withUnsafeMutableBytes { try storage.read(into: $0, at: 0) }
    block[8] = 2
    let crc = CRC32C.checksum(block[0..<64])
    for i in 0..<4 { block[64 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    try block.withUnsafeBytes { try storage.write($0, at: 0) }
    #expect {
      _ = try RingJournal.openOrCreate(path: file, size: 128 * 1024, logger: quietLogger)
    } throws: { error in
      guard case .newerFormat(_, let version, _)? = error as? JournalError else { return false }
      return version == 2
    }
  }

  @Test func aTooSmallOrEmptyFileIsAClearError() throws {
    writeFile("empty", [])
    #expect(throws: JournalError.self) {
      _ = try RingJournal.openOrCreate(path: path("empty"), size: 0, logger: quietLogger)
    }
    #expect {
      _ = try RingJournal.openOrCreate(path: path("small"), size: 4096, logger: quietLogger)
    } throws: { error in
      guard case .tooSmall? = error as? JournalError else { return false }
      return true
    }
  }

  @Test func aDamagedSuperblockIsRebuiltFromTheSlots() throws {
    let file = path("s")
    var journal: RingJournal? = try RingJournal.openOrCreate(
      path: file, size: 128 * 1024, logger: quietLogger)
    let seq = try journal!.append(entry(.alarm, 3))
    let epoch = journal!.epoch
    journal = nil
    let storage = try FileStorage(path: file)
    try [UInt8](repeating: 0xEE, count: 8).withUnsafeBytes { try storage.write($0, at: 40) }
    let reopened = try RingJournal.openOrCreate(path: file, size: 128 * 1024, logger: quietLogger)
    #expect(reopened.epoch == epoch)
    #expect(try reopened.records().map(\.seq) == [seq])
  }
}
