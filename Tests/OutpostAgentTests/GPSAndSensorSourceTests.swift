import Glibc
import NIOPosix
import OutpostCore
import OutpostGPS
import OutpostTestKit
import Testing

@testable import OutpostAgent

/// A pseudo-terminal standing in for a serial GPS receiver: the source opens the subsidiary
/// side as it would `/dev/ttyUSB0` (and sets it raw at the baud rate), the test writes NMEA to
/// the main side.
final class PseudoTerminal: @unchecked Sendable {
  let main: Int32
  let subsidiaryPath: String

  init() throws {
    // posix_openpt, unlockpt and ptsname as the C library does them on Linux (Glibc's Swift
    // module does not export them): open the multiplexer, unlock, ask for the number.
    main = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
    var unlock: Int32 = 0
    var number: UInt32 = 0
    guard main >= 0, ioctl(main, 0x4004_5431, &unlock) == 0, ioctl(main, 0x8004_5430, &number) == 0
    else { throw FixtureError(call: "open /dev/ptmx", errno: errno) }
    subsidiaryPath = "/dev/pts/\(number)"
  }

  func write(_ text: String) {
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
      let n = bytes.withUnsafeBytes {
        Glibc.write(main, $0.baseAddress! + written, $0.count - written)
      }
      guard n > 0 else { return }
      written += n
    }
  }

  deinit { close(main) }
}

@Suite(.timeLimit(.minutes(1))) struct GPSAndSensorSourceTests {
  static var capturePath: String {
    let here = #filePath.split(separator: "/").dropLast(2).joined(separator: "/")
    return "/\(here)/OutpostGPSTests/Data/beidou-bd.log"
  }

  func running<T>(_ source: any FieldSource, _ body: () async throws -> T) async throws -> T {
    let task = Task { try await source.run(firstAttempt: {}) }
    defer { task.cancel() }
    return try await body()
  }

  @Test func serialNMEAThroughAPtyWithGarbageOnTheLine() async throws {
    let fixture = try await RecorderFixture()
    let pty = try PseudoTerminal()
    let sink = FixSink(
      name: "gps", recorder: fixture.recorder, settings: PositionSettings(), logger: quietLogger)
    let source = SerialNMEASource(
      path: pty.subsidiaryPath, baud: 9600, recorder: fixture.recorder, sink: sink,
      eventLoops: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
    let capture = try FileBytes.readText(Self.capturePath)
    var expected = NMEAReader()
    let fixes = expected.feed(Array(capture.utf8)) + [expected.finish()].compactMap { $0 }
    #expect(!fixes.isEmpty)
    let task = Task { try await source.run(firstAttempt: {}) }
    defer { task.cancel() }
    #expect(await eventually { (try? await fixture.recorder.status().sources[source.name]) == .up })
    // Junk, a partial line and a bad checksum before the real capture.
    pty.write("\u{01}\u{02}garbage\r\n$GNGGA,123519,48\r\n$GPGGA,1*00\r\n")
    pty.write(capture.replacing("\r\n", with: "\n").replacing("\n", with: "\r\n"))
    let first = fixes[0].position
    let arrived = await eventually { await fixture.recorder.currentPosition() != nil }
    #expect(arrived)
    // The first fix is recorded as a position (a still box records the next one an hour
    // later), and GPS time made the clock trusted.
    let check1 = try await eventually { try await fixture.records().count == 1 }
    #expect(check1)
    let check2 = try await fixture.records()[0].1 == .position(first)
    #expect(check2)
    let check3 = try await fixture.recorder.status().clockTrusted
    #expect(check3)
    _ = try await fixture.recorder.trigger(.help, source: "test")
    let sos = try await fixture.records()[1].1
    var attached: Position?
    if case .sos(_, let position) = sos { attached = position }
    #expect(attached.map { fixes.map(\.position).contains($0) } == true)
  }

  @Test func sysfsSensorsRaiseAndClearAlarmsWithHysteresis() async throws {
    let fixture = try await RecorderFixture()
    // Laid out as hwmon does: /sys/class/hwmon/hwmon0/temp1_input in milli-degrees.
    let hwmon = fixture.directory.file("hwmon0")
    mkdir(hwmon, 0o755)
    let input = "\(hwmon)/temp1_input"
    try FileBytes.write(Array("25000\n".utf8), to: input)
    var settings = SensorSettings(name: "smoke-temp", path: input)
    settings.period = .milliseconds(20)
    settings.reportEvery = .seconds(3600)
    settings.alarm = SensorAlarmSettings(
      kind: .fire, threshold: .init(direction: .above, raiseAt: 60_000, clearAt: 50_000)!)
    let source = SensorSource(settings: settings, recorder: fixture.recorder, logger: quietLogger)
    try await running(source) {
      let check4 = try await eventually { try await fixture.records().count == 1 }
      #expect(check4)
      try FileBytes.write(Array("61000\n".utf8), to: input)
      let check5 = try await eventually { try await fixture.records().count == 2 }
      #expect(check5)
      // Wobbling between the thresholds raises nothing more.
      try FileBytes.write(Array("55000\n".utf8), to: input)
      try await Task.sleep(for: .milliseconds(100))
      try FileBytes.write(Array("61000\n".utf8), to: input)
      try await Task.sleep(for: .milliseconds(100))
      let check6 = try await fixture.records().count == 2
      #expect(check6)
      // The file vanishes (sensor unplugged): retried, the alarm state kept.
      unlink(input)
      #expect(
        await eventually {
          if case .retrying = try? await fixture.recorder.status().sources[source.name] {
            return true
          }
          return false
        })
      try FileBytes.write(Array("49000\n".utf8), to: input)
      let check7 = try await eventually { try await fixture.records().count == 3 }
      #expect(check7)
      let bodies = try await fixture.records().map(\.1)
      #expect(
        bodies == [
          .sensorReading(sensor: "smoke-temp", milliValue: 25_000),
          .sensorAlarm(sensor: "smoke-temp", alarm: .fire, milliValue: 61_000, raised: true),
          .sensorAlarm(sensor: "smoke-temp", alarm: .fire, milliValue: 49_000, raised: false),
        ])
      let check8 = try await fixture.records()[1].0.priority == .alarm
      #expect(check8)
    }
  }

  @Test func oneWireAndIIOFilesAsTheKernelWritesThem() async throws {
    let fixture = try await RecorderFixture()
    let w1 = fixture.directory.file("w1_slave")
    try FileBytes.write(
      Array("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n".utf8),
      to: w1)
    var oneWire = SensorSettings(name: "yard", path: w1)
    oneWire.format = .w1
    #expect(
      try SensorSource(settings: oneWire, recorder: fixture.recorder, logger: quietLogger).read()
        == 23125)
    let raw = fixture.directory.file("in_voltage0_raw")
    try FileBytes.write(Array("2048\n".utf8), to: raw)
    try FileBytes.write(
      Array("0.805664062\n".utf8), to: fixture.directory.file("in_voltage0_scale"))
    var iio = SensorSettings(name: "tank", path: raw)
    iio.format = .iio
    #expect(
      try SensorSource(settings: iio, recorder: fixture.recorder, logger: quietLogger).read()
        == 1650)
  }
}

@Suite struct HealthSourceTests {
  @Test func boxHealthReadsSupplyAndBatteryAsPowerSupplyFilesHoldThem() async throws {
    let fixture = try await RecorderFixture()
    // /sys/class/power_supply/…/voltage_now is in µV; capacity in percent.
    let voltage = fixture.directory.file("voltage_now")
    let capacity = fixture.directory.file("capacity")
    try FileBytes.write(Array("12345000\n".utf8), to: voltage)
    try FileBytes.write(Array("87\n".utf8), to: capacity)
    var settings = HealthSettings()
    settings.supplyPath = voltage
    settings.supplyDivisor = 1000
    settings.batteryPath = capacity
    let source = HealthSource(settings: settings, recorder: fixture.recorder, logger: quietLogger)
    var failures = FailureLog()
    let health = try await source.health(failures: &failures)
    #expect(health.supplyMillivolts == 12_345)
    #expect(health.batteryPercent == 87)
    #expect(health.link == .unknown)
    #expect(health.uptimeSeconds == 5)
    // A battery file that vanished is left out, not fatal.
    unlink(capacity)
    let without = try await source.health(failures: &failures)
    #expect(without.batteryPercent == nil)
    #expect(without.supplyMillivolts == 12_345)
  }
}
