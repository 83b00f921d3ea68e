import NIOPosix
import OutpostCore
import OutpostGPS
import OutpostTestKit
import Testing

@testable import OutpostAgent

/// The gpsd source against a real gpsd: `gpsfake` replays the BeiDou capture on a loopback port.
@Suite(.serialized, .timeLimit(.minutes(2))) struct GPSDSourceTests {
  static var capturePath: String {
    let here = #filePath.split(separator: "/").dropLast(2).joined(separator: "/")
    return "/\(here)/OutpostGPSTests/Data/beidou-bd.log"
  }

  @Test func fixesFromARealGpsdReachTheRecorderAndSurviveAGpsdRestart() async throws {
    let gpsd = try GPSFake(replaying: Self.capturePath)
    let fixture = try await RecorderFixture()
    var positions = PositionSettings()
    positions.stillInterval = .seconds(10)
    let sink = FixSink(
      name: "gps", recorder: fixture.recorder, settings: positions, logger: quietLogger)
    let source = GPSDSource(
      host: "127.0.0.1", port: Int(gpsd.port), recorder: fixture.recorder, sink: sink,
      eventLoops: MultiThreadedEventLoopGroup.singleton, logger: quietLogger)
    let task = Task { try await source.run(firstAttempt: {}) }
    defer { task.cancel() }

    var reader = NMEAReader()
    let capture = try FileBytes.read(Self.capturePath)
    let expected = Set((reader.feed(capture) + [reader.finish()].compactMap { $0 }).map(\.position))
    let first = await eventually(seconds: 30) { await fixture.recorder.currentPosition() != nil }
    #expect(first, "no fix from gpsd; its output:\n\(gpsd.output)")
    let position = await fixture.recorder.currentPosition()
    // gpsd reports the same place as our own NMEA reading of the capture, to 1e-7 degrees.
    #expect(
      expected.contains {
        $0.latitudeE7 == position?.latitudeE7 && $0.longitudeE7 == position?.longitudeE7
      },
      "\(String(describing: position)) not among \(expected)")
    // The first TPV of the capture has no time; the next ones do, and make the clock trusted.
    let trusted = await eventually { (try? await fixture.recorder.status().clockTrusted) == true }
    #expect(trusted)
    let recorded = try await eventually { try await fixture.records().count >= 1 }
    #expect(recorded)

    // gpsd goes away: the source notices and retries; gpsd comes back on the same port.
    try gpsd.stop()
    let retrying = await eventually(seconds: 20) {
      if case .retrying = try? await fixture.recorder.status().sources[source.name] { return true }
      return false
    }
    #expect(retrying)
    try gpsd.restart()
    let back = await eventually(seconds: 30) {
      (try? await fixture.recorder.status().sources[source.name]) == .up
    }
    #expect(back, "gpsd output:\n\(gpsd.output)")
  }
}
