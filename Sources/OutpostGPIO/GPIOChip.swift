import CLinuxGPIO
import Glibc

/// What `GPIO_GET_CHIPINFO_IOCTL` tells about a chip.
public struct GPIOChipInfo: Sendable, Hashable {
  /// The kernel's name for the chip, e.g. "gpiochip0".
  public var name: String
  /// The driver's functional name, e.g. "pinctrl-bcm2711"; may be empty.
  public var label: String
  /// How many lines the chip has; valid offsets are below it.
  public var lineCount: UInt32

  /// Info with these fields.
  public init(name: String, label: String, lineCount: UInt32) {
    self.name = name
    self.label = label
    self.lineCount = lineCount
  }
}

/// What `GPIO_V2_GET_LINEINFO_IOCTL` tells about one line.
public struct GPIOLineInfo: Sendable, Hashable {
  /// The line's offset on its chip.
  public var offset: UInt32
  /// The line's name from the board description (e.g. "GPIO17"); may be empty.
  public var name: String
  /// The label of whoever holds the line; empty when nobody does or the holder gave none.
  public var consumer: String
  /// The line's current configuration; ``GPIOLineFlags/used`` when it cannot be requested.
  public var flags: GPIOLineFlags

  /// Info with these fields.
  public init(offset: UInt32, name: String, consumer: String, flags: GPIOLineFlags) {
    self.offset = offset
    self.name = name
    self.consumer = consumer
    self.flags = flags
  }
}

/// An open GPIO chip: a kernel GPIO character device (`/dev/gpiochipN`), from which lines are
/// requested. The chip's descriptor closes when the object goes away; line requests made from
/// it stay open on their own.
public final class GPIOChip: Sendable {
  /// The device path that was opened.
  public let path: String
  /// The chip's name, label and line count, read when it was opened.
  public let info: GPIOChipInfo
  private let fd: Int32

  /// The device path for a chip name in the configuration: a name with a `/` is a path as
  /// given (e.g. `/dev/gpiochip0` or a udev symlink); a bare number `N` is `/dev/gpiochipN`;
  /// any other name is looked up in `/dev` (e.g. `gpiochip0`).
  public static func devicePath(for name: String) -> String {
    if name.contains("/") { return name }
    if !name.isEmpty, name.allSatisfy(\.isASCII), name.allSatisfy(\.isNumber) {
      return "/dev/gpiochip\(name)"
    }
    return "/dev/\(name)"
  }

  /// Opens the chip `name` names (see ``devicePath(for:)``) and reads its info.
  ///
  /// - Throws: ``GPIOError`` with ``GPIOError/Problem/chipMissing`` when the file does not
  ///   exist, ``GPIOError/Problem/permissionDenied`` when it may not be opened, and
  ///   ``GPIOError/Problem/notAGPIOChip(errno:)`` when it is something else (a regular file,
  ///   `/dev/null`, a directory).
  public init(_ name: String) throws(GPIOError) {
    let path = Self.devicePath(for: name)
    var fd: Int32
    repeat {
      fd = open(path, O_RDWR | O_CLOEXEC)
    } while fd < 0 && errno == EINTR
    guard fd >= 0 else {
      let error = errno
      let problem: GPIOError.Problem =
        switch error {
        case ENOENT, ENODEV, ENXIO: .chipMissing
        case EACCES, EPERM, EROFS: .permissionDenied
        case EISDIR: .notAGPIOChip(errno: error)
        default: .system(operation: "open", errno: error)
        }
      throw GPIOError(problem, chip: path)
    }
    var raw = gpiochip_info()
    let result = outpost_gpio_chip_info(fd, &raw)
    guard result == 0 else {
      _ = close(fd)
      let error = -result
      // Anything but a GPIO chip answers its ioctl with ENOTTY (or EINVAL from some drivers).
      let problem: GPIOError.Problem =
        error == ENOTTY || error == EINVAL
        ? .notAGPIOChip(errno: error) : .system(operation: "GPIO_GET_CHIPINFO_IOCTL", errno: error)
      throw GPIOError(problem, chip: path)
    }
    self.path = path
    self.fd = fd
    info = GPIOChipInfo(
      name: Self.string(raw.name), label: Self.string(raw.label), lineCount: raw.lines)
  }

  deinit { _ = close(fd) }

  /// What the kernel tells about the line at `offset`: its name, its consumer, its flags.
  ///
  /// - Throws: ``GPIOError`` with ``GPIOError/Problem/offsetOutOfRange(lineCount:)`` when the
  ///   chip has no such line, or the ioctl's failure.
  public func lineInfo(_ offset: UInt32) throws(GPIOError) -> GPIOLineInfo {
    try checkRange(offset)
    var raw = gpio_v2_line_info()
    raw.offset = offset
    let result = outpost_gpio_line_info(fd, &raw)
    guard result == 0 else {
      throw GPIOError(
        .system(operation: "GPIO_V2_GET_LINEINFO_IOCTL", errno: -result), chip: path,
        offset: offset)
    }
    return GPIOLineInfo(
      offset: offset, name: Self.string(raw.name), consumer: Self.string(raw.consumer),
      flags: GPIOLineFlags(rawValue: raw.flags))
  }

  /// Requests the line at `offset` as an input reporting both edges, with `settings`' bias,
  /// polarity and debounce period, labelled `consumer`.
  ///
  /// - Throws: ``GPIOError``: offset out of range, line busy (naming its consumer when the
  ///   kernel knows it), settings refused by the driver, or another ioctl failure.
  public func requestInput(
    offset: UInt32, settings: GPIOInputSettings = GPIOInputSettings(),
    consumer: String = "outpostd"
  ) throws(GPIOError) -> GPIOInputLine {
    let request = try request(offset: offset, config: .input(settings), consumer: consumer)
    // Readers poll the descriptor; a read must never park the thread.
    let flags = fcntl(request.fileDescriptor, F_GETFL)
    guard flags >= 0, fcntl(request.fileDescriptor, F_SETFL, flags | O_NONBLOCK) == 0 else {
      throw request.failure("fcntl O_NONBLOCK", errno)
    }
    return GPIOInputLine(request: request)
  }

  /// Requests the line at `offset` as an output set to `initialValue` (logical), labelled
  /// `consumer`. The value holds while the returned line stays open.
  ///
  /// - Throws: ``GPIOError`` as ``requestInput(offset:settings:consumer:)`` does.
  public func requestOutput(
    offset: UInt32, initialValue: Bool, settings: GPIOOutputSettings = GPIOOutputSettings(),
    consumer: String = "outpostd"
  ) throws(GPIOError) -> GPIOOutputLine {
    let config = GPIOLineConfig.output(settings, initialValue: initialValue)
    return GPIOOutputLine(request: try request(offset: offset, config: config, consumer: consumer))
  }

  /// Requests one line with `config` (`GPIO_V2_GET_LINE_IOCTL`).
  func request(offset: UInt32, config: GPIOLineConfig, consumer: String) throws(GPIOError)
    -> LineRequest
  {
    try checkRange(offset)
    var raw = config.kernelRequest(offset: offset, consumer: consumer)
    let result = outpost_gpio_request_lines(fd, &raw)
    guard result >= 0 else {
      let error = -result
      let problem: GPIOError.Problem =
        switch error {
        case EBUSY:
          .lineBusy(
            consumer: (try? lineInfo(offset)).map(\.consumer).flatMap { $0.isEmpty ? nil : $0 })
        case EINVAL, EOPNOTSUPP, GPIOError.kernelENOTSUPP: .settingsRefused(errno: error)
        case EACCES, EPERM: .permissionDenied
        default: .system(operation: "GPIO_V2_GET_LINE_IOCTL", errno: error)
        }
      throw GPIOError(problem, chip: path, offset: offset)
    }
    return LineRequest(fd: result, chip: path, offset: offset)
  }

  private func checkRange(_ offset: UInt32) throws(GPIOError) {
    guard offset < info.lineCount else {
      throw GPIOError(.offsetOutOfRange(lineCount: info.lineCount), chip: path, offset: offset)
    }
  }

  /// A NUL-terminated C string in a fixed-size kernel field (a tuple of `CChar`).
  private static func string<Field>(_ field: Field) -> String {
    withUnsafeBytes(of: field) { bytes in
      let end = bytes.firstIndex(of: 0) ?? bytes.count
      return String(decoding: bytes[..<end], as: UTF8.self)
    }
  }
}
