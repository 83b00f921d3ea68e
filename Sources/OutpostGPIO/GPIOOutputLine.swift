/// One GPIO line requested as an output, e.g. an LED or a buzzer.
///
/// The kernel keeps the line's value only while the request is open, so this object owns the
/// request: the value holds until ``close()`` or until the object goes away, and then the line
/// is released (most drivers leave the pin as it was, but nothing promises that).
public final class GPIOOutputLine: Sendable {
  private let request: LineRequest

  /// The chip's device path.
  public var chip: String { request.chip }
  /// The line's offset on the chip.
  public var offset: UInt32 { request.offset }

  init(request: LineRequest) {
    self.request = request
  }

  /// Opens the chip named `chip` (see ``GPIOChip/init(_:)``) and requests the line at `offset`
  /// as an output set to `initialValue`; the chip itself is closed again, the line request
  /// stays open.
  ///
  /// - Throws: ``GPIOError`` when the chip is missing, not a GPIO chip or not accessible, the
  ///   offset is out of range, the line is busy, or the driver refuses the settings.
  public convenience init(
    chip: String, offset: UInt32, initialValue: Bool,
    settings: GPIOOutputSettings = GPIOOutputSettings(), consumer: String = "outpostd"
  ) throws(GPIOError) {
    let opened = try GPIOChip(chip)
    let config = GPIOLineConfig.output(settings, initialValue: initialValue)
    self.init(request: try opened.request(offset: offset, config: config, consumer: consumer))
  }

  /// Drives the line to `value` (logical: `true` is active, which is low for an active-low
  /// line).
  ///
  /// - Throws: ``GPIOError`` with ``GPIOError/Problem/released`` after ``close()``, or the
  ///   ioctl's failure (e.g. the chip was unplugged).
  public func set(_ value: Bool) throws(GPIOError) {
    try request.set(value)
  }

  /// The line's current logical value.
  ///
  /// - Throws: ``GPIOError`` as ``set(_:)`` does.
  public func value() throws(GPIOError) -> Bool {
    try request.value()
  }

  /// Releases the line. Calling it again does nothing; later ``set(_:)`` calls throw.
  public func close() {
    request.close()
  }
}
