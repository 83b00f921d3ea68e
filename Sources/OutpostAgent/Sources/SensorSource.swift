import Glibc
import Logging
import OutpostCore
import OutpostSensors
import ServiceLifecycle

/// A sensor read from sysfs (hwmon, IIO, 1-Wire, or a plain value file) every period: crossing
/// its threshold raises an alarm record (fire, flood, low battery), coming back past the
/// hysteresis band clears it, and a reading is recorded every `report_every_s`.
///
/// A file that vanishes (a 1-Wire sensor unplugged, a driver unloaded) is logged once and read
/// again every period until it is back; the alarm state is kept across the gap.
struct SensorSource: FieldSource {
  let settings: SensorSettings
  let recorder: Recorder
  let logger: Logger

  var name: String { "sensor:\(settings.name)" }

  func run(firstAttempt: @escaping @Sendable () -> Void) async throws {
    await cancelWhenGracefulShutdownIgnoringErrors { [self] in
      var alarm = settings.alarm?.threshold
      var failures = FailureLog()
      var lastReportMs: UInt64?
      var announced = false
      var due = ContinuousClock.now
      while !Task.isCancelled {
        // Polls keep to the period whatever a reading's group commit takes.
        due = max(due.advanced(by: settings.period), ContinuousClock.now)
        do {
          let value = try read()
          await recorder.source(name, .up)
          failures.recovered(source: name, logger: logger, what: "reading")
          if var threshold = alarm, let change = threshold.reading(value),
            let kind = settings.alarm?.kind
          {
            alarm = threshold
            _ = try await recorder.sensorAlarm(
              sensor: settings.name, alarm: kind, milliValue: value, raised: change == .raised)
          } else if let threshold = alarm {
            alarm = threshold
          }
          let now = recorder.clock.sinceBootMs()
          if let every = settings.reportEvery,
            lastReportMs.map({ now - $0 >= UInt64(every.milliseconds) }) ?? true
          {
            lastReportMs = now
            try await recorder.routine(.sensorReading(sensor: settings.name, milliValue: value))
          }
        } catch is CancellationError {
          return
        } catch {
          let reason = "\(error)"
          await recorder.source(name, .retrying(reason: reason))
          failures.failed(reason, source: name, logger: logger)
        }
        if !announced {
          announced = true
          firstAttempt()
        }
        do {
          try await Task.sleep(until: due, clock: .continuous)
        } catch {
          return
        }
      }
    }
  }

  /// The sensor's value now, in milli-units.
  func read() throws -> Int64 {
    let value: Int64
    switch settings.format {
    case .hwmon:
      value = try SysfsReading.hwmon(readSmallFile(settings.path))
    case .iio:
      let base =
        settings.path.hasSuffix("_raw") ? String(settings.path.dropLast(4)) : settings.path
      value = try SysfsReading.iio(
        raw: readSmallFile(settings.path), scale: try? readSmallFile(base + "_scale"),
        offset: try? readSmallFile(base + "_offset"))
    case .w1:
      value = try SysfsReading.w1Slave(readSmallFile(settings.path))
    case .value:
      value = try SysfsReading.hwmon(readSmallFile(settings.path))
    }
    return value / settings.divisor
  }
}

/// The box's own health, recorded every interval: supply voltage and battery where the board
/// has them, uptime, journal fill and link state.
struct HealthSource: FieldSource {
  let settings: HealthSettings
  let recorder: Recorder
  let logger: Logger

  var name: String { "health" }

  /// The first record is written at start-up, before the source reports in, so a box announces
  /// itself (and its first record number is the same on every start).
  func run(firstAttempt: @escaping @Sendable () -> Void) async throws {
    await cancelWhenGracefulShutdownIgnoringErrors { [self] in
      var failures = FailureLog()
      var announced = false
      while !Task.isCancelled {
        do {
          try await recorder.routine(.boxHealth(try await health(failures: &failures)))
        } catch is CancellationError {
          return
        } catch {
          failures.failed("\(error)", source: name, logger: logger)
        }
        if !announced {
          announced = true
          firstAttempt()
        } else {
          // Hourly, the code pages a burst of activity brought in go back.
          CodePages.releaseUnused(logger: logger)
        }
        do {
          try await Task.sleep(for: settings.interval)
        } catch {
          return
        }
      }
    }
  }

  /// The figures now; a supply or battery file that cannot be read is left out (and logged).
  func health(failures: inout FailureLog) async throws -> BoxHealth {
    var supply: UInt32?
    var battery: UInt8?
    if let path = settings.supplyPath {
      do {
        let value = try SysfsReading.hwmon(readSmallFile(path)) / settings.supplyDivisor
        supply = UInt32(clamping: max(0, value))
      } catch {
        failures.failed("supply voltage \(path): \(error)", source: name, logger: logger)
      }
    }
    if let path = settings.batteryPath {
      do {
        battery = UInt8(clamping: max(0, min(100, try SysfsReading.hwmon(readSmallFile(path)))))
      } catch {
        failures.failed("battery \(path): \(error)", source: name, logger: logger)
      }
    }
    // The fill needs no scan of the journal (a fresh status reads all of it, and an alarm's
    // append would wait behind that).
    let (used, capacity) = await recorder.journalWriter.withJournal { ($0.usedBytes, $0.capacity) }
    let fill = capacity > 0 ? UInt16(min(1000, used * 1000 / capacity)) : 0
    return BoxHealth(
      supplyMillivolts: supply, batteryPercent: battery,
      uptimeSeconds: recorder.clock.sinceBootMs() / 1000, journalFillPermille: fill,
      link: try await recorder.status().link)
  }
}
