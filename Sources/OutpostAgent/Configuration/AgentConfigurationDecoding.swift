import OutpostConfig
import OutpostCore
import OutpostEnrollment
import OutpostGPIO
import OutpostHooks
import OutpostInput
import OutpostSensors

extension AgentConfiguration {
  /// Reads a configuration document. Absent keys keep their defaults; unknown keys, wrong types
  /// and values out of range are errors.
  ///
  /// - Throws: ``ConfigError`` naming the key, its line and what would be valid (the file name
  ///   is left empty for the caller to fill in).
  public static func parse(_ text: String) throws(ConfigError) -> AgentConfiguration {
    let document: TOMLTable
    do {
      document = try TOML.parse(text)
    } catch {
      throw ConfigError(error)
    }
    let root = ConfigTable(document)
    var configuration = AgentConfiguration()
    if let agent = try root.optionalTable("agent") {
      configuration.device = try agent.string("device", default: configuration.device)
      guard configuration.device.utf8.count <= 64,
        configuration.device.allSatisfy({ $0.isASCII && !$0.isWhitespace })
      else { throw agent.error("device", "must be at most 64 ASCII characters without spaces") }
      configuration.stateDirectory = try agent.string(
        "state_dir", default: configuration.stateDirectory)
      configuration.runDirectory = try agent.string("run_dir", default: configuration.runDirectory)
      for key in ["state_dir", "run_dir"] where agent.has(key) {
        let path = key == "state_dir" ? configuration.stateDirectory : configuration.runDirectory
        guard path.hasPrefix("/") else { throw agent.error(key, "must be an absolute path") }
      }
      try agent.finish()
    }
    if let journal = try root.optionalTable("journal") {
      configuration.journal.path = try journal.string("path", default: "journal")
      configuration.journal.size = UInt64(
        try journal.integer(
          "size", default: Int64(configuration.journal.size), in: (1 << 20)...(1 << 40),
          unit: "bytes (1 MiB to 1 TiB)"))
      configuration.journal.groupCommit = .milliseconds(
        try journal.integer("group_commit_ms", default: 1000, in: 1...60_000, unit: "ms"))
      try journal.finish()
    }
    if let alarm = try root.optionalTable("alarm") {
      configuration.alarm.joinWindow = .seconds(
        try alarm.integer("join_window_s", default: 600, in: 0...86_400, unit: "seconds"))
      configuration.alarm.recordInterval = .seconds(
        try alarm.integer("record_interval_s", default: 5, in: 0...600, unit: "seconds"))
      try alarm.finish()
    }
    if let control = try root.optionalTable("control") {
      configuration.control.socket = try control.string("socket", default: "control.sock")
      if control.has("group") {
        let group = try control.optionalString("group", allowEmpty: true)
        configuration.control.group = group?.isEmpty == true ? nil : group
      }
      try control.finish()
    }
    configuration.inputDevices = try root.tables("input").map(InputDeviceSettings.init)
    configuration.gpioButtons = try root.tables("gpio").map(GPIOButtonSettings.init)
    configuration.cardReaders = try root.tables("card_reader").map(CardReaderSettings.init)
    if let gps = try root.optionalTable("gps") {
      configuration.gps = try GPSSettings.read(gps)
    }
    if let positions = try root.optionalTable("positions") {
      configuration.positions = try PositionSettings(positions)
    }
    configuration.sensors = try root.tables("sensor").map(SensorSettings.init)
    var names: Set<String> = []
    for (index, sensor) in configuration.sensors.enumerated()
    where !names.insert(sensor.name).inserted {
      throw ConfigError(
        key: "sensor[\(index + 1)].name", line: 0,
        message: "\"\(sensor.name)\" names two sensors; names must be unique")
    }
    if let health = try root.optionalTable("health") {
      configuration.health = try HealthSettings(health)
    }
    configuration.feedback = try root.tables("feedback").map(FeedbackSettings.init)
    if let uplink = try root.optionalTable("uplink") {
      if let stations = try uplink.optionalStrings("stations") {
        for station in stations where (StationAddress(station)?.port ?? 0) == 0 {
          throw uplink.error("stations", "\"\(station)\" is not HOST:PORT (port 1 to 65535)")
        }
        configuration.uplink.stations = stations
      }
      configuration.uplink.enrollment = try uplink.string("enrollment", default: "enrollment.json")
      configuration.uplink.backoffMax = .seconds(
        try uplink.integer("backoff_max_s", default: 300, in: 1...3600, unit: "seconds"))
      configuration.uplink.pongTimeout = .seconds(
        try uplink.integer("pong_timeout_s", default: 20, in: 2...600, unit: "seconds"))
      configuration.uplink.backlogSharePercent = Int(
        try uplink.integer("backlog_share_percent", default: 50, in: 5...100, unit: "percent"))
      try uplink.finish()
    }
    try root.finish()
    return configuration
  }
}

extension ConfigTable {
  fileprivate func role(_ key: String) throws(ConfigError) -> ButtonRole? {
    guard let text = try optionalString(key) else { return nil }
    guard let role = ButtonRole(text) else {
      throw error(key, "\"\(text)\" is not a button role; valid: \(ButtonRole.validSpellings)")
    }
    return role
  }

  fileprivate func keyRoles(_ key: String) throws(ConfigError) -> [UInt16: ButtonRole] {
    guard let table = try optionalTable(key) else { return [:] }
    var roles: [UInt16: ButtonRole] = [:]
    for entry in table.table.entries {
      guard let code = KeyCode.code(named: entry.key) else {
        throw ConfigError(
          key: table.name(entry.key), line: entry.line,
          message:
            "unknown key name; use a name from <linux/input-event-codes.h> such as KEY_F1, "
            + "BTN_0 or KEY_HELP, or the decimal code (evtest shows both)")
      }
      guard let role = try table.role(entry.key) else { continue }
      roles[code] = role
    }
    try table.finish()
    return roles
  }

  fileprivate func timing() throws(ConfigError) -> ButtonTiming {
    var timing = ButtonTiming()
    timing.debounceMs = try integer("debounce_ms", default: 30, in: 0...1000, unit: "ms")
    timing.longPressMs = try integer("long_press_ms", default: 2000, in: 100...60_000, unit: "ms")
    guard timing.longPressMs > timing.debounceMs else {
      throw error("long_press_ms", "must be longer than debounce_ms (\(timing.debounceMs))")
    }
    return timing
  }

  fileprivate func seconds(_ key: String, default fallback: Int64, in range: ClosedRange<Int64>)
    throws(ConfigError) -> Duration
  {
    .seconds(try integer(key, default: fallback, in: range, unit: "seconds"))
  }
}

extension InputDeviceSettings {
  init(_ table: ConfigTable) throws(ConfigError) {
    device = try table.requiredString("device", "the event device, e.g. /dev/input/by-id/…")
    keys = try table.keyRoles("keys")
    longPressKeys = try table.keyRoles("long_press")
    timing = try table.timing()
    if keys.isEmpty && longPressKeys.isEmpty {
      throw table.error("keys", "no key is mapped; add keys = { KEY_F1 = \"help\" } or similar")
    }
    try table.finish()
  }
}

extension GPIOButtonSettings {
  init(_ table: ConfigTable) throws(ConfigError) {
    chip = try table.requiredString("chip", "the GPIO chip, e.g. /dev/gpiochip0")
    guard let offset = try table.optionalInteger("line", in: 0...4095) else {
      throw table.error("line", "missing: the line offset on the chip (gpioinfo lists them)")
    }
    line = UInt32(offset)
    role = try table.role("action")
    longRole = try table.role("long_action")
    if role == nil && longRole == nil {
      throw table.error("action", "missing: what the button does (\(ButtonRole.validSpellings))")
    }
    activeLow = try table.bool("active_low", default: true)
    bias = try table.choice(
      "bias", GPIOBias.allCases.map { ($0.rawValue, $0) }, default: .pullUp)
    timing = try table.timing()
    try table.finish()
  }
}

extension CardReaderSettings {
  init(_ table: ConfigTable) throws(ConfigError) {
    device = try table.requiredString("device", "the reader's event device")
    minLength = Int(try table.integer("min_length", default: 4, in: 1...256))
    maxLength = Int(try table.integer("max_length", default: 64, in: 1...256))
    guard maxLength >= minLength else {
      throw table.error("max_length", "must be at least min_length (\(minLength))")
    }
    grab = try table.bool("grab", default: true)
    try table.finish()
  }
}

extension GPSSettings {
  static func read(_ table: ConfigTable) throws(ConfigError) -> GPSSettings? {
    let source = try table.choice(
      "source", [("gpsd", "gpsd"), ("serial", "serial"), ("none", "none")], default: "gpsd")
    let gpsd = try table.string("gpsd", default: "127.0.0.1:2947")
    let serial = try table.optionalString("serial")
    let baud = try table.integer("baud", default: 9600, in: 1200...921_600)
    guard [4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600].contains(baud)
    else { throw table.error("baud", "must be a standard rate such as 4800, 9600 or 115200") }
    try table.finish()
    switch source {
    case "none":
      return nil
    case "serial":
      guard let serial else {
        throw table.error("serial", "missing: the serial port, e.g. /dev/ttyUSB0")
      }
      return .serial(path: serial, baud: Int(baud))
    default:
      guard let colon = gpsd.lastIndex(of: ":"), let port = Int(gpsd[gpsd.index(after: colon)...]),
        (1...65535).contains(port), colon != gpsd.startIndex
      else { throw table.error("gpsd", "must be HOST:PORT, e.g. 127.0.0.1:2947") }
      return .gpsd(host: String(gpsd[..<colon]), port: port)
    }
  }
}

extension PositionSettings {
  init(_ table: ConfigTable) throws(ConfigError) {
    stillInterval = try table.seconds("still_interval_s", default: 3600, in: 10...86_400)
    movingInterval = try table.seconds("moving_interval_s", default: 30, in: 1...3600)
    minDistanceM = Int(try table.integer("min_distance_m", default: 100, in: 1...100_000))
    headingChangeDeg = Int(try table.integer("heading_change_deg", default: 30, in: 1...180))
    movingSpeedKmh = Int(try table.integer("moving_speed_kmh", default: 5, in: 1...500))
    try table.finish()
  }
}

extension SensorSettings {
  init(_ table: ConfigTable) throws(ConfigError) {
    name = try table.requiredString("name", "a short name such as smoke-temp")
    guard name.utf8.count <= 32, name.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
      throw table.error("name", "must be at most 32 ASCII characters without spaces")
    }
    path = try table.requiredString("path", "the sysfs file to read")
    format = try table.choice(
      "format", SensorFormat.allCases.map { ($0.rawValue, $0) }, default: .hwmon)
    divisor = try table.integer("divisor", default: 1, in: 1...1_000_000)
    period = try table.seconds("period_s", default: 60, in: 1...86_400)
    let report = try table.integer("report_every_s", default: 900, in: 0...86_400, unit: "seconds")
    reportEvery = report == 0 ? nil : .seconds(report)
    let alarmName = try table.optionalString("alarm")
    let raise = try table.optionalMilli("raise_at")
    let clear = try table.optionalMilli("clear_at")
    let direction = try table.choice(
      "direction", [("above", ThresholdAlarm.Direction.above), ("below", .below)],
      default: .above)
    try table.finish()
    guard let alarmName else {
      if raise != nil || clear != nil {
        throw table.error("alarm", "missing: raise_at and clear_at need an alarm kind")
      }
      return
    }
    guard let kind = SensorAlarmKind.allCases.first(where: { $0.description == alarmName }) else {
      let valid = SensorAlarmKind.allCases.map { "\"\($0)\"" }.joined(separator: ", ")
      throw table.error("alarm", "\"\(alarmName)\" is not one of \(valid)")
    }
    guard let raise else { throw table.error("raise_at", "missing: the alarm's threshold") }
    guard let clear else {
      throw table.error("clear_at", "missing: where the alarm clears (hysteresis)")
    }
    guard let threshold = ThresholdAlarm(direction: direction, raiseAt: raise, clearAt: clear)
    else {
      let side = direction == .above ? "below" : "above"
      throw table.error("clear_at", "must lie \(side) raise_at for an alarm \(direction)")
    }
    alarm = SensorAlarmSettings(kind: kind, threshold: threshold)
  }
}

extension HealthSettings {
  init(_ table: ConfigTable) throws(ConfigError) {
    interval = try table.seconds("interval_s", default: 3600, in: 60...86_400)
    supplyPath = try table.optionalString("supply")
    supplyDivisor = try table.integer("supply_divisor", default: 1, in: 1...1_000_000)
    batteryPath = try table.optionalString("battery")
    try table.finish()
  }
}

extension FeedbackSettings {
  init(_ table: ConfigTable) throws(ConfigError) {
    guard let momentNames = try table.optionalStrings("on"), !momentNames.isEmpty else {
      throw table.error("on", "missing: when to act, any of \(Self.validMoments)")
    }
    var moments: Set<FeedbackMoment> = []
    for name in momentNames {
      guard let moment = FeedbackMoment(rawValue: name) else {
        throw table.error("on", "\"\(name)\" is not one of \(Self.validMoments)")
      }
      moments.insert(moment)
    }
    self.moments = moments
    let kindNames = try table.optionalStrings("kinds") ?? []
    let validKinds = ["sos", "sos-cancel", "sensor-alarm", "check-in", "report"]
    for kind in kindNames where !validKinds.contains(kind) {
      throw table.error("kinds", "\"\(kind)\" is not one of \(validKinds.joined(separator: ", "))")
    }
    kinds = Set(kindNames)
    let command = try table.optionalStrings("command")
    let timeout = try table.integer("timeout_ms", default: 5000, in: 10...600_000, unit: "ms")
    let gpio = try table.optionalTable("gpio")
    let file = try table.optionalTable("file")
    let given = [command != nil, gpio != nil, file != nil].filter { $0 }.count
    guard given == 1 else {
      throw table.error(
        "command", "give exactly one of command = [...], gpio = {...} or file = {...}")
    }
    if let command {
      guard let program = command.first, program.hasPrefix("/") else {
        throw table.error("command", "must start with the program's absolute path")
      }
      action = .command(argv: command, timeout: .milliseconds(timeout))
    } else if let gpio {
      let chip = try gpio.requiredString("chip", "the GPIO chip, e.g. /dev/gpiochip0")
      let line = try gpio.optionalInteger("line", in: 0...4095)
      guard let line else { throw gpio.error("line", "missing: the line offset") }
      let value = try gpio.bool("value", default: true)
      try gpio.finish()
      action = .gpio(chip: chip, line: UInt32(line), value: value)
    } else if let file {
      let path = try file.requiredString("path", "the file to write")
      let contents = try file.optionalString("contents", allowEmpty: true) ?? "{moment}\n"
      try file.finish()
      action = .file(path: path, contents: contents)
    } else {
      preconditionFailure("one action was counted")
    }
    try table.finish()
  }

  static let validMoments = FeedbackMoment.allCases.map { "\"\($0.rawValue)\"" }.joined(
    separator: ", ")
}
