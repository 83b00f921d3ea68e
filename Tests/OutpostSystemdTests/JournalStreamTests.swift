import Glibc
import OutpostTestKit
import Testing

@testable import OutpostSystemd

@Suite struct JournalStreamTests {
  @Test func parsesDeviceAndInode() throws {
    let parsed = try #require(JournaldLogHandler.parseJournalStream("8:1234567"))
    #expect(parsed.device == 8)
    #expect(parsed.inode == 1_234_567)
  }

  @Test(arguments: [
    "", "8", "8:", ":8", "8:1:2", "a:b", "-1:2", "+1:2", " 1:2", "1:2\n",
    "18446744073709551616:1",
  ])
  func rejectsMalformedValues(value: String) {
    #expect(JournaldLogHandler.parseJournalStream(value) == nil)
  }

  @Test func matchesOnlyTheFileItNames() throws {
    let file = try TemporaryFile()
    let other = try TemporaryFile()
    let identity = try file.deviceAndInode()
    #expect(JournaldLogHandler.isJournalStream(identity, fileDescriptor: file.descriptor))
    #expect(!JournaldLogHandler.isJournalStream(identity, fileDescriptor: other.descriptor))
    #expect(!JournaldLogHandler.isJournalStream("garbage", fileDescriptor: file.descriptor))
    #expect(!JournaldLogHandler.isJournalStream(identity, fileDescriptor: -1))
  }
}

extension ProcessEnvironmentTests {
  @Suite struct JournalStreamEnvironmentTests {
    @Test(arguments: [0, 1] as [UInt64])
    func detectsJournalStreamOnStandardErrorOnly(inodeOffset: UInt64) throws {
      var status = stat()
      try #require(fstat(STDERR_FILENO, &status) == 0)
      let value = "\(status.st_dev):\(UInt64(status.st_ino) &+ inodeOffset)"
      let environment = EnvironmentOverride(["JOURNAL_STREAM": value])
      defer { environment.restore() }

      #expect(JournaldLogHandler.isJournalStream() == (inodeOffset == 0))
    }

    @Test func isFalseWithoutJournalStream() {
      let environment = EnvironmentOverride(["JOURNAL_STREAM": nil])
      defer { environment.restore() }

      #expect(!JournaldLogHandler.isJournalStream())
    }
  }
}

/// An unlinked temporary file, open for as long as the value lives.
private final class TemporaryFile {
  let descriptor: Int32

  init() throws {
    var template = Array("/tmp/outpost-stream-XXXXXX".utf8CString)
    descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else { throw FixtureError(call: "mkstemp", errno: errno) }
    template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
  }

  deinit { close(descriptor) }

  /// `device:inode` of the file, as `JOURNAL_STREAM` would name it.
  func deviceAndInode() throws -> String {
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw FixtureError(call: "fstat", errno: errno) }
    return "\(status.st_dev):\(status.st_ino)"
  }
}
