/// The sentences a fix is built from, each read from an ``NMEASentence`` of its type and any
/// talker. Empty fields are nil; a field with something that is not a valid value makes the
/// whole sentence malformed (``NMEAError/malformedField(type:field:value:)``).
public enum NMEAReport: Sendable, Hashable {
  /// Fix data: time, position, quality, satellites, HDOP, altitude.
  case gga(GGA)
  /// Recommended minimum: time, validity, position, speed, course, date.
  case rmc(RMC)
  /// Dilution of precision and fix type (2D/3D).
  case gsa(GSA)
  /// The multi-constellation fix (like GGA, with a mode per system).
  case gns(GNS)

  /// The report of `sentence`, or nil for a type the sources do not use (GSV, VTG, proprietary).
  ///
  /// - Throws: ``NMEAError/malformedField(type:field:value:)`` for a known type with a bad field.
  public init?(_ sentence: NMEASentence) throws(NMEAError) {
    guard sentence.talker != "P" else { return nil }
    switch sentence.type {
    case "GGA": self = .gga(try GGA(sentence))
    case "RMC": self = .rmc(try RMC(sentence))
    case "GSA": self = .gsa(try GSA(sentence))
    case "GNS": self = .gns(try GNS(sentence))
    default: return nil
    }
  }

  /// The UTC time of day of the report, when it has one (GSA has none).
  public var timeOfDayMs: Int64? {
    switch self {
    case .gga(let gga): gga.timeOfDayMs
    case .rmc(let rmc): rmc.timeOfDayMs
    case .gsa: nil
    case .gns(let gns): gns.timeOfDayMs
    }
  }
}

/// Field readers that turn a bad value into the sentence's error.
private struct FieldReader {
  let sentence: NMEASentence

  func fail(_ index: Int) -> NMEAError {
    .malformedField(type: sentence.type, field: index + 1, value: sentence.fields[index])
  }

  func time(_ index: Int) throws(NMEAError) -> Int64? {
    guard let parsed = timeOfDayMs(sentence[field: index]) else { throw fail(index) }
    return parsed
  }

  func coordinate(_ index: Int, degreeDigits: Int) throws(NMEAError) -> Int32? {
    guard
      let parsed = coordinateE7(
        sentence[field: index], sentence[field: index + 1], degreeDigits: degreeDigits)
    else { throw fail(index) }
    return parsed
  }

  /// A decimal field times `numerator / denominator`, rounded, if its magnitude is below
  /// `limit` (in the field's own unit).
  func scaled(_ index: Int, by numerator: Int64, over denominator: Int64, below limit: Int64)
    throws(NMEAError) -> Int64?
  {
    guard let text = sentence[field: index] else { return nil }
    guard let number = FixedDecimal(text), number.magnitude(below: limit) else {
      throw fail(index)
    }
    return number.scaled(by: numerator, over: denominator)
  }

  func integer(_ index: Int, below limit: Int) throws(NMEAError) -> Int? {
    guard let text = sentence[field: index] else { return nil }
    guard let value = Int(text), value >= 0, value < limit else { throw fail(index) }
    return value
  }
}

/// `$--GGA,time,lat,N,lon,E,quality,satellites,hdop,altitude,M,geoid,M,age,station*hh`.
public struct GGA: Sendable, Hashable {
  public var timeOfDayMs: Int64?
  public var latitudeE7: Int32?
  public var longitudeE7: Int32?
  /// 0 no fix, 1 GPS, 2 DGPS, 4 RTK, 6 estimated…
  public var quality: Int
  public var satellites: UInt8?
  public var hdopCenti: UInt16?
  /// Above mean sea level, in decimetres.
  public var altitudeDm: Int32?

  init(_ sentence: NMEASentence) throws(NMEAError) {
    let f = FieldReader(sentence: sentence)
    timeOfDayMs = try f.time(0)
    latitudeE7 = try f.coordinate(1, degreeDigits: 2)
    longitudeE7 = try f.coordinate(3, degreeDigits: 3)
    quality = try f.integer(5, below: 10) ?? 0
    satellites = try f.integer(6, below: 256).map { UInt8($0) }
    hdopCenti = try f.scaled(7, by: 100, over: 1, below: 100).map { UInt16($0) }
    altitudeDm = try f.scaled(8, by: 10, over: 1, below: 100_000).map { Int32($0) }
  }
}

/// `$--RMC,time,status,lat,N,lon,E,knots,course,date,variation,E,mode*hh`.
public struct RMC: Sendable, Hashable {
  public var timeOfDayMs: Int64?
  /// Status `A`: the receiver trusts its fix; `V`: it does not.
  public var valid: Bool
  public var latitudeE7: Int32?
  public var longitudeE7: Int32?
  public var speedCmPerS: UInt32?
  /// Course over ground, centidegrees from true north.
  public var courseCdeg: UInt16?
  /// The date, as days since 1970-01-01.
  public var days: Int64?

  init(_ sentence: NMEASentence) throws(NMEAError) {
    let f = FieldReader(sentence: sentence)
    timeOfDayMs = try f.time(0)
    valid = sentence[field: 1] == "A"
    latitudeE7 = try f.coordinate(2, degreeDigits: 2)
    longitudeE7 = try f.coordinate(4, degreeDigits: 3)
    // 1 knot = 1852 m / 3600 s.
    speedCmPerS = try f.scaled(6, by: 185_200, over: 3600, below: 100_000).map { UInt32($0) }
    courseCdeg = try f.scaled(7, by: 100, over: 1, below: 361).map { UInt16($0 % 36_000) }
    guard let days = dateDays(sentence[field: 8]) else { throw f.fail(8) }
    self.days = days
  }
}

/// `$--GSA,mode,fixType,sv…(12),pdop,hdop,vdop[,system]*hh`.
public struct GSA: Sendable, Hashable {
  /// 1 no fix, 2 2D, 3 3D.
  public var fixType: Int
  public var hdopCenti: UInt16?

  init(_ sentence: NMEASentence) throws(NMEAError) {
    let f = FieldReader(sentence: sentence)
    fixType = try f.integer(1, below: 4) ?? 1
    hdopCenti = try f.scaled(15, by: 100, over: 1, below: 100).map { UInt16($0) }
  }
}

/// `$--GNS,time,lat,N,lon,E,modes,satellites,hdop,altitude,geoid,age,station[,status]*hh`.
public struct GNS: Sendable, Hashable {
  public var timeOfDayMs: Int64?
  public var latitudeE7: Int32?
  public var longitudeE7: Int32?
  /// One letter per constellation: `N` no fix, `A` autonomous, `D` differential, …
  public var modes: String
  public var satellites: UInt8?
  public var hdopCenti: UInt16?
  public var altitudeDm: Int32?

  /// Whether any constellation has a fix.
  public var hasFix: Bool { modes.contains { $0 != "N" } }

  init(_ sentence: NMEASentence) throws(NMEAError) {
    let f = FieldReader(sentence: sentence)
    timeOfDayMs = try f.time(0)
    latitudeE7 = try f.coordinate(1, degreeDigits: 2)
    longitudeE7 = try f.coordinate(3, degreeDigits: 3)
    modes = sentence[field: 5] ?? "N"
    satellites = try f.integer(6, below: 256).map { UInt8($0) }
    hdopCenti = try f.scaled(7, by: 100, over: 1, below: 100).map { UInt16($0) }
    altitudeDm = try f.scaled(8, by: 10, over: 1, below: 100_000).map { Int32($0) }
  }
}
