/// The members of one gpsd report, read into integer units or a ``GPSDReportError`` naming the
/// class, the field and the value.
///
/// Numbers are scaled from their decimal text with ``FixedDecimal``, the same exact arithmetic
/// the NMEA path uses, rather than through `Double`. gpsd prints coordinates with nine decimals;
/// `31.247950000 × 1e7` in binary floating point is not always the integer the digits say, and
/// a value that lands a hair below a half-way point rounds the other way. Exact decimals give
/// the E7 value the NMEA path computes from the receiver's `ddmm.mmmm` whenever gpsd's nine
/// decimals carry it, and no floating point stands between the JSON and the record.
struct GPSDFields {
  /// The report's class, for error messages.
  let reportClass: String
  let members: [String: GPSDJSON]

  func invalid(_ key: String) -> GPSDReportError {
    .invalidField(class: reportClass, field: key, value: members[key]?.shortText ?? "")
  }

  /// The member `key`; nil when it is absent or `null` (gpsd leaves out what it does not know).
  func member(_ key: String) -> GPSDJSON? {
    guard let value = members[key], value != .null else { return nil }
    return value
  }

  func string(_ key: String) throws(GPSDReportError) -> String? {
    guard let value = member(key) else { return nil }
    guard case .string(let text) = value else { throw invalid(key) }
    return text
  }

  func bool(_ key: String) throws(GPSDReportError) -> Bool? {
    guard let value = member(key) else { return nil }
    guard case .bool(let flag) = value else { throw invalid(key) }
    return flag
  }

  /// An integer member in `range`.
  func integer(_ key: String, in range: ClosedRange<Int>) throws(GPSDReportError) -> Int? {
    guard let value = member(key) else { return nil }
    guard case .number(let text) = value, let number = Int(text), range.contains(number) else {
      throw invalid(key)
    }
    return number
  }

  /// A decimal member times `factor`, rounded half away from zero, when its magnitude is below
  /// `limit` and, if `nonNegative`, it is not negative.
  func scaled(_ key: String, by factor: Int64, below limit: Int64, nonNegative: Bool = false)
    throws(GPSDReportError) -> Int64?
  {
    guard let value = member(key) else { return nil }
    guard case .number(let text) = value, let number = exactDecimal(text),
      number.magnitude(below: limit), !nonNegative || number.value >= 0
    else { throw invalid(key) }
    return number.scaled(by: factor, over: 1)
  }

  /// An ISO-8601 UTC time member (`2024-05-01T03:12:45.000Z`) in ms since the Unix epoch.
  func time(_ key: String) throws(GPSDReportError) -> Int64? {
    guard let value = member(key) else { return nil }
    guard case .string(let text) = value, let ms = isoTimeMs(text) else { throw invalid(key) }
    return ms
  }
}

/// A JSON number as a ``FixedDecimal``: the exponent, if any, is applied to the digits as text,
/// and fractional digits past the ninth are dropped (as ``FixedDecimal`` does itself, and
/// without moving a value across a rounding boundary at any coarser unit). Nil when the number
/// has more than 18 significant digits or an exponent beyond ±40, none of which gpsd writes.
func exactDecimal(_ text: String) -> FixedDecimal? {
  var bytes = Array(text.utf8)[...]
  let negative = bytes.first == UInt8(ascii: "-")
  if negative { bytes = bytes.dropFirst() }
  var exponent = 0
  if let e = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
    guard let value = Int(String(decoding: bytes[(e + 1)...], as: UTF8.self)), abs(value) <= 40
    else { return nil }
    exponent = value
    bytes = bytes[..<e]
  }
  let dot = bytes.firstIndex(of: UInt8(ascii: ".")) ?? bytes.endIndex
  let digits = Array(bytes[..<dot]) + Array(bytes[(dot == bytes.endIndex ? dot : dot + 1)...])
  // The decimal point sits after `point` digits; an exponent moves it.
  let point = (dot - bytes.startIndex) + exponent
  var integerPart: [UInt8]
  var fractionPart: [UInt8]
  if point <= 0 {
    integerPart = []
    fractionPart = Array(repeating: UInt8(ascii: "0"), count: -point) + digits
  } else if point >= digits.count {
    integerPart = digits + Array(repeating: UInt8(ascii: "0"), count: point - digits.count)
    fractionPart = []
  } else {
    integerPart = Array(digits[..<point])
    fractionPart = Array(digits[point...])
  }
  while integerPart.count > 1, integerPart.first == UInt8(ascii: "0") { integerPart.removeFirst() }
  if integerPart.isEmpty { integerPart = [UInt8(ascii: "0")] }
  if fractionPart.count > 9 { fractionPart.removeLast(fractionPart.count - 9) }
  var plain = negative ? [UInt8(ascii: "-")] : []
  plain += integerPart
  if !fractionPart.isEmpty { plain += [UInt8(ascii: ".")] + fractionPart }
  return FixedDecimal(String(decoding: plain, as: UTF8.self))
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` in ms since the Unix epoch, the fraction rounded to the
/// nearest millisecond; nil for anything else (gpsd writes UTC with a `Z`, always).
func isoTimeMs(_ text: String) -> Int64? {
  let bytes = Array(text.utf8)
  guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z"),
    bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
    bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
    let year = decimalDigits(bytes[0..<4]), let month = decimalDigits(bytes[5..<7]),
    let day = decimalDigits(bytes[8..<10]), let hours = decimalDigits(bytes[11..<13]),
    let minutes = decimalDigits(bytes[14..<16]),
    decimalDigits(bytes[17..<19]) != nil,
    let seconds = FixedDecimal(String(decoding: bytes[17..<(bytes.count - 1)], as: UTF8.self)),
    seconds.value >= 0, seconds.magnitude(below: 61),  // 60.x in a leap second
    (1...12).contains(month), (1...daysInMonth(year: year, month: month)).contains(day),
    hours < 24, minutes < 60
  else { return nil }
  let days = daysFromCivil(year: year, month: month, day: day)
  let secondsMs = seconds.scaled(by: 1000, over: 1)
  return days * 86_400_000 + Int64(hours * 3600 + minutes * 60) * 1000 + secondsMs
}

/// The digits as a number; nil if any byte is not a digit.
private func decimalDigits(_ bytes: ArraySlice<UInt8>) -> Int? {
  var value = 0
  for byte in bytes {
    guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
    value = value * 10 + Int(byte - UInt8(ascii: "0"))
  }
  return value
}

private func daysInMonth(year: Int, month: Int) -> Int {
  switch month {
  case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
  case 4, 6, 9, 11: 30
  default: 31
  }
}
