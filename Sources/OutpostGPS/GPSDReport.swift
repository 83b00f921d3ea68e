/// One line from gpsd's JSON socket, decoded by its `class` (gpsd's protocol 3, as in gpsd
/// 3.22). Only the members the agent uses are kept; the rest of each object is ignored, so new
/// members in later gpsd releases do not break decoding.
public enum GPSDReport: Sendable, Hashable {
  /// `VERSION`, sent once when a client connects.
  case version(GPSDVersion)
  /// `DEVICES`: the receivers gpsd knows, in answer to `?WATCH` or `?DEVICES`.
  case devices([GPSDDevice])
  /// `DEVICE`: a receiver was opened, identified or closed.
  case device(GPSDDevice)
  /// `WATCH`: the watch policy now in force for this client.
  case watch(GPSDWatch)
  /// `TPV`: time, position, velocity, once or more per receiver epoch.
  case tpv(GPSDTPV)
  /// `SKY`: satellites and dilution of precision.
  case sky(GPSDSky)
  /// `ERROR`: gpsd did not understand a command.
  case error(message: String)
  /// Any other class (`PPS`, `TOFF`, `GST`, `ATT`, `POLL`…), by its name.
  case other(class: String)

  /// Decodes one line (without its line ending; white space around the object is allowed).
  ///
  /// - Throws: ``GPSDReportError``: the line is not JSON (with the byte offset), not an
  ///   object, has no `class`, or a member the report needs is missing or not a valid value.
  public init(line: some StringProtocol) throws(GPSDReportError) {
    let json: GPSDJSON
    do {
      json = try GPSDJSONParser.parse(Array(line.utf8))
    } catch {
      throw .malformedJSON(offset: error.offset, reason: error.reason)
    }
    guard case .object(let members) = json else { throw .notAnObject }
    guard case .string(let reportClass)? = members["class"] else { throw .missingClass }
    let fields = GPSDFields(reportClass: reportClass, members: members)
    switch reportClass {
    case "VERSION": self = .version(try GPSDVersion(fields))
    case "DEVICES":
      guard case .array(let elements)? = fields.member("devices") else {
        throw fields.member("devices") == nil
          ? .missingField(class: reportClass, field: "devices") : fields.invalid("devices")
      }
      var devices: [GPSDDevice] = []
      for element in elements {
        guard case .object(let device) = element else { throw fields.invalid("devices") }
        devices.append(try GPSDDevice(GPSDFields(reportClass: "DEVICE", members: device)))
      }
      self = .devices(devices)
    case "DEVICE": self = .device(try GPSDDevice(fields))
    case "WATCH": self = .watch(try GPSDWatch(fields))
    case "TPV": self = .tpv(try GPSDTPV(fields))
    case "SKY": self = .sky(try GPSDSky(fields))
    case "ERROR":
      guard let message = try fields.string("message") else {
        throw .missingField(class: reportClass, field: "message")
      }
      self = .error(message: message)
    default: self = .other(class: reportClass)
    }
  }
}

/// gpsd's `VERSION` report.
public struct GPSDVersion: Sendable, Hashable {
  /// The release, such as `3.22`.
  public var release: String
  /// The protocol's major version; 3 for every gpsd since 2.90.
  public var protocolMajor: Int
  /// The protocol's minor version (14 in gpsd 3.22).
  public var protocolMinor: Int

  init(_ fields: GPSDFields) throws(GPSDReportError) {
    guard let release = try fields.string("release") else {
      throw .missingField(class: "VERSION", field: "release")
    }
    guard let major = try fields.integer("proto_major", in: 0...Int(Int32.max)) else {
      throw .missingField(class: "VERSION", field: "proto_major")
    }
    self.release = release
    protocolMajor = major
    protocolMinor = try fields.integer("proto_minor", in: 0...Int(Int32.max)) ?? 0
  }
}

/// A receiver as gpsd describes it in `DEVICE` and `DEVICES`.
public struct GPSDDevice: Sendable, Hashable {
  /// The device path (`/dev/ttyACM0`, or a `tcp://` or `udp://` source).
  public var path: String?
  /// The driver gpsd identified it with (`NMEA0183`, `u-blox`…), once it has.
  public var driver: String?
  /// True when `activated` holds a time (the device is open), false when it is `0` (gpsd
  /// closed it: unplugged, or its source ended), nil when the report does not say.
  public var activated: Bool?

  init(_ fields: GPSDFields) throws(GPSDReportError) {
    path = try fields.string("path")
    driver = try fields.string("driver")
    switch fields.member("activated") {
    case nil: activated = nil
    case .string?: activated = true
    case .number(let text)?:
      guard let number = exactDecimal(text) else { throw fields.invalid("activated") }
      activated = number.value != 0
    default: throw fields.invalid("activated")
    }
  }
}

/// gpsd's `WATCH` report: the policy it applies to this client.
public struct GPSDWatch: Sendable, Hashable {
  /// Whether reports are streamed at all.
  public var enable: Bool?
  /// Whether they are streamed as JSON.
  public var json: Bool?

  init(_ fields: GPSDFields) throws(GPSDReportError) {
    enable = try fields.bool("enable")
    json = try fields.bool("json")
  }
}

/// gpsd's `TPV` report in the record's integer units, each value exact from gpsd's digits and
/// rounded half away from zero. Members gpsd leaves out (it does, whenever it does not know
/// them) are nil.
public struct GPSDTPV: Sendable, Hashable {
  /// The receiver this report is from.
  public var device: String?
  /// 0 unknown, 1 no fix, 2 two-dimensional fix, 3 three-dimensional fix.
  public var mode: Int
  /// The fix's UTC time in ms since the Unix epoch, from `time`.
  public var timeMs: Int64?
  /// Latitude in 1e-7 degrees, from `lat`.
  public var latitudeE7: Int32?
  /// Longitude in 1e-7 degrees, from `lon`.
  public var longitudeE7: Int32?
  /// Altitude above mean sea level in decimetres, from `altMSL`, else `alt` (which gpsd 3.22
  /// still sends with the same meaning).
  public var altitudeDm: Int32?
  /// Speed over ground in cm/s, from `speed` (m/s).
  public var speedCmPerS: UInt32?
  /// Course over ground in centidegrees from true north (0..<36000), from `track`.
  public var trackCdeg: UInt16?
  /// Estimated horizontal position error in cm, from `eph` (m).
  public var ephCm: UInt32?
  /// Estimated longitude error in cm, from `epx` (m).
  public var epxCm: UInt32?
  /// Estimated latitude error in cm, from `epy` (m).
  public var epyCm: UInt32?
  /// gpsd's fix status when it sends one (2 DGPS, 3 RTK fixed, 4 RTK float, …).
  public var status: Int?

  /// Whether this report is a fix: mode 2 or 3, with a position.
  public var hasFix: Bool { mode >= 2 && latitudeE7 != nil && longitudeE7 != nil }

  init(_ fields: GPSDFields) throws(GPSDReportError) {
    guard let mode = try fields.integer("mode", in: 0...3) else {
      throw .missingField(class: "TPV", field: "mode")
    }
    self.mode = mode
    device = try fields.string("device")
    timeMs = try fields.time("time")
    latitudeE7 = try Self.coordinate(fields, "lat", limitE7: 900_000_000)
    longitudeE7 = try Self.coordinate(fields, "lon", limitE7: 1_800_000_000)
    var altitude = try fields.scaled("altMSL", by: 10, below: 100_000)
    if altitude == nil { altitude = try fields.scaled("alt", by: 10, below: 100_000) }
    altitudeDm = altitude.map { Int32($0) }
    speedCmPerS = try fields.scaled("speed", by: 100, below: 100_000, nonNegative: true)
      .map { UInt32($0) }
    trackCdeg = try fields.scaled("track", by: 100, below: 361, nonNegative: true)
      .map { UInt16($0 % 36_000) }
    ephCm = try fields.scaled("eph", by: 100, below: 10_000_000, nonNegative: true)
      .map { UInt32($0) }
    epxCm = try fields.scaled("epx", by: 100, below: 10_000_000, nonNegative: true)
      .map { UInt32($0) }
    epyCm = try fields.scaled("epy", by: 100, below: 10_000_000, nonNegative: true)
      .map { UInt32($0) }
    status = try fields.integer("status", in: 0...Int(Int32.max))
  }

  private static func coordinate(_ fields: GPSDFields, _ key: String, limitE7: Int64)
    throws(GPSDReportError) -> Int32?
  {
    guard let e7 = try fields.scaled(key, by: 10_000_000, below: 1000) else { return nil }
    guard abs(e7) <= limitE7 else { throw fields.invalid(key) }
    return Int32(e7)
  }

  /// This epoch's report with the members of `later` (a second TPV of the same epoch) laid
  /// over it: what `later` has replaces, what it lacks is kept.
  func merging(_ later: GPSDTPV) -> GPSDTPV {
    var merged = self
    merged.mode = later.mode
    merged.timeMs = later.timeMs ?? timeMs
    merged.latitudeE7 = later.latitudeE7 ?? latitudeE7
    merged.longitudeE7 = later.longitudeE7 ?? longitudeE7
    merged.altitudeDm = later.altitudeDm ?? altitudeDm
    merged.speedCmPerS = later.speedCmPerS ?? speedCmPerS
    merged.trackCdeg = later.trackCdeg ?? trackCdeg
    merged.ephCm = later.ephCm ?? ephCm
    merged.epxCm = later.epxCm ?? epxCm
    merged.epyCm = later.epyCm ?? epyCm
    merged.status = later.status ?? status
    return merged
  }
}

/// gpsd's `SKY` report: what a fix's quality is judged by.
public struct GPSDSky: Sendable, Hashable {
  /// The receiver this report is from.
  public var device: String?
  /// Horizontal dilution of precision ×100, from `hdop`.
  public var hdopCenti: UInt16?
  /// Position dilution of precision ×100, from `pdop`.
  public var pdopCenti: UInt16?
  /// Satellites used in the fix: `uSat`, else the satellites marked `used` in `satellites`.
  public var satellitesUsed: Int?
  /// Satellites seen: `nSat`, else the length of `satellites`.
  public var satellitesVisible: Int?

  init(_ fields: GPSDFields) throws(GPSDReportError) {
    device = try fields.string("device")
    hdopCenti = try fields.scaled("hdop", by: 100, below: 655, nonNegative: true)
      .map { UInt16($0) }
    pdopCenti = try fields.scaled("pdop", by: 100, below: 655, nonNegative: true)
      .map { UInt16($0) }
    var used: Int?
    var seen: Int?
    switch fields.member("satellites") {
    case nil: break
    case .array(let satellites)?:
      var count = 0
      for satellite in satellites {
        guard case .object(let members) = satellite else { throw fields.invalid("satellites") }
        let flags = GPSDFields(reportClass: "SKY", members: members)
        if try flags.bool("used") == true { count += 1 }
      }
      used = count
      seen = satellites.count
    default: throw fields.invalid("satellites")
    }
    satellitesUsed = try fields.integer("uSat", in: 0...1000) ?? used
    satellitesVisible = try fields.integer("nSat", in: 0...1000) ?? seen
  }
}

/// Why a line from gpsd is not a report. A line is rejected alone: the stream goes on.
public enum GPSDReportError: Error, Sendable, Hashable, CustomStringConvertible {
  /// Not one JSON value: `offset` is the byte of the line where it went wrong, `reason` what
  /// was expected there.
  case malformedJSON(offset: Int, reason: String)
  /// Valid JSON, but not an object (gpsd's reports are all objects).
  case notAnObject
  /// An object without a string member `class`.
  case missingClass
  /// A report of `class` without a member it must have.
  case missingField(class: String, field: String)
  /// A member of a report of `class` that holds something that is not a valid value (as
  /// `value` shows it).
  case invalidField(class: String, field: String, value: String)

  /// What was wrong, for a log line.
  public var description: String {
    switch self {
    case .malformedJSON(let offset, let reason):
      "gpsd sent a line that is not JSON: at byte \(offset), \(reason)"
    case .notAnObject: "gpsd sent a JSON value that is not an object"
    case .missingClass: "gpsd sent a JSON object without a \"class\" string"
    case .missingField(let reportClass, let field):
      "gpsd sent a \(reportClass) report without its \"\(field)\" member"
    case .invalidField(let reportClass, let field, let value):
      "gpsd sent a \(reportClass) report whose \"\(field)\" holds \(value), "
        + "which is not a valid value"
    }
  }
}
