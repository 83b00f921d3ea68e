import Glibc
import Logging
import OutpostCore
import OutpostInput
import OutpostJournal
import OutpostTestKit
import Synchronization

@testable import OutpostAgent

/// A clock the test moves by hand.
final class FakeClock: Sendable {
  private let reading = Mutex(ClockReading(wallMs: 1_780_000_000_000, sinceBootMs: 5_000))

  /// A ``BoxClock`` of boot 1 reading this clock, never NTP-synchronised.
  func boxClock() -> BoxClock {
    BoxClock(boot: 1, read: { [self] in reading.withLock { $0 } }, kernelSynchronised: { false })
  }

  func advance(ms: Int64) {
    reading.withLock {
      $0.wallMs += ms
      $0.sinceBootMs += UInt64(ms)
    }
  }
}

/// A recorder over a fresh journal in a temporary directory.
struct RecorderFixture {
  let directory = TemporaryDirectory("agent")
  let clock = FakeClock()
  let writer: JournalWriter
  let recorder: Recorder

  init(
    settings: AlarmSettings = AlarmSettings(), boxClock: BoxClock? = nil
  ) async throws {
    let ring = try RingJournal.openOrCreate(
      path: directory.file("journal"), size: 1 << 20, logger: quietLogger)
    writer = JournalWriter(journal: ring, groupCommitDelay: .milliseconds(5))
    recorder = try await Recorder(
      writer: writer, clock: boxClock ?? clock.boxClock(), settings: settings,
      logger: quietLogger)
  }

  /// Every record in the journal, decoded.
  func records() async throws -> [(Record, RecordBody)] {
    try await writer.withJournal { ring in
      try ring.records(durableOnly: false).map { ($0, try $0.decodedBody()) }
    }
  }

  /// Whether every record is durable (nothing waits for a sync).
  func allDurable() async -> Bool {
    await writer.withJournal { !$0.hasUnsyncedRecords }
  }
}

/// Logs nothing (warnings and worse go to standard error, for failing tests).
let quietLogger: Logger = {
  var logger = Logger(label: "test") { StreamLogHandler.standardError(label: $0) }
  logger.logLevel = .warning
  return logger
}()

/// Waits until `condition` holds, polling every 10 ms, for at most `seconds`. The limit is
/// generous: on a 2-core machine other suites' blocking tests can hold the threads tasks run on
/// for several seconds, and a condition that holds is seen at once anyway.
func eventually(seconds: Double = 30, _ condition: () async throws -> Bool) async rethrows -> Bool {
  let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(10))
  }
  return try await condition()
}

/// The writing end of a FIFO that a source reads as if it were a device node: the test writes
/// the bytes the kernel would deliver (`input_event` or `gpio_v2_line_event` records).
final class FIFOWriter: @unchecked Sendable {
  let path: String
  private var fd: Int32 = -1

  /// Makes the FIFO at `path`.
  init(path: String) {
    self.path = path
    precondition(mkfifo(path, 0o600) == 0, "mkfifo \(path): \(String(cString: strerror(errno)))")
  }

  /// Opens the writing end once a reader has the FIFO open (the source's device is "plugged
  /// in"); false when no reader came within `seconds`.
  func connect(seconds: Double = 10) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
      fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
      if fd >= 0 { return true }
      try? await Task.sleep(for: .milliseconds(10))
    }
    return false
  }

  /// Writes `bytes` whole.
  func write(_ bytes: [UInt8]) {
    var written = 0
    while written < bytes.count {
      let n = bytes.withUnsafeBytes {
        Glibc.write(fd, $0.baseAddress! + written, $0.count - written)
      }
      precondition(n > 0 || errno == EAGAIN, "write: \(String(cString: strerror(errno)))")
      if n > 0 { written += n }
    }
  }

  /// Closes the writing end: the reader sees end of file, as if the device was unplugged.
  func disconnect() {
    if fd >= 0 { close(fd) }
    fd = -1
  }

  deinit { disconnect() }
}

/// Key press (1) or release (0) of `code` at monotonic `ms`, followed by a SYN_REPORT, as
/// `struct input_event` records of this machine's ABI.
func keyEvent(_ code: UInt16, down: Bool, atMs ms: Int64) -> [UInt8] {
  InputEvent(timeUs: ms * 1000, type: InputEvent.typeKey, code: code, value: down ? 1 : 0).bytes()
    + InputEvent(timeUs: ms * 1000, type: InputEvent.typeSync, code: 0, value: 0).bytes()
}

/// Monotonic ms now, the time base the sources read event timestamps in.
func nowMs() -> Int64 { monotonicNowMs() }
