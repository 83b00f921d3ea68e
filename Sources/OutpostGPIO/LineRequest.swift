import CLinuxGPIO
import Glibc
import Synchronization

/// The file descriptor of a one-line request (`GPIO_V2_GET_LINE_IOCTL`), shared by input and
/// output lines. The line stays requested, and an output keeps its value, exactly as long as
/// this descriptor is open; it is closed by ``close()`` or when the owner goes away.
final class LineRequest: Sendable {
  let chip: String
  let offset: UInt32
  /// The descriptor, or -1 once closed. Held while it is used, so closing never races an
  /// ioctl or a read onto a reused descriptor number.
  private let descriptor: Mutex<Int32>

  init(fd: Int32, chip: String, offset: UInt32) {
    self.chip = chip
    self.offset = offset
    descriptor = Mutex(fd)
  }

  deinit { close() }

  var fileDescriptor: Int32 { descriptor.withLock { $0 } }

  func close() {
    descriptor.withLock { fd in
      if fd >= 0 { _ = Glibc.close(fd) }
      fd = -1
    }
  }

  /// Runs `body` with the open descriptor.
  ///
  /// - Throws: ``GPIOError/Problem/released`` when it was closed, or what `body` throws.
  func withDescriptor<T>(_ body: (Int32) throws(GPIOError) -> T) throws(GPIOError) -> T {
    try descriptor.withLock { fd throws(GPIOError) -> T in
      guard fd >= 0 else { throw GPIOError(.released, chip: chip, offset: offset) }
      return try body(fd)
    }
  }

  /// The line's logical value (`GPIO_V2_LINE_GET_VALUES_IOCTL`).
  func value() throws(GPIOError) -> Bool {
    try withDescriptor { fd throws(GPIOError) -> Bool in
      var values = gpio_v2_line_values(bits: 0, mask: 1)
      let result = outpost_gpio_get_values(fd, &values)
      guard result == 0 else { throw failure("GPIO_V2_LINE_GET_VALUES_IOCTL", -result) }
      return values.bits & 1 != 0
    }
  }

  /// Drives the line to the logical `value` (`GPIO_V2_LINE_SET_VALUES_IOCTL`).
  func set(_ value: Bool) throws(GPIOError) {
    try withDescriptor { fd throws(GPIOError) in
      var values = gpio_v2_line_values(bits: value ? 1 : 0, mask: 1)
      let result = outpost_gpio_set_values(fd, &values)
      guard result == 0 else { throw failure("GPIO_V2_LINE_SET_VALUES_IOCTL", -result) }
    }
  }

  func failure(_ operation: String, _ errno: Int32) -> GPIOError {
    GPIOError(.system(operation: operation, errno: errno), chip: chip, offset: offset)
  }
}
