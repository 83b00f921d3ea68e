import OutpostSensors
import Testing

@Suite("Sensors read from sysfs files")
struct SensorTests {
  @Test("hwmon, IIO and 1-Wire files read as the kernel writes them (text laid out as in sysfs)")
  func sysfsFormats() throws {
    #expect(try SysfsReading.hwmon("42500\n") == 42_500)
    #expect(try SysfsReading.hwmon("-3250\n") == -3_250)
    #expect(throws: SensorReadError.notANumber("")) { try SysfsReading.hwmon("\n") }
    // An ADC channel: raw 2048 × 0.805664062 mV = 1650 mV.
    #expect(try SysfsReading.iio(raw: "2048\n", scale: "0.805664062\n", offset: nil) == 1650)
    // A temperature channel with an offset: (raw + offset) × scale in m°C.
    #expect(try SysfsReading.iio(raw: "1000\n", scale: "10.0\n", offset: "-273\n") == 7270)
    #expect(throws: SensorReadError.notANumber("x")) {
      try SysfsReading.iio(raw: "x\n", scale: nil, offset: nil)
    }
    let good = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
    #expect(try SysfsReading.w1Slave(good) == 23_125)
    let negative = "5e ff 55 00 7f ff 0c 10 21 : crc=21 YES\n5e ff 55 00 7f ff 0c 10 21 t=-10125\n"
    #expect(try SysfsReading.w1Slave(negative) == -10_125)
    let badCRC = "72 01 4b 46 7f ff 0e 10 57 : crc=12 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
    #expect(throws: SensorReadError.crcFailed) { try SysfsReading.w1Slave(badCRC) }
    let powerOn = "50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n50 05 4b 46 7f ff 0c 10 1c t=85000\n"
    #expect(throws: SensorReadError.powerOnValue) { try SysfsReading.w1Slave(powerOn) }
    #expect(throws: SensorReadError.self) { try SysfsReading.w1Slave("") }
  }

  @Test("Thresholds with hysteresis raise once and clear once around a wobbling value")
  func hysteresis() throws {
    var fire = try #require(ThresholdAlarm(direction: .above, raiseAt: 60_000, clearAt: 50_000))
    let readings: [Int64] = [
      20_000, 59_999, 60_000, 61_000, 59_000, 60_500, 51_000, 50_000, 49_000, 60_000,
    ]
    let changes = readings.map { fire.reading($0) }
    #expect(changes == [nil, nil, .raised, nil, nil, nil, nil, .cleared, nil, .raised])
    var battery = try #require(ThresholdAlarm(direction: .below, raiseAt: 11_500, clearAt: 12_200))
    #expect(
      [12_600, 11_600, 11_500, 11_900, 12_199, 12_200].map { battery.reading($0) } == [
        nil, nil, .raised, nil, nil, .cleared,
      ])
    #expect(ThresholdAlarm(direction: .above, raiseAt: 50, clearAt: 60) == nil)
    #expect(ThresholdAlarm(direction: .below, raiseAt: 50, clearAt: 40) == nil)
  }
}
