import OutpostCore

/// A position fix as the receiver reported it for one epoch (one UTC second or fraction).
public struct GPSFix: Sendable, Hashable {
  /// The fix in the record's integer units. `fixTimeMs` is set when the date is known.
  public var position: Position
  /// The receiver's UTC time of the fix in ms since the Unix epoch, when a date has been seen
  /// (RMC carries it; GGA and GNS only the time of day).
  public var timeMs: Int64?

  public init(position: Position, timeMs: Int64?) {
    self.position = position
    self.timeMs = timeMs
  }
}

/// Turns the reports of one receiver into fixes, one per epoch.
///
/// Receivers send a burst of sentences per epoch (GGA, GSA, RMC, GNS …) that share a UTC time
/// of day. The assembler collects them and, when a report of another time arrives (or
/// ``finish()`` is called), makes one fix of the epoch if it had one: RMC status `A`, a GGA
/// quality above 0, or a GNS mode other than `N`, with a position. Latitude and longitude come
/// from RMC, else GNS, else GGA; altitude, satellites and HDOP from GGA, else GNS, HDOP else
/// GSA; speed and course from RMC. The date comes from the latest RMC, so epochs before the
/// first RMC have no UTC time.
public struct FixAssembler: Sendable {
  private var epochTime: Int64?
  private var gga: GGA?
  private var rmc: RMC?
  private var gsa: GSA?
  private var gns: GNS?
  private var days: Int64?
  /// Epochs that ended without a usable fix (the receiver still searching).
  public private(set) var epochsWithoutFix = 0

  public init() {}

  /// Adds a report; returns the fix of the previous epoch when this report starts a new one.
  public mutating func add(_ report: NMEAReport) -> GPSFix? {
    var finished: GPSFix?
    if let time = report.timeOfDayMs, let current = epochTime, time != current {
      finished = finish()
    }
    if let time = report.timeOfDayMs { epochTime = time }
    switch report {
    case .gga(let value): gga = value
    case .rmc(let value):
      rmc = value
      if let date = value.days { days = date }
    case .gsa(let value): gsa = value
    case .gns(let value): gns = value
    }
    return finished
  }

  /// Ends the current epoch and returns its fix, if it had one.
  public mutating func finish() -> GPSFix? {
    defer {
      epochTime = nil
      gga = nil
      rmc = nil
      gsa = nil
      gns = nil
    }
    guard epochTime != nil || gsa != nil else { return nil }
    let valid =
      (rmc?.valid ?? false) || (gga.map { $0.quality > 0 } ?? false) || (gns?.hasFix ?? false)
    let latitude = rmc?.latitudeE7 ?? gns?.latitudeE7 ?? gga?.latitudeE7
    let longitude = rmc?.longitudeE7 ?? gns?.longitudeE7 ?? gga?.longitudeE7
    guard valid, let latitude, let longitude else {
      epochsWithoutFix += 1
      return nil
    }
    var position = Position(latitudeE7: latitude, longitudeE7: longitude)
    position.altitudeDm = gga?.altitudeDm ?? gns?.altitudeDm
    position.satellites = gga?.satellites ?? gns?.satellites
    position.hdopCenti = gga?.hdopCenti ?? gns?.hdopCenti ?? gsa?.hdopCenti
    position.speedCmPerS = rmc?.speedCmPerS
    position.headingCdeg = rmc?.courseCdeg
    var timeMs: Int64?
    if let epochTime, let days { timeMs = days * 86_400_000 + epochTime }
    position.fixTimeMs = timeMs
    return GPSFix(position: position, timeMs: timeMs)
  }
}

/// Lines in, fixes out, with counts of what was skipped: the whole NMEA path of a serial GPS.
public struct NMEAReader: Sendable {
  private var splitter = LineSplitter(maxLineBytes: LineSplitter.nmeaMaxLineBytes)
  private var assembler = FixAssembler()
  /// Lines that were not good sentences (junk, bad checksums, partial lines).
  public private(set) var rejectedLines = 0
  /// Sentences of a known type with a bad field.
  public private(set) var malformedSentences = 0
  /// Good sentences the reader has no use for (GSV, proprietary…).
  public private(set) var ignoredSentences = 0
  /// The last reason a line was rejected, for a log line that says why.
  public private(set) var lastRejection: NMEAError?

  public init() {}

  /// Lines dropped for length by the splitter.
  public var overlongLines: Int { splitter.overlongLines }
  /// Epochs that ended without a fix.
  public var epochsWithoutFix: Int { assembler.epochsWithoutFix }

  /// Feeds raw bytes; returns the fixes of the epochs they completed.
  public mutating func feed(_ bytes: some Sequence<UInt8>) -> [GPSFix] {
    var fixes: [GPSFix] = []
    for line in splitter.feed(bytes) {
      if let fix = feed(line: line) { fixes.append(fix) }
    }
    return fixes
  }

  /// Feeds one line (a `#` comment line, as in recorded logs, is skipped silently).
  public mutating func feed(line: String) -> GPSFix? {
    if line.hasPrefix("#") { return nil }
    do throws(NMEAError) {
      let sentence = try NMEASentence(line: line)
      guard let report = try NMEAReport(sentence) else {
        ignoredSentences += 1
        return nil
      }
      return assembler.add(report)
    } catch {
      if case .malformedField = error { malformedSentences += 1 } else { rejectedLines += 1 }
      lastRejection = error
      return nil
    }
  }

  /// Ends the current epoch (the port closed, or the log ended).
  public mutating func finish() -> GPSFix? { assembler.finish() }
}
