import OutpostCore
import OutpostTestKit

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// One fix of a track and the time the agent stamps its position record with (the fix time).
public struct TrackPoint: Sendable, Hashable {
  public var timeMs: Int64
  public var position: Position

  public init(timeMs: Int64, position: Position) {
    self.timeMs = timeMs
    self.position = position
  }
}

/// A vehicle or rider crossing the steppe near Ulaanbaatar (47.9° N, 106.9° E): one fix every
/// `intervalMs`, speed drifting smoothly between 5 and 60 km/h, the heading wandering, the ground
/// rising and falling slowly, and the receiver's errors on top: a few metres of correlated
/// horizontal and vertical noise, speed and course jitter, and HDOP and satellite counts that
/// change now and then. Everything follows from `seed`.
public enum SyntheticTrack {
  public static let defaultSeed: UInt64 = 0x0075_7470_6F73_7401
  /// 2026-07-14 03:00:00 UTC (11:00 in Ulaanbaatar).
  public static let defaultStartMs = CivilTime.milliseconds(
    year: 2026, month: 7, day: 14, hour: 3, minute: 0, second: 0)

  public static func generate(
    count: Int, seed: UInt64 = defaultSeed, startMs: Int64 = defaultStartMs,
    intervalMs: Int64 = 5000
  ) -> [TrackPoint] {
    var rng = SeededRandom(seed: seed)
    let dt = Double(intervalMs) / 1000
    let minSpeed = 5 / 3.6
    let maxSpeed = 60 / 3.6
    // The true state.
    var latitude = 47.9 + rng.uniform(-0.05...0.05)
    var longitude = 106.9 + rng.uniform(-0.05...0.05)
    var speed = rng.uniform(minSpeed...maxSpeed)  // m/s
    var targetSpeed = speed
    var heading = rng.uniform(0...360)  // degrees
    var turnRate = 0.0  // degrees per second
    var travelled = 0.0  // metres
    // The receiver's errors: first-order Gauss–Markov processes, so that noise drifts as a
    // real receiver's does instead of jumping independently every fix.
    let horizontalSigma = 2.5  // metres
    let verticalSigma = 4.0  // metres
    let keep = 0.9
    let innovation = (1 - keep * keep).squareRoot()
    var noiseNorth = rng.gaussian() * horizontalSigma
    var noiseEast = rng.gaussian() * horizontalSigma
    var noiseUp = rng.gaussian() * verticalSigma
    var hdop = 90  // ×100
    var satellites = 10

    var points: [TrackPoint] = []
    points.reserveCapacity(count)
    for index in 0..<count {
      if index > 0 {
        // Speed: now and then a new target (terrain, herd, track); approached smoothly.
        if rng.unit() < 0.03 { targetSpeed = rng.uniform(minSpeed...maxSpeed) }
        let change = min(max((targetSpeed - speed) * 0.2, -1.5), 1.5) + rng.gaussian() * 0.15
        speed = min(max(speed + change, minSpeed), maxSpeed)
        // Heading: the turn rate wanders (σ ≈ 1 °/s), the heading integrates it.
        turnRate = 0.8 * turnRate + 0.6 * rng.gaussian()
        heading = (heading + turnRate * dt).truncatingRemainder(dividingBy: 360)
        if heading < 0 { heading += 360 }
        let distance = speed * dt
        let radians = heading * .pi / 180
        latitude += distance * cos(radians) / metresPerDegreeLatitude(latitude)
        longitude += distance * sin(radians) / metresPerDegreeLongitude(latitude)
        travelled += distance
        noiseNorth = keep * noiseNorth + innovation * horizontalSigma * rng.gaussian()
        noiseEast = keep * noiseEast + innovation * horizontalSigma * rng.gaussian()
        noiseUp = keep * noiseUp + innovation * verticalSigma * rng.gaussian()
        if rng.unit() < 0.04 { hdop = 70 + 10 * rng.below(11) }
        if rng.unit() < 0.05 { satellites = min(max(satellites + rng.below(5) - 2, 6), 16) }
      }
      // Rolling ground: 1,350 m, ±40 m over a few kilometres, ±8 m over a few hundred metres.
      let ground = 1350 + 40 * sin(travelled / 2300) + 8 * sin(travelled / 370 + 1)
      let reportedLatitude = latitude + noiseNorth / metresPerDegreeLatitude(latitude)
      let reportedLongitude = longitude + noiseEast / metresPerDegreeLongitude(latitude)
      let reportedSpeed = max(speed + rng.gaussian() * 0.1, 0)
      var reportedCourse = (heading + rng.gaussian() * 0.5).truncatingRemainder(dividingBy: 360)
      if reportedCourse < 0 { reportedCourse += 360 }
      let position = Position(
        latitudeE7: Int32((reportedLatitude * 1e7).rounded()),
        longitudeE7: Int32((reportedLongitude * 1e7).rounded()),
        altitudeDm: Int32(((ground + noiseUp) * 10).rounded()),
        speedCmPerS: UInt32((reportedSpeed * 100).rounded()),
        headingCdeg: UInt16((reportedCourse * 100).rounded()) % 36_000,
        hdopCenti: UInt16(hdop),
        satellites: UInt8(satellites))
      points.append(TrackPoint(timeMs: startMs + Int64(index) * intervalMs, position: position))
    }
    return points
  }

  /// Metres per degree on the WGS 84 ellipsoid (the usual series, good to centimetres).
  static func metresPerDegreeLatitude(_ latitude: Double) -> Double {
    let phi = latitude * .pi / 180
    return 111_132.954 - 559.822 * cos(2 * phi) + 1.175 * cos(4 * phi)
  }

  static func metresPerDegreeLongitude(_ latitude: Double) -> Double {
    let phi = latitude * .pi / 180
    return 111_412.84 * cos(phi) - 93.5 * cos(3 * phi) + 0.118 * cos(5 * phi)
  }
}
