import Glibc
import Logging
import NIOCore
import OutpostGPIO
import OutpostInput

/// A button on a GPIO line: the line is requested from the kernel's GPIO character device with
/// edge detection (and the kernel's debounce where the driver has one), and its
/// `gpio_v2_line_event` records are debounced again and turned into presses.
struct GPIOButtonSource: FieldSource {
  let settings: GPIOButtonSettings
  let recorder: Recorder
  let eventLoops: any EventLoopGroup
  let logger: Logger
  /// Opens the line's event descriptor; the real one asks the kernel, tests hand in a FIFO.
  let openLine: @Sendable (GPIOButtonSettings) throws -> (fd: Int32, release: @Sendable () -> Void)

  var name: String { "gpio:\(settings.chip):\(settings.line)" }

  init(
    settings: GPIOButtonSettings, recorder: Recorder, eventLoops: any EventLoopGroup,
    logger: Logger,
    openLine:
      @escaping @Sendable (GPIOButtonSettings) throws -> (
        fd: Int32, release: @Sendable () -> Void
      ) = GPIOButtonSource.requestLine
  ) {
    self.settings = settings
    self.recorder = recorder
    self.eventLoops = eventLoops
    self.logger = logger
    self.openLine = openLine
  }

  /// The code a GPIO button has on its one-key panel.
  static let code: UInt16 = 0

  func run(firstAttempt: @escaping @Sendable () -> Void) async throws {
    let loop = DeviceLoop(name: name, recorder: recorder, eventLoops: eventLoops, logger: logger)
    let settings = settings
    let recorder = recorder
    let name = name
    let logger = logger
    let openLine = openLine
    await loop.run(firstAttempt: firstAttempt) {
      try openLine(settings)
    } session: { chunks in
      var short: [UInt16: ButtonRole] = [:]
      var long: [UInt16: ButtonRole] = [:]
      short[Self.code] = settings.role
      long[Self.code] = settings.longRole
      let driver = PanelDriver(
        panel: ButtonPanel(short: short, long: long, timing: settings.timing)
      ) { roles in
        for role in roles { await pull(role, recorder: recorder, source: name, logger: logger) }
      }
      defer { driver.stop() }
      var pending: [UInt8] = []
      for try await chunk in chunks {
        pending += chunk.readableBytesView
        while pending.count >= GPIOLineEvent.size {
          let record = pending[0..<GPIOLineEvent.size]
          pending.removeFirst(GPIOLineEvent.size)
          guard let event = GPIOLineEvent(record: record) else { continue }
          // The line is requested active-low when the button pulls it low, so a rising edge is
          // always a press.
          await driver.edge(
            Self.code, down: event.edge == .rising, atMs: Int64(event.timestampNs / 1_000_000))
        }
      }
    }
  }

  /// Requests the line from the kernel as an input with both edges.
  static let requestLine:
    @Sendable (GPIOButtonSettings) throws -> (fd: Int32, release: @Sendable () -> Void) = {
      settings in
      let chip = try GPIOChip(settings.chip)
      let line = try chip.requestInput(
        offset: settings.line,
        settings: GPIOInputSettings(
          bias: settings.bias, activeLow: settings.activeLow,
          debounce: .milliseconds(settings.timing.debounceMs)))
      let fd = dup(line.fileDescriptor)
      guard fd >= 0 else {
        line.close()
        throw AgentError.system("dup", path: settings.chip, errno: errno)
      }
      return (fd, { line.close() })
    }
}
