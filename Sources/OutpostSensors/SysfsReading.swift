/// Reading values out of the files the kernel's sensor drivers expose, in milli-units (the unit
/// of ``OutpostCore/RecordBody/sensorReading(sensor:milliValue:)``).
public enum SysfsReading {
  /// A hwmon attribute (`/sys/class/hwmon/hwmonN/temp1_input`, `in0_input`, `curr1_input` …):
  /// one decimal integer, already in milli-units (m°C, mV, mA), then a newline.
  ///
  /// - Throws: ``SensorReadError`` when the text is not one integer.
  public static func hwmon(_ text: String) throws(SensorReadError) -> Int64 {
    let trimmed = text.trimmingWhitespace
    guard let value = Int64(trimmed) else { throw .notANumber(trimmed) }
    return value
  }

  /// An IIO channel (`/sys/bus/iio/devices/iio:deviceN/in_voltage0_raw` with `…_scale` and
  /// an optional `…_offset`): by the IIO ABI the value is `(raw + offset) × scale` in the
  /// channel's base unit, which for the channels a box uses (voltage, temperature, current)
  /// already is a milli-unit (mV, m°C, mA). The result is rounded to a whole milli-unit.
  ///
  /// - Throws: ``SensorReadError`` when a file does not hold a number.
  public static func iio(raw: String, scale: String?, offset: String?) throws(SensorReadError)
    -> Int64
  {
    let rawText = raw.trimmingWhitespace
    guard let rawValue = Double(rawText), rawValue.isFinite else {
      throw .notANumber(rawText)
    }
    var scaleValue = 1.0
    if let scale {
      let text = scale.trimmingWhitespace
      guard let value = Double(text), value.isFinite else { throw .notANumber(text) }
      scaleValue = value
    }
    var offsetValue = 0.0
    if let offset {
      let text = offset.trimmingWhitespace
      guard let value = Double(text), value.isFinite else { throw .notANumber(text) }
      offsetValue = value
    }
    let result = ((rawValue + offsetValue) * scaleValue).rounded()
    guard let value = Int64(exactly: result) else { throw .outOfRange(rawText) }
    return value
  }

  /// A 1-Wire temperature sensor's `w1_slave` file (DS18B20 and kin):
  ///
  /// ```
  /// 72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
  /// 72 01 4b 46 7f ff 0e 10 57 t=23125
  /// ```
  ///
  /// The first line must end in `YES` (the bus read passed its CRC); the value after `t=` is in
  /// milli-degrees Celsius.
  ///
  /// - Throws: ``SensorReadError/crcFailed`` when the read failed its CRC (read again), or
  ///   ``SensorReadError/malformed(_:)``.
  public static func w1Slave(_ text: String) throws(SensorReadError) -> Int64 {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
    guard lines.count >= 2 else { throw .malformed("expected two lines, found \(lines.count)") }
    guard lines[0].trimmingWhitespace.hasSuffix("YES") else { throw .crcFailed }
    guard let marker = lines[1].lastIndex(of: "="), lines[1][..<marker].hasSuffix("t") else {
      throw .malformed("no t= on the second line")
    }
    let digits = lines[1][lines[1].index(after: marker)...].trimmingWhitespace
    guard let value = Int64(digits) else { throw .notANumber(digits) }
    // 85000 is the DS18B20's power-on value: the conversion never ran.
    guard value != 85_000 else { throw .powerOnValue }
    return value
  }
}

/// Why a sensor file did not give a value.
public enum SensorReadError: Error, Sendable, Hashable, CustomStringConvertible {
  case notANumber(String)
  case outOfRange(String)
  case malformed(String)
  /// A 1-Wire read whose CRC did not match.
  case crcFailed
  /// A DS18B20 that reports 85 °C, its power-on value: no conversion happened.
  case powerOnValue

  public var description: String {
    switch self {
    case .notANumber(let text): "\"\(text)\" is not a number"
    case .outOfRange(let text): "\"\(text)\" is out of range"
    case .malformed(let what): "malformed sensor file: \(what)"
    case .crcFailed: "the 1-Wire read failed its CRC check"
    case .powerOnValue: "the sensor reports its power-on value (85 °C): no conversion happened"
    }
  }
}

extension StringProtocol {
  fileprivate var trimmingWhitespace: String {
    let scalars = unicodeScalars.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
    var result = String(String.UnicodeScalarView(scalars))
    while let last = result.unicodeScalars.last,
      last == " " || last == "\n" || last == "\t" || last == "\r"
    {
      result.unicodeScalars.removeLast()
    }
    return result
  }
}
