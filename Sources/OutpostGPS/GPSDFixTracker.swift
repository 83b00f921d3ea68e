import OutpostCore

/// Turns gpsd's `TPV` and `SKY` reports into ``GPSFix`` values, one per receiver epoch, in the
/// same integer units as the NMEA path's ``FixAssembler``.
///
/// gpsd may send several TPVs for one epoch: one when the epoch's first sentences arrive and
/// another when a later sentence (an RMC with course and speed) completes it. TPVs of the same
/// device and the same `time` are merged, later members replacing earlier ones, and the fix is
/// made when a TPV of another epoch, a TPV without a fix (mode 0 or 1), or the closing of the
/// device arrives, or when ``finish()`` is called. A TPV without a `time` is an epoch of its
/// own. So, like ``FixAssembler``, a fix comes out one report after its epoch ends. A box has
/// one receiver; were there several, a TPV of one would end the epoch of another.
///
/// The latest `SKY` of the fix's device (else the latest SKY that names no device) gives the
/// fix its HDOP and satellite count; it stays in force for the following epochs until the next
/// SKY of that device, or until the device closes. A SKY that says zero satellites are used was
/// made before the fix and leaves the count unknown.
public struct GPSDFixTracker: Sendable {
  private var epoch: GPSDTPV?
  /// The latest SKY of each device, "" for reports that name none.
  private var skies: [String: GPSDSky] = [:]
  /// More devices than a box has; past it the SKYs are forgotten rather than piling up.
  private static let maxDevices = 8
  /// TPV reports that were not a fix (mode 0 or 1, or no position).
  public private(set) var reportsWithoutFix = 0

  /// A tracker that has seen no report.
  public init() {}

  /// Adds a report; returns the fix of the epoch it ended, if that epoch had one. Reports other
  /// than TPV, SKY and a DEVICE closing are ignored.
  public mutating func add(_ report: GPSDReport) -> GPSFix? {
    switch report {
    case .tpv(let tpv): return add(tpv)
    case .sky(let sky):
      if skies[sky.device ?? ""] == nil, skies.count >= Self.maxDevices { skies = [:] }
      skies[sky.device ?? ""] = sky
      return nil
    case .device(let device) where device.activated == false:
      var fix: GPSFix?
      if let epoch, epoch.device == device.path { fix = endEpoch() }
      skies[device.path ?? ""] = nil
      return fix
    default: return nil
    }
  }

  private mutating func add(_ tpv: GPSDTPV) -> GPSFix? {
    guard tpv.hasFix else {
      reportsWithoutFix += 1
      return endEpoch()
    }
    if let current = epoch, current.device == tpv.device, let time = current.timeMs,
      time == tpv.timeMs
    {
      epoch = current.merging(tpv)
      return nil
    }
    let finished = endEpoch()
    epoch = tpv
    return finished
  }

  /// Ends the current epoch (the connection closed) and returns its fix, if it had one. The SKY
  /// reports are forgotten too: the next connection starts afresh.
  public mutating func finish() -> GPSFix? {
    defer { skies = [:] }
    return endEpoch()
  }

  private mutating func endEpoch() -> GPSFix? {
    guard let tpv = epoch, let latitude = tpv.latitudeE7, let longitude = tpv.longitudeE7 else {
      epoch = nil
      return nil
    }
    epoch = nil
    var position = Position(latitudeE7: latitude, longitudeE7: longitude)
    position.altitudeDm = tpv.altitudeDm
    position.speedCmPerS = tpv.speedCmPerS
    position.headingCdeg = tpv.trackCdeg
    position.fixTimeMs = tpv.timeMs
    if let sky = skies[tpv.device ?? ""] ?? skies[""] {
      position.hdopCenti = sky.hdopCenti
      if let used = sky.satellitesUsed, used > 0 { position.satellites = UInt8(min(used, 255)) }
    }
    return GPSFix(position: position, timeMs: tpv.timeMs)
  }
}
