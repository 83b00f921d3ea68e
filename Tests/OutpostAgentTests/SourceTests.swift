import Glibc
import NIOPosix
import OutpostCore
import OutpostInput
import OutpostJournal
import OutpostTestKit
import Testing

@testable import OutpostAgent

/// Sources read what the kernel's interfaces deliver. This machine has no input device, GPIO
/// chip or serial GPS, so these tests feed the same bytes through a FIFO (input and GPIO event
/// records), a pty (a serial port) and files laid out as sysfs does.
@Suite(.timeLimit(.minutes(1))) struct SourceTests {
  /// Runs `source` until `body` returns.
  func running<T>(_ source: any FieldSource, _ body: () async throws -> T) async throws -> T {
    let task = Task { try await source.run(firstAttempt: {}) }
    defer { task.cancel() }
    return try await body()
  }

  @Test func inputDeviceButtonsThroughAFIFOOfInputEventRecords() async throws {
    let fixture = try await RecorderFixture()
    let fifo = FIFOWriter(path: fixture.directory.file("event0"))
    var settings = InputDeviceSettings(device: fifo.path)
    settings.keys = [59: .help, 60: .checkIn]
    settings.longPressKeys = [61: .cancel]
    let source = InputDeviceSource(
      settings: settings, recorder: fixture.recorder,
      eventLoops: MultiThreadedEventLoopGroup.singleton,
      logger: quietLogger)
    try await running(source) {
      #expect(await fifo.connect())
      let t = nowMs()
      // KEY_F1 pressed with contact bounce, then KEY_F2, then KEY_F3 held for the long press,
      // and an unmapped key and autorepeat records that must be ignored.
      fifo.write(
        keyEvent(59, down: true, atMs: t) + keyEvent(59, down: false, atMs: t + 3)
          + keyEvent(59, down: true, atMs: t + 6) + keyEvent(59, down: false, atMs: t + 80)
          + keyEvent(30, down: true, atMs: t + 90)
          + InputEvent(timeUs: (t + 95) * 1000, type: 1, code: 59, value: 2).bytes()
          + keyEvent(60, down: true, atMs: t + 100) + keyEvent(60, down: false, atMs: t + 150)
          + keyEvent(61, down: true, atMs: t + 200))
      let recorded = try await eventually {
        try await fixture.records().map(\.1).count == 3
      }
      #expect(recorded)
      fifo.write(keyEvent(61, down: false, atMs: nowMs()))
      let kinds = try await fixture.records().map(\.0.kind)
      #expect(kinds == [.sos, .checkIn, .sosCancel])
    }
  }

  @Test func aFloodOfPressesOnAnInputDeviceBecomesOneIncidentWithItsCount() async throws {
    let fixture = try await RecorderFixture()
    let fifo = FIFOWriter(path: fixture.directory.file("event-flood"))
    var settings = InputDeviceSettings(device: fifo.path)
    settings.keys = [59: .help]
    let source = InputDeviceSource(
      settings: settings, recorder: fixture.recorder,
      eventLoops: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
    let task = Task { try await source.run(firstAttempt: {}) }
    defer { task.cancel() }
    #expect(await fifo.connect())
    // 500 clean presses 80 ms apart by their kernel timestamps (the last one now), written as
    // fast as the FIFO takes them.
    let t = nowMs() - 500 * 80
    var bytes: [UInt8] = []
    for press in 0..<500 {
      let at = t + Int64(press) * 80
      bytes += keyEvent(59, down: true, atMs: at) + keyEvent(59, down: false, atMs: at + 35)
    }
    fifo.write(bytes)
    // One SOS at once; the rest are joined and counted into one record at the end of the
    // record interval (5 s): never 500 alarm records that could never be overwritten.
    let counted = try await eventually(seconds: 20) {
      try await fixture.records().map(\.1).contains(.sos(presses: 500, position: nil))
    }
    #expect(counted)
    #expect(try await fixture.records().count == 2)
  }

  @Test func anUnpluggedInputDeviceIsReopenedWhenItComesBack() async throws {
    let fixture = try await RecorderFixture()
    let fifo = FIFOWriter(path: fixture.directory.file("event1"))
    var settings = InputDeviceSettings(device: fifo.path)
    settings.keys = [60: .checkIn]
    let source = InputDeviceSource(
      settings: settings, recorder: fixture.recorder,
      eventLoops: MultiThreadedEventLoopGroup.singleton,
      logger: quietLogger)
    try await running(source) {
      #expect(await fifo.connect())
      fifo.write(
        keyEvent(60, down: true, atMs: nowMs()) + keyEvent(60, down: false, atMs: nowMs() + 50))
      let check1 = try await eventually { try await fixture.records().count == 1 }
      #expect(check1)
      fifo.disconnect()
      let retrying = await eventually {
        let state = try? await fixture.recorder.status().sources[source.name]
        if case .retrying = state { return true }
        return false
      }
      #expect(retrying)
      // The device comes back: the source reopens it after its backoff.
      #expect(await fifo.connect(seconds: 15))
      fifo.write(
        keyEvent(60, down: true, atMs: nowMs()) + keyEvent(60, down: false, atMs: nowMs() + 50))
      let check2 = try await eventually(seconds: 15) { try await fixture.records().count == 2 }
      #expect(check2)
      let check3 = try await fixture.recorder.status().sources[source.name] == .up
      #expect(check3)
    }
  }

  @Test func aMissingDeviceIsRetriedNotFatal() async throws {
    let fixture = try await RecorderFixture()
    var settings = InputDeviceSettings(device: fixture.directory.file("no-such-event"))
    settings.keys = [59: .help]
    let source = InputDeviceSource(
      settings: settings, recorder: fixture.recorder,
      eventLoops: MultiThreadedEventLoopGroup.singleton,
      logger: quietLogger)
    try await running(source) {
      let state = await eventually {
        let state = try? await fixture.recorder.status().sources[source.name]
        if case .retrying(let reason) = state { return reason.contains("No such file") }
        return false
      }
      #expect(state)
    }
  }

  @Test func cardReaderIdsThroughAFIFOOfInputEventRecords() async throws {
    let fixture = try await RecorderFixture()
    let fifo = FIFOWriter(path: fixture.directory.file("reader"))
    let source = CardReaderSource(
      settings: CardReaderSettings(device: fifo.path), recorder: fixture.recorder,
      eventLoops: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
    try await running(source) {
      #expect(await fifo.connect())
      var bytes: [UInt8] = []
      var t = nowMs()
      func type(_ code: UInt16) {
        bytes += keyEvent(code, down: true, atMs: t) + keyEvent(code, down: false, atMs: t + 1)
        t += 2
      }
      // "0042A7" then Enter: shift+a types A. A stray Enter alone records nothing.
      type(28)
      for code: UInt16 in [11, 11, 5, 3] { type(code) }
      bytes += keyEvent(42, down: true, atMs: t)
      type(30)
      bytes += keyEvent(42, down: false, atMs: t)
      type(8)
      type(28)
      fifo.write(bytes)
      let check4 = try await eventually { try await fixture.records().count == 1 }
      #expect(check4)
      let check5 = try await fixture.records()[0].1 == .checkIn(who: "0042A7", position: nil)
      #expect(check5)
    }
  }

  @Test func gpioButtonThroughAFIFOOfLineEventRecords() async throws {
    let fixture = try await RecorderFixture()
    let fifo = FIFOWriter(path: fixture.directory.file("gpio-line"))
    let path = fifo.path
    var settings = GPIOButtonSettings(chip: "/dev/gpiochip-test", line: 17)
    settings.role = .help
    let source = GPIOButtonSource(
      settings: settings, recorder: fixture.recorder,
      eventLoops: MultiThreadedEventLoopGroup.singleton,
      logger: quietLogger,
      openLine: { _ in (try openForReading(path), {}) })
    try await running(source) {
      #expect(await fifo.connect())
      let ns = UInt64(nowMs()) * 1_000_000
      func event(_ edge: GPIOLineEvent.Edge, _ offsetNs: UInt64, _ seqno: UInt32) -> [UInt8] {
        GPIOLineEvent(
          timestampNs: ns + offsetNs, edge: edge, offset: 17, seqno: seqno, lineSeqno: seqno
        ).bytes
      }
      // A press with bounce: rising, falling 2 ms later, rising again; released 100 ms later.
      fifo.write(
        event(.rising, 0, 1) + event(.falling, 2_000_000, 2) + event(.rising, 4_000_000, 3)
          + event(.falling, 100_000_000, 4))
      let check6 = try await eventually { try await fixture.records().count == 1 }
      #expect(check6)
      try await Task.sleep(for: .milliseconds(100))
      let check7 = try await fixture.records().map(\.1) == [.sos(presses: 1, position: nil)]
      #expect(check7)
    }
  }

  @Test func aGPIOChipThatIsMissingIsRetriedWithAClearReason() async throws {
    let fixture = try await RecorderFixture()
    var settings = GPIOButtonSettings(chip: fixture.directory.file("gpiochip9"), line: 3)
    settings.role = .help
    let source = GPIOButtonSource(
      settings: settings, recorder: fixture.recorder,
      eventLoops: MultiThreadedEventLoopGroup.singleton,
      logger: quietLogger)
    try await running(source) {
      let retrying = await eventually {
        let state = try? await fixture.recorder.status().sources[source.name]
        if case .retrying(let reason) = state { return reason.contains("gpiochip9") }
        return false
      }
      #expect(retrying)
    }
  }
}
