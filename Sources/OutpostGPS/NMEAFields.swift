/// Decimal numbers of NMEA fields, read as exact integers: no floating point between the
/// receiver's digits and the record's integer units.
struct FixedDecimal: Hashable {
  /// The digits as an integer: `value / 10^scale` is the number.
  var value: Int64
  var scale: Int

  /// Parses `[-]digits[.digits]`; at most 9 fractional digits are kept (the rest truncated),
  /// at most 18 digits in all.
  init?(_ text: String) {
    var negative = false
    var integer: Int64 = 0
    var fraction: Int64 = 0
    var scale = 0
    var seenDot = false
    var digits = 0
    for (index, char) in text.utf8.enumerated() {
      switch char {
      case UInt8(ascii: "-") where index == 0: negative = true
      case UInt8(ascii: "."):
        guard !seenDot else { return nil }
        seenDot = true
      case UInt8(ascii: "0")...UInt8(ascii: "9"):
        digits += 1
        guard digits <= 18 else { return nil }
        let digit = Int64(char - UInt8(ascii: "0"))
        if seenDot {
          if scale < 9 {
            fraction = fraction * 10 + digit
            scale += 1
          }
        } else {
          integer = integer * 10 + digit
        }
      default: return nil
      }
    }
    guard digits > 0 else { return nil }
    var combined = integer
    for _ in 0..<scale { combined *= 10 }
    combined += fraction
    value = negative ? -combined : combined
    self.scale = scale
  }

  /// Whether the number's magnitude is below `limit` (an integer), so that scaling it cannot
  /// overflow.
  func magnitude(below limit: Int64) -> Bool {
    var bound = limit
    for _ in 0..<scale {
      let (next, overflow) = bound.multipliedReportingOverflow(by: 10)
      if overflow { return true }
      bound = next
    }
    return abs(value) < bound
  }

  /// The number times `numerator / denominator`, rounded half away from zero.
  ///
  /// - Precondition: the result fits 64 bits (check ``magnitude(below:)`` first).
  func scaled(by numerator: Int64, over denominator: Int64) -> Int64 {
    var divisor = denominator
    for _ in 0..<scale { divisor *= 10 }
    let product = value.multipliedFullWidth(by: numerator)
    let magnitude = value < 0 ? -1 : 1
    // |value × numerator| fits 128 bits; add half the divisor towards the sign, then divide.
    let (quotient, remainder) = divisor.dividingFullWidth(product)
    if abs(remainder) * 2 >= divisor { return quotient + Int64(magnitude) }
    return quotient
  }
}

/// A latitude (`ddmm.mmmm`, `N`/`S`) or longitude (`dddmm.mmmm`, `E`/`W`) in 1e-7 degrees.
func coordinateE7(_ text: String?, _ hemisphere: String?, degreeDigits: Int) -> Int32?? {
  guard let text, let hemisphere else { return .some(nil) }
  let bytes = Array(text.utf8)
  guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")) ?? Optional(bytes.count),
    dot == degreeDigits + 2,
    let degrees = Int64(String(decoding: bytes[0..<degreeDigits], as: UTF8.self)),
    let minutes = FixedDecimal(String(decoding: bytes[degreeDigits...], as: UTF8.self)),
    minutes.value >= 0, minutes.magnitude(below: 60)
  else { return nil }
  // degrees × 1e7 + minutes × 1e7 / 60, rounded.
  let minutesE7 = minutes.scaled(by: 10_000_000, over: 60)
  var e7 = degrees * 10_000_000 + minutesE7
  switch hemisphere {
  case "N", "E": break
  case "S", "W": e7 = -e7
  default: return nil
  }
  let limit: Int64 = degreeDigits == 2 ? 900_000_000 : 1_800_000_000
  guard abs(e7) <= limit else { return nil }
  return .some(Int32(e7))
}

/// `hhmmss[.sss]` as milliseconds since midnight.
func timeOfDayMs(_ text: String?) -> Int64?? {
  guard let text else { return .some(nil) }
  let bytes = Array(text.utf8)
  guard bytes.count >= 6,
    let hours = Int64(String(decoding: bytes[0..<2], as: UTF8.self)),
    let minutes = Int64(String(decoding: bytes[2..<4], as: UTF8.self)),
    let seconds = FixedDecimal(String(decoding: bytes[4...], as: UTF8.self)),
    hours < 24, minutes < 60, seconds.value >= 0, seconds.magnitude(below: 61)  // leap: 60.x
  else { return nil }
  let ms = seconds.scaled(by: 1000, over: 1)
  return .some((hours * 3600 + minutes * 60) * 1000 + ms)
}

/// `ddmmyy` as days since 1970-01-01 (years 80–99 are 1980–1999, 00–79 are 2000–2079).
func dateDays(_ text: String?) -> Int64?? {
  guard let text else { return .some(nil) }
  guard text.utf8.count == 6, let number = Int(text), number >= 0 else { return nil }
  let day = number / 10_000
  let month = number / 100 % 100
  let yy = number % 100
  guard (1...12).contains(month), (1...31).contains(day) else { return nil }
  return .some(daysFromCivil(year: yy < 80 ? 2000 + yy : 1900 + yy, month: month, day: day))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
  let y = month <= 2 ? year - 1 : year
  let era = (y >= 0 ? y : y - 399) / 400
  let yearOfEra = y - era * 400
  let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
  let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
  return Int64(era * 146_097 + dayOfEra - 719_468)
}
