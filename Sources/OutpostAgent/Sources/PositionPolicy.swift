import Glibc
import OutpostCore
import OutpostGPS

/// Decides which fixes become position records: a still box reports once per still interval; a
/// moving one (a vehicle, a mobile post) more often, when it has gone far enough or turned
/// enough since its last report, but never more than once per moving interval.
struct PositionPolicy: Sendable {
  let settings: PositionSettings
  private var last: (position: Position, atMs: UInt64)?

  init(_ settings: PositionSettings) {
    self.settings = settings
  }

  /// Whether `fix`, arriving at monotonic `atMs`, should be recorded; if so it becomes the
  /// last reported one.
  mutating func shouldRecord(_ fix: GPSFix, atMs: UInt64) -> Bool {
    defer {}
    guard let last else {
      self.last = (fix.position, atMs)
      return true
    }
    let elapsedMs = atMs &- min(atMs, last.atMs)
    var record = elapsedMs >= UInt64(settings.stillInterval.milliseconds)
    if !record, elapsedMs >= UInt64(settings.movingInterval.milliseconds) {
      let distance = Self.metres(from: last.position, to: fix.position)
      let movingCmPerS = UInt32(settings.movingSpeedKmh) * 100_000 / 3600
      let moving = (fix.position.speedCmPerS ?? 0) >= movingCmPerS
      var turned = false
      if moving, let was = last.position.headingCdeg, let now = fix.position.headingCdeg {
        let change = abs(Int(now) - Int(was)) % 36000
        turned = min(change, 36000 - change) >= settings.headingChangeDeg * 100
      }
      record = distance >= Double(settings.minDistanceM) || turned
    }
    if record { self.last = (fix.position, atMs) }
    return record
  }

  /// Distance in metres between two positions (equirectangular; exact enough below 100 km).
  static func metres(from a: Position, to b: Position) -> Double {
    let metresPerE7 = 0.011_119_49
    let latitude = Double(a.latitudeE7) / 1e7 * Double.pi / 180
    let north = Double(b.latitudeE7 - a.latitudeE7) * metresPerE7
    let east = Double(Int64(b.longitudeE7) - Int64(a.longitudeE7)) * metresPerE7 * cos(latitude)
    return (north * north + east * east).squareRoot()
  }
}
