import OutpostCore
import OutpostGPS
import Testing

@testable import OutpostAgent

@Suite struct ButtonPanelTests {
  let timing = ButtonTiming(debounceMs: 30, longPressMs: 2000)

  @Test func aKeyWithOnlyAShortRoleActsTheMomentItGoesDown() {
    var panel = ButtonPanel(short: [59: .help], long: [:], timing: timing)
    #expect(panel.edge(59, down: true, atMs: 1000) == [.help])
    // Contact bounce inside the debounce time does nothing.
    #expect(panel.edge(59, down: false, atMs: 1005) == [])
    #expect(panel.edge(59, down: true, atMs: 1010) == [])
    #expect(panel.edge(59, down: false, atMs: 1200) == [])
    #expect(panel.edge(60, down: true, atMs: 1300) == [])
  }

  @Test func aKeyWithBothRolesActsOnReleaseOrAtTheLongPressTime() {
    var panel = ButtonPanel(short: [59: .checkIn], long: [59: .cancel], timing: timing)
    #expect(panel.edge(59, down: true, atMs: 0) == [])
    #expect(panel.edge(59, down: false, atMs: 500) == [.checkIn])
    #expect(panel.edge(59, down: true, atMs: 1000) == [])
    #expect(panel.nextDeadlineMs == 3000)
    #expect(panel.advance(toMs: 3000) == [.cancel])
    #expect(panel.edge(59, down: false, atMs: 3500) == [])
  }

  @Test func aKeyWithOnlyALongRoleWaitsForTheLongPress() {
    var panel = ButtonPanel(short: [:], long: [0: .help], timing: timing)
    #expect(panel.edge(0, down: true, atMs: 0) == [])
    #expect(panel.edge(0, down: false, atMs: 1999) == [])
    #expect(panel.edge(0, down: true, atMs: 5000) == [])
    #expect(panel.advance(toMs: 7000) == [.help])
  }
}

@Suite struct PositionPolicyTests {
  func fix(_ lat: Int32, _ lon: Int32, speed: UInt32? = nil, heading: UInt16? = nil) -> GPSFix {
    GPSFix(
      position: Position(
        latitudeE7: lat, longitudeE7: lon, speedCmPerS: speed, headingCdeg: heading),
      timeMs: nil)
  }

  @Test func aStillBoxReportsOncePerStillInterval() {
    var policy = PositionPolicy(PositionSettings())
    #expect(true == policy.shouldRecord(fix(430_000_000, 1_120_000_000), atMs: 0))
    #expect(false == policy.shouldRecord(fix(430_000_001, 1_120_000_000), atMs: 600_000))
    #expect(true == policy.shouldRecord(fix(430_000_001, 1_120_000_000), atMs: 3_600_000))
  }

  @Test func aMovingBoxReportsByDistanceAndTurnAtMostOncePerMovingInterval() {
    var policy = PositionPolicy(PositionSettings())
    let speed: UInt32 = 1500  // 54 km/h
    #expect(
      true
        == policy.shouldRecord(fix(430_000_000, 1_120_000_000, speed: speed, heading: 0), atMs: 0))
    // 150 m north after 10 s: not yet (moving interval 30 s).
    #expect(
      false
        == policy.shouldRecord(
          fix(430_013_500, 1_120_000_000, speed: speed, heading: 0), atMs: 10_000))
    #expect(
      true
        == policy.shouldRecord(
          fix(430_013_500, 1_120_000_000, speed: speed, heading: 0), atMs: 30_000))
    // 50 m more but a 90° turn.
    #expect(
      true
        == policy.shouldRecord(
          fix(430_018_000, 1_120_000_000, speed: speed, heading: 9000), atMs: 60_000))
    // Neither far nor turned.
    #expect(
      false
        == policy.shouldRecord(
          fix(430_018_100, 1_120_000_000, speed: speed, heading: 9100), atMs: 90_000))
  }

  @Test func distancesAreRightToAMetre() {
    // 0.001° of latitude is 111.2 m.
    let a = Position(latitudeE7: 430_000_000, longitudeE7: 1_120_000_000)
    let b = Position(latitudeE7: 430_010_000, longitudeE7: 1_120_000_000)
    #expect(abs(PositionPolicy.metres(from: a, to: b) - 111.2) < 1)
  }
}
