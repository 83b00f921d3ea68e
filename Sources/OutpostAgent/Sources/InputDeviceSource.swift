import Glibc
import Logging
import NIOCore
import OutpostInput

/// Buttons on a Linux input device (`/dev/input/by-id/…-event-kbd`): `struct input_event`
/// records, key codes mapped to roles, debounced, long presses recognised.
struct InputDeviceSource: FieldSource {
  let settings: InputDeviceSettings
  let recorder: Recorder
  let eventLoops: any EventLoopGroup
  let logger: Logger

  var name: String { "input:\(settings.device)" }

  func run(firstAttempt: @escaping @Sendable () -> Void) async throws {
    let loop = DeviceLoop(name: name, recorder: recorder, eventLoops: eventLoops, logger: logger)
    let settings = settings
    let recorder = recorder
    let name = name
    let logger = logger
    await loop.run(firstAttempt: firstAttempt) {
      let fd = try openForReading(settings.device)
      if isCharacterDevice(fd) { InputIoctl.useMonotonicTimestamps(fd, logger: logger) }
      return (fd, {})
    } session: { chunks in
      let driver = PanelDriver(
        panel: ButtonPanel(
          short: settings.keys, long: settings.longPressKeys, timing: settings.timing)
      ) { roles in
        for role in roles { await pull(role, recorder: recorder, source: name, logger: logger) }
      }
      defer { driver.stop() }
      var reader = InputEventReader()
      for try await chunk in chunks {
        for event in reader.feed(chunk.readableBytesView)
        where event.type == InputEvent.typeKey && event.value != 2 && driver.handles(event.code) {
          await driver.edge(event.code, down: event.value == 1, atMs: event.timeUs / 1000)
        }
      }
    }
  }
}

/// Records what a button's `role` asks for, logging a failure (the journal refusing) loudly.
func pull(_ role: ButtonRole, recorder: Recorder, source: String, logger: Logger) async {
  do {
    _ = try await recorder.trigger(Trigger(role), source: source)
  } catch {
    logger.critical(
      "\(source): \(role) pressed but could not be recorded: \(error)",
      metadata: ["source": "\(source)"])
  }
}

/// The evdev ioctls the sources use.
enum InputIoctl {
  /// `EVIOCSCLOCKID`: `_IOW('E', 0xa0, int)`.
  static let setClockID: UInt = 0x4004_45A0
  /// `EVIOCGRAB`: `_IOW('E', 0x90, int)`.
  static let grab: UInt = 0x4004_4590

  /// Asks for `CLOCK_MONOTONIC` event timestamps, so that debouncing and long presses are
  /// measured on a clock that does not jump when NTP or GPS sets the time.
  static func useMonotonicTimestamps(_ fd: Int32, logger: Logger) {
    var clock = Int32(CLOCK_MONOTONIC)
    if ioctl(fd, setClockID, &clock) != 0 {
      logger.warning(
        "input device refused monotonic timestamps: \(String(cString: strerror(errno)))")
    }
  }

  /// Takes the device for this process alone, so a card reader's typing reaches no console.
  static func takeExclusively(_ fd: Int32) throws(AgentError) {
    var on: Int32 = 1
    guard ioctl(fd, grab, &on) == 0 else {
      let reason =
        errno == EBUSY ? "another program has grabbed it" : String(cString: strerror(errno))
      throw AgentError("EVIOCGRAB: \(reason)")
    }
  }
}
