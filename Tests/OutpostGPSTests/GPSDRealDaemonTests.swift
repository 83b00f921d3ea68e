import OutpostCore
import OutpostGPS
import OutpostTestKit
import Testing

/// The real capture in `Data/`, replayed by gpsfake.
private let beidouLogPath: String = {
  let here = #filePath
  return String(here[..<here.lastIndex(of: "/")!]) + "/Data/beidou-bd.log"
}()

/// 1024 GPS weeks in ms: gpsd 3.22 dates this 2015 log that much later (its "WKRO"
/// correction, see GPSDCapture.swift), so its times, shifted back, are the receiver's.
private let weekRolloverMs: Int64 = 1024 * 7 * 86_400_000

/// What the NMEA path makes of the capture: five fixes.
private func nmeaFixes() throws -> [GPSFix] {
  var reader = NMEAReader()
  var fixes = reader.feed(try FileBytes.read(beidouLogPath))
  if let last = reader.finish() { fixes.append(last) }
  return fixes
}

/// How reading a connection ended.
private enum Outcome: Equatable {
  /// The condition was met.
  case done
  /// gpsd closed the connection.
  case closed
  /// The deadline passed first.
  case timedOut
}

/// Feeds what `client` receives to `reader`, appending fixes to `fixes`, until `done(fixes)`
/// holds, the connection ends (then the reader's last epoch is finished), or `withinMs` passes.
private func read(
  _ client: GPSDTestClient, _ reader: inout GPSDReader, _ fixes: inout [GPSFix],
  withinMs: UInt64, until done: ([GPSFix]) -> Bool
) -> Outcome {
  let deadline = monotonicMs() + withinMs
  while !done(fixes) {
    switch client.receive(until: deadline) {
    case .bytes(let bytes): fixes += reader.feed(bytes)
    case .closed:
      if let last = reader.finish() { fixes.append(last) }
      return .closed
    case .timedOut: return .timedOut
    }
  }
  return .done
}

/// These tests start `/usr/sbin/gpsd` through `gpsfake` (packages gpsd and gpsd-clients); they
/// fail, saying what to install, where it is missing. One at a time: each runs a daemon.
@Suite("gpsd for real (gpsfake runs gpsd on loopback)", .serialized, .timeLimit(.minutes(2)))
struct GPSDRealDaemonTests {
  @Test("Real gpsd replaying the BeiDou capture reports the positions and times NMEAReader reads")
  func realGPSDAgreesWithNMEA() throws {
    let expected = try nmeaFixes()
    try #require(expected.count == 5)
    let gpsd = try GPSFake(replaying: beidouLogPath, cycleSeconds: 0.02)
    let client = try GPSDTestClient(port: gpsd.port)
    try client.send(GPSDCommand.watchBytes)
    var reader = GPSDReader()
    var fixes: [GPSFix] = []
    // The log loops; gpsd may join after its first epochs, so read until every epoch has come
    // with a time.
    let wanted = Set(expected.compactMap(\.timeMs))
    let outcome = read(client, &reader, &fixes, withinMs: 30_000) { fixes in
      wanted.isSubset(of: fixes.compactMap { $0.timeMs.map { $0 - weekRolloverMs } })
    }
    try gpsd.stop()
    #expect(outcome == .done, "gpsd sent \(fixes.count) fixes; it printed:\n\(gpsd.output)")
    #expect(reader.version?.protocolMajor == 3)
    #expect(reader.rejectedLines == 0, "\(String(describing: reader.lastRejection))")
    for nmea in expected {
      let time = try #require(nmea.timeMs)
      let same = fixes.filter { $0.timeMs == time + weekRolloverMs }
      #expect(!same.isEmpty, "no gpsd fix for the epoch at \(time)")
      for fix in same {
        #expect(fix.position.latitudeE7 == nmea.position.latitudeE7, "epoch at \(time)")
        #expect(fix.position.longitudeE7 == nmea.position.longitudeE7, "epoch at \(time)")
        #expect(fix.position.fixTimeMs == time + weekRolloverMs)
        // gpsd reports a 2D fix, without altitude, when its epoch lacked the GGA.
        if let altitude = fix.position.altitudeDm {
          #expect(altitude == nmea.position.altitudeDm, "epoch at \(time)")
        }
      }
    }
    // Timed or not, every fix gpsd made is at one of the receiver's positions.
    let positions = Set(expected.map { [$0.position.latitudeE7, $0.position.longitudeE7] })
    for fix in fixes {
      #expect(positions.contains([fix.position.latitudeE7, fix.position.longitudeE7]))
    }
  }

  @Test("Real gpsd restarting: the client sees its connection end, then fixes flow again")
  func realGPSDRestart() throws {
    let positions = Set(try nmeaFixes().map { [$0.position.latitudeE7, $0.position.longitudeE7] })
    let gpsd = try GPSFake(replaying: beidouLogPath, cycleSeconds: 0.02)
    let port = gpsd.port
    do {
      let client = try GPSDTestClient(port: port)
      try client.send(GPSDCommand.watchBytes)
      var reader = GPSDReader()
      var fixes: [GPSFix] = []
      #expect(read(client, &reader, &fixes, withinMs: 30_000) { !$0.isEmpty } == .done)
      try gpsd.stop()
      #expect(!GPSFake.accepts(port: port))
      var late: [GPSFix] = []
      #expect(read(client, &reader, &late, withinMs: 10_000) { _ in false } == .closed)
    }
    try gpsd.start()
    #expect(gpsd.port == port)
    let client = try GPSDTestClient(port: port)
    try client.send(GPSDCommand.watchBytes)
    var reader = GPSDReader()
    var fixes: [GPSFix] = []
    let outcome = read(client, &reader, &fixes, withinMs: 30_000) { $0.count >= 2 }
    try gpsd.stop()
    #expect(outcome == .done, "after the restart gpsd printed:\n\(gpsd.output)")
    #expect(reader.version?.release.isEmpty == false)
    #expect(
      fixes.allSatisfy { positions.contains([$0.position.latitudeE7, $0.position.longitudeE7]) })
  }

  @Test("Without gpsfake the harness fails and says what to install")
  func missingProgramIsNamed() {
    #expect {
      _ = try GPSFake.locate("gpsfake-that-is-not-there")
    } throws: { error in
      "\(error)".contains("apt install gpsd gpsd-clients")
    }
  }
}
