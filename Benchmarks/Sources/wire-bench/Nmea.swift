import OutpostCore
import WireWorkload

/// A small NMEA 0183 reader for the track benchmark: GGA and RMC sentences of any talker (GP, GN,
/// BD, GL, GA), checksums verified, everything else counted and skipped.
///
/// One epoch (one receiver time) becomes one fix when its RMC says `A` (valid) and its GGA has a
/// fix quality above 0. Latitude, longitude, speed, course and date come from the RMC; altitude,
/// HDOP and satellites from the GGA. The position record is stamped with the fix's UTC time
/// (RMC date + time), so the fix time is not repeated in the position (`fixTimeMs` nil).
struct NmeaTrack {
  var points: [TrackPoint] = []
  /// What the reader saw, for the report.
  var lines = 0
  var comments = 0
  var badChecksum = 0
  var noChecksum = 0
  var malformed = 0
  var otherSentences = 0
  var gga = 0
  var rmc = 0
  var invalidEpochs = 0
  /// Lines that carried leading or trailing white space around a valid sentence.
  var trimmed = 0

  /// Parses the whole content of a log.
  init(bytes: [UInt8]) {
    var pendingGGA: Gga?
    var pendingRMC: Rmc?
    var epochTime: Substring?
    // Ends the current epoch: a fix when it has a valid RMC and GGA of the same time.
    func flush(_ track: inout NmeaTrack) {
      defer {
        pendingGGA = nil
        pendingRMC = nil
        epochTime = nil
      }
      guard epochTime != nil else { return }
      guard let rmc = pendingRMC, let gga = pendingGGA, rmc.valid, gga.quality > 0,
        let point = Self.point(rmc: rmc, gga: gga)
      else {
        track.invalidEpochs += 1
        return
      }
      track.points.append(point)
    }
    // Lines are split on the bytes: as Characters, "\r\n" is one grapheme and would not split.
    var rawLines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    if rawLines.last?.isEmpty == true { rawLines.removeLast() }  // the final newline
    for rawLine in rawLines {
      lines += 1
      var line = rawLine[...]
      if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
      let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
      let content = line.drop(while: blank).reversed().drop(while: blank).reversed()
      if content.isEmpty { continue }
      let sentence = Substring(String(decoding: content, as: UTF8.self))
      if sentence.first == "#" {
        comments += 1
        continue
      }
      guard let fields = Self.verified(sentence) else {
        if sentence.contains("*") { badChecksum += 1 } else { noChecksum += 1 }
        continue
      }
      if content.count != line.count { trimmed += 1 }
      let address = fields[0]
      guard address.count == 5, !address.hasPrefix("P") else {
        otherSentences += 1
        continue
      }
      switch address.suffix(3) {
      case "GGA":
        guard let gga = Gga(fields) else {
          malformed += 1
          continue
        }
        self.gga += 1
        if let time = epochTime, time != gga.time || pendingGGA != nil { flush(&self) }
        epochTime = gga.time
        pendingGGA = gga
      case "RMC":
        guard let rmc = Rmc(fields) else {
          malformed += 1
          continue
        }
        self.rmc += 1
        if let time = epochTime, time != rmc.time || pendingRMC != nil { flush(&self) }
        epochTime = rmc.time
        pendingRMC = rmc
      default:
        otherSentences += 1
        continue
      }
      if pendingGGA != nil, pendingRMC != nil { flush(&self) }
    }
    flush(&self)
  }

  /// The fields of `sentence` (`$` … `*hh`) when its checksum is right: the XOR of every
  /// character between `$` and `*`, as two hex digits.
  static func verified(_ sentence: Substring) -> [Substring]? {
    let bytes = Array(sentence.utf8)
    guard bytes.count >= 4, bytes[0] == UInt8(ascii: "$"),
      let star = bytes.lastIndex(of: UInt8(ascii: "*")), star == bytes.count - 3,
      let high = hexValue(bytes[star + 1]), let low = hexValue(bytes[star + 2])
    else { return nil }
    var sum: UInt8 = 0
    for byte in bytes[1..<star] {
      guard byte >= 0x20, byte < 0x7F else { return nil }
      sum ^= byte
    }
    guard sum == high << 4 | low else { return nil }
    let body = sentence.dropFirst().prefix(star - 1)
    return body.split(separator: ",", omittingEmptySubsequences: false)
  }

  private static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    default: nil
    }
  }

  private static func point(rmc: Rmc, gga: Gga) -> TrackPoint? {
    guard let date = rmc.date, let timeOfDay = parseTime(rmc.time) else { return nil }
    var position = Position(latitudeE7: rmc.latitudeE7, longitudeE7: rmc.longitudeE7)
    position.altitudeDm = gga.altitudeDm
    position.speedCmPerS = rmc.speedCmPerS
    position.headingCdeg = rmc.courseCdeg
    position.hdopCenti = gga.hdopCenti
    position.satellites = gga.satellites
    let days = CivilTime.days(year: date.year, month: date.month, day: date.day)
    return TrackPoint(timeMs: Int64(days) * 86_400_000 + timeOfDay, position: position)
  }

  /// `hhmmss[.sss]` → ms since midnight.
  static func parseTime(_ field: Substring) -> Int64? {
    let digits = Array(field.utf8)
    guard digits.count >= 6, let hh = number(digits[0..<2]), let mm = number(digits[2..<4]),
      let whole = FixedPoint(field.dropFirst(4)), whole.mantissa >= 0, hh < 24, mm < 60
    else { return nil }
    let ms = whole.scaled(numerator: 1000, denominator: 1)
    guard ms < 61_000 else { return nil }
    return Int64(hh * 3600 + mm * 60) * 1000 + ms
  }

  static func number(_ digits: ArraySlice<UInt8>) -> Int? {
    var value = 0
    for digit in digits {
      guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
      value = value * 10 + Int(digit - UInt8(ascii: "0"))
    }
    return digits.isEmpty ? nil : value
  }

  /// `ddmm.mmmm` (latitude, 2 degree digits) or `dddmm.mmmm` (longitude, 3) and a hemisphere
  /// → 1e-7 degrees, rounded to nearest, in integers throughout.
  static func coordinate(
    _ field: Substring, hemisphere: Substring, degreeDigits: Int, positive: Character,
    negative: Character
  ) -> Int32? {
    guard field.count > degreeDigits + 2,
      let degrees = number(Array(field.utf8).prefix(degreeDigits)[...]),
      let minutes = FixedPoint(field.dropFirst(degreeDigits)), minutes.mantissa >= 0
    else { return nil }
    let minuteE7 = minutes.scaled(numerator: 10_000_000, denominator: 60)
    guard minuteE7 < 10_000_000 else { return nil }
    let value = Int64(degrees) * 10_000_000 + minuteE7
    guard value <= Int64(degreeDigits == 2 ? 90 : 180) * 10_000_000 else { return nil }
    switch hemisphere {
    case Substring(String(positive)): return Int32(value)
    case Substring(String(negative)): return Int32(-value)
    default: return nil
    }
  }
}

/// A GGA sentence: time, position, fix quality, satellites, HDOP, altitude.
struct Gga {
  var time: Substring
  var quality: Int
  var satellites: UInt8?
  var hdopCenti: UInt16?
  var altitudeDm: Int32?

  init?(_ fields: [Substring]) {
    // $xxGGA,time,lat,N,lon,E,quality,sats,hdop,alt,M,sep,M,age,station[,...]
    guard fields.count >= 15, let quality = Int(fields[6]) else { return nil }
    time = fields[1]
    self.quality = quality
    satellites = UInt8(fields[7])
    hdopCenti = FixedPoint(fields[8]).flatMap {
      UInt16(exactly: $0.scaled(numerator: 100, denominator: 1))
    }
    if fields[10] == "M" || fields[10].isEmpty {
      altitudeDm = FixedPoint(fields[9]).flatMap {
        Int32(exactly: $0.scaled(numerator: 10, denominator: 1))
      }
    }
  }
}

/// An RMC sentence: time, status, position, speed, course, date.
struct Rmc {
  var time: Substring
  var valid: Bool
  var latitudeE7: Int32 = 0
  var longitudeE7: Int32 = 0
  var speedCmPerS: UInt32?
  var courseCdeg: UInt16?
  var date: (year: Int, month: Int, day: Int)?

  init?(_ fields: [Substring]) {
    // $xxRMC,time,status,lat,N,lon,E,knots,course,ddmmyy,magvar,E[,mode[,navstatus]]
    guard fields.count >= 12 else { return nil }
    time = fields[1]
    valid = fields[2] == "A"
    let dateDigits = Array(fields[9].utf8)
    if dateDigits.count == 6, let day = NmeaTrack.number(dateDigits[0..<2]),
      let month = NmeaTrack.number(dateDigits[2..<4]), let yy = NmeaTrack.number(dateDigits[4..<6]),
      (1...12).contains(month), (1...31).contains(day)
    {
      date = (yy < 80 ? 2000 + yy : 1900 + yy, month, day)
    }
    guard valid else { return }
    guard
      let latitude = NmeaTrack.coordinate(
        fields[3], hemisphere: fields[4], degreeDigits: 2, positive: "N", negative: "S"),
      let longitude = NmeaTrack.coordinate(
        fields[5], hemisphere: fields[6], degreeDigits: 3, positive: "E", negative: "W")
    else { return nil }
    latitudeE7 = latitude
    longitudeE7 = longitude
    // 1 knot = 1852 m / 3600 s = 185200 cm / 3600 s.
    speedCmPerS = FixedPoint(fields[7]).flatMap {
      UInt32(exactly: $0.scaled(numerator: 185_200, denominator: 3600))
    }
    courseCdeg = FixedPoint(fields[8]).flatMap {
      UInt16(exactly: $0.scaled(numerator: 100, denominator: 1) % 36_000)
    }
  }
}

/// A decimal number as written in NMEA (`-12.345`): an integer mantissa and a count of decimals,
/// so that conversions round once, exactly.
struct FixedPoint {
  var mantissa: Int64
  var decimals: Int

  init?(_ text: Substring) {
    var digits = text.utf8[...]
    var negative = false
    if digits.first == UInt8(ascii: "-") {
      negative = true
      digits = digits.dropFirst()
    }
    var mantissa: Int64 = 0
    var decimals = 0
    var seenPoint = false
    var seenDigit = false
    for byte in digits {
      if byte == UInt8(ascii: ".") {
        guard !seenPoint else { return nil }
        seenPoint = true
        continue
      }
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), mantissa < 100_000_000_000
      else { return nil }
      mantissa = mantissa * 10 + Int64(byte - UInt8(ascii: "0"))
      seenDigit = true
      if seenPoint { decimals += 1 }
    }
    guard seenDigit, decimals <= 9 else { return nil }
    self.mantissa = negative ? -mantissa : mantissa
    self.decimals = decimals
  }

  /// `round(value × numerator / denominator)`, half away from zero.
  func scaled(numerator: Int64, denominator: Int64) -> Int64 {
    var divisor = denominator
    for _ in 0..<decimals { divisor *= 10 }
    let product = mantissa * numerator
    let half = divisor / 2
    return product >= 0 ? (product + half) / divisor : -((-product + half) / divisor)
  }
}
