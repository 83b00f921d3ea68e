import OutpostCore
import OutpostGPIO
import OutpostHooks
import OutpostSensors

/// Everything `outpostd` is configured with, read from `/etc/outpost/agent.toml` (see
/// `Config/agent.toml` for every key with its meaning and default).
public struct AgentConfiguration: Sendable {
  /// The box's name, as enrolled at the station; used in logs and status.
  public var device = "outpost-box"
  /// Where the journal and the boot counter live.
  public var stateDirectory = "/var/lib/outpost"
  /// Where the control socket lives.
  public var runDirectory = "/run/outpost"
  public var journal = JournalSettings()
  public var alarm = AlarmSettings()
  public var control = ControlSettings()
  public var inputDevices: [InputDeviceSettings] = []
  public var gpioButtons: [GPIOButtonSettings] = []
  public var cardReaders: [CardReaderSettings] = []
  public var gps: GPSSettings?
  public var positions = PositionSettings()
  public var sensors: [SensorSettings] = []
  public var health = HealthSettings()
  public var feedback: [FeedbackSettings] = []
  public var uplink = UplinkConfiguration()

  public init() {}

  /// The journal's path: `journal.path`, taken relative to the state directory unless absolute.
  public var journalPath: String {
    journal.path.hasPrefix("/") ? journal.path : "\(stateDirectory)/\(journal.path)"
  }

  /// The control socket's path in the run directory.
  /// The installed enrollment bundle (`outpostctl enroll` writes it).
  public var enrollmentPath: String {
    uplink.enrollment.hasPrefix("/") ? uplink.enrollment : "\(stateDirectory)/\(uplink.enrollment)"
  }

  public var controlSocketPath: String {
    control.socket.hasPrefix("/") ? control.socket : "\(runDirectory)/\(control.socket)"
  }
}

/// `[journal]`.
public struct JournalSettings: Sendable {
  /// The file, relative to the state directory unless absolute.
  public var path = "journal"
  /// Its size in bytes, fixed when it is created.
  public var size: UInt64 = 16 << 20
  /// Longest wait of a routine record for its group commit.
  public var groupCommit: Duration = .seconds(1)
}

/// `[alarm]`: how presses become incidents.
public struct AlarmSettings: Sendable {
  /// Help presses this soon after the incident's last press join it instead of opening another.
  public var joinWindow: Duration = .seconds(600)
  /// At most one SOS record per incident this often; presses between are counted into the next.
  public var recordInterval: Duration = .seconds(5)
}

/// `[control]`: the local socket `outpostctl` talks to.
public struct ControlSettings: Sendable {
  /// The socket, relative to the run directory unless absolute.
  public var socket = "control.sock"
  /// The group allowed to use it (mode 0660); nil leaves the daemon's own group.
  public var group: String? = "outpost"
}

/// What a button does.
public enum ButtonRole: Sendable, Hashable, CustomStringConvertible {
  /// Calls for help: an SOS.
  case help
  /// The household's "we are fine".
  case checkIn
  /// Cancels the last SOS.
  case cancel
  /// Reports a sighting of this category.
  case report(ReportCategory)

  /// `help`, `check-in`, `cancel`, `report:CATEGORY`.
  public var description: String {
    switch self {
    case .help: "help"
    case .checkIn: "check-in"
    case .cancel: "cancel"
    case .report(let category): "report:\(category)"
    }
  }

  /// Parses the configuration spelling; nil when unknown.
  public init?(_ text: String) {
    switch text {
    case "help": self = .help
    case "check-in": self = .checkIn
    case "cancel": self = .cancel
    default:
      guard text.hasPrefix("report:"),
        let category = ReportCategory(name: String(text.dropFirst("report:".count)))
      else { return nil }
      self = .report(category)
    }
  }

  /// What a configuration may say, for error messages.
  public static let validSpellings =
    "\"help\", \"check-in\", \"cancel\" or \"report:CATEGORY\" with CATEGORY one of "
    + ReportCategory.allCases.map(\.description).joined(separator: ", ")
}

/// Debounce and long-press timing of a button.
public struct ButtonTiming: Sendable, Hashable {
  public var debounceMs: Int64 = 30
  public var longPressMs: Int64 = 2000
}

/// `[[input]]`: buttons on a Linux input device.
public struct InputDeviceSettings: Sendable {
  /// The event device, best a stable `/dev/input/by-id/…` path.
  public var device: String
  /// Key code → what a (short) press does.
  public var keys: [UInt16: ButtonRole] = [:]
  /// Key code → what holding the key for the long-press time does. A key with both a short and
  /// a long role acts on release (short) or at the long-press time; a key with only a short
  /// role acts the moment it goes down.
  public var longPressKeys: [UInt16: ButtonRole] = [:]
  public var timing = ButtonTiming()
}

/// `[[gpio]]`: a button on a GPIO line.
public struct GPIOButtonSettings: Sendable {
  /// The chip, `/dev/gpiochipN` or its name.
  public var chip: String
  /// The line offset on the chip.
  public var line: UInt32
  /// What a short press does (nil: nothing).
  public var role: ButtonRole?
  /// What a long press does (nil: nothing).
  public var longRole: ButtonRole?
  /// The line reads low when the button is pressed (a button to ground with a pull-up).
  public var activeLow = true
  /// `pull-up`, `pull-down`, `disabled` or `as-is`.
  public var bias = GPIOBias.pullUp
  public var timing = ButtonTiming()
}

/// `[[card_reader]]`: a card or badge reader that types ids like a keyboard.
public struct CardReaderSettings: Sendable {
  public var device: String
  public var minLength = 4
  public var maxLength = 64
  /// Take the device for ourselves (`EVIOCGRAB`) so the ids are not typed into a console.
  public var grab = true
}

/// `[gps]`: where fixes come from.
public enum GPSSettings: Sendable, Hashable {
  /// gpsd's JSON protocol on `host:port`.
  case gpsd(host: String, port: Int)
  /// Raw NMEA 0183 from a serial port at a baud rate.
  case serial(path: String, baud: Int)
}

/// `[positions]`: when fixes become position records.
public struct PositionSettings: Sendable, Hashable {
  /// A still box reports its position this often.
  public var stillInterval: Duration = .seconds(3600)
  /// A moving box reports at most this often ...
  public var movingInterval: Duration = .seconds(30)
  /// ... when it has moved this far since the last report ...
  public var minDistanceM = 100
  /// ... or turned by this many degrees.
  public var headingChangeDeg = 30
  /// Moving means at least this speed, in km/h.
  public var movingSpeedKmh = 5
}

/// How a sensor's file is read.
public enum SensorFormat: String, Sendable, Hashable, CaseIterable {
  /// A hwmon attribute: one integer in milli-units.
  case hwmon
  /// An IIO channel: `in_*_raw` with `_scale` and `_offset` beside it.
  case iio
  /// A 1-Wire `w1_slave` file (DS18B20): CRC line, then `t=` in milli-degrees.
  case w1 = "1-wire"
  /// A file holding one integer in the sensor's unit ×1000 (power_supply's µV files are
  /// read with `scale`).
  case value
}

/// `[[sensor]]`.
public struct SensorSettings: Sendable {
  /// Short name used in records, e.g. `smoke-temp`.
  public var name: String
  /// The file to read (for IIO, the `in_*_raw` file).
  public var path: String
  public var format = SensorFormat.hwmon
  /// Divide the file's value by this (e.g. 1000 for µV → mV).
  public var divisor: Int64 = 1
  /// Poll this often.
  public var period: Duration = .seconds(60)
  /// Record a reading this often (nil: only alarms).
  public var reportEvery: Duration? = .seconds(900)
  /// The alarm, when thresholds are set.
  public var alarm: SensorAlarmSettings?
}

/// The threshold alarm of a sensor.
public struct SensorAlarmSettings: Sendable {
  public var kind: SensorAlarmKind
  /// Thresholds with hysteresis, in milli-units.
  public var threshold: ThresholdAlarm
}

/// `[health]`: the box's own health record.
public struct HealthSettings: Sendable {
  /// A box-health record this often.
  public var interval: Duration = .seconds(3600)
  /// A file with the supply voltage (hwmon `in*_input` in mV, or power_supply `voltage_now` in
  /// µV with `supply_divisor = 1000`).
  public var supplyPath: String?
  public var supplyDivisor: Int64 = 1
  /// A power_supply `capacity` file (percent).
  public var batteryPath: String?
}

/// `[[feedback]]`: an action run when an alarm reaches some moments of its life.
public struct FeedbackSettings: Sendable {
  public var moments: Set<FeedbackMoment>
  /// Which kinds it applies to (empty: every alarm: SOS, cancel, sensor alarm; plus check-ins
  /// and reports when named).
  public var kinds: Set<String>
  public var action: FeedbackAction
}

/// `[uplink]`: how the box reaches its stations.
public struct UplinkConfiguration: Sendable, Hashable {
  /// Stations to try in order (`HOST:PORT`); empty: the enrollment bundle's.
  public var stations: [String] = []
  /// The enrollment bundle, relative to the state directory unless absolute.
  public var enrollment = "enrollment.json"
  /// The longest wait between connection rounds (backoff doubles up to it, with jitter).
  public var backoffMax: Duration = .seconds(300)
  /// How long a ping may go unanswered before the link counts as half-open.
  public var pongTimeout: Duration = .seconds(20)
  /// The share of the link's time, in percent, a backlog may take (alarms never wait for it).
  public var backlogSharePercent = 50

  public init() {}
}
