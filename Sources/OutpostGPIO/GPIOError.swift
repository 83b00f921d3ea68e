import Glibc

/// A GPIO chip or line that could not be opened, requested, read or driven: what was wrong,
/// on which chip and line, and what to do about it (``description``).
public struct GPIOError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What went wrong.
  public enum Problem: Sendable, Hashable {
    /// The chip's device file does not exist (`ENOENT`).
    case chipMissing
    /// The chip's device file exists but this user may not open it (`EACCES`, `EPERM`).
    case permissionDenied
    /// The file is not a GPIO character device: the chip ioctl failed with this errno
    /// (`ENOTTY` for a regular file or `/dev/null`, `EISDIR` for a directory).
    case notAGPIOChip(errno: Int32)
    /// Someone else holds the line (`EBUSY`); `consumer` is the label they gave, when the
    /// chip's line info names one.
    case lineBusy(consumer: String?)
    /// The line offset is not below the chip's line count.
    case offsetOutOfRange(lineCount: UInt32)
    /// The chip's driver refused the requested settings (`EINVAL`, `EOPNOTSUPP`, `ENOTSUPP`):
    /// often a bias, debounce or drive mode the hardware does not have.
    case settingsRefused(errno: Int32)
    /// The line request was already closed.
    case released
    /// Any other failure of `operation` (an ioctl, `open`, `read`) with `errno`.
    case system(operation: String, errno: Int32)
  }

  /// What went wrong.
  public var problem: Problem
  /// The chip's device path, as opened.
  public var chip: String
  /// The line offset on the chip, when the failure concerns one line.
  public var offset: UInt32?

  /// An error for `problem` on `chip` (and line `offset`, when there is one).
  public init(_ problem: Problem, chip: String, offset: UInt32? = nil) {
    self.problem = problem
    self.chip = chip
    self.offset = offset
  }

  /// What was wrong, where, and what to do, in words an administrator can act on.
  public var description: String {
    let line = offset.map { "line \($0) of GPIO chip \(chip)" } ?? "GPIO chip \(chip)"
    switch problem {
    case .chipMissing:
      return "GPIO chip \(chip) does not exist (ENOENT). List the chips with "
        + "`ls /dev/gpiochip*` (or `gpiodetect`) and fix the chip name in the configuration."
    case .permissionDenied:
      return "No permission to open GPIO chip \(chip). Add the user that runs outpostd to the "
        + "`gpio` group, or install a udev rule such as "
        + "SUBSYSTEM==\"gpio\", KERNEL==\"gpiochip*\", GROUP=\"gpio\", MODE=\"0660\"."
    case .notAGPIOChip(let errno):
      return "\(chip) is not a GPIO chip: the GPIO chip ioctl failed with \(Self.name(errno)). "
        + "Name a GPIO character device such as /dev/gpiochip0."
    case .lineBusy(let consumer):
      let holder = consumer.map { "\"\($0)\" holds it" } ?? "another program or driver holds it"
      return "The \(line) is busy: \(holder) (EBUSY). Stop whatever holds the line or choose "
        + "another one; `gpioinfo` shows each line's consumer."
    case .offsetOutOfRange(let lineCount):
      let valid = lineCount == 0 ? "it has no lines" : "offsets 0 to \(lineCount - 1)"
      return "Line \(offset.map(String.init) ?? "?") does not exist on GPIO chip \(chip), which "
        + "has \(lineCount) lines (\(valid)). Fix the line offset in the configuration."
    case .settingsRefused(let errno):
      return "The driver of GPIO chip \(chip) refused the settings for the \(line) "
        + "(\(Self.name(errno))): it may not support the bias, debounce or drive mode asked "
        + "for. Remove that option from the configuration."
    case .released:
      return "The request for the \(line) was already closed; request the line again."
    case .system(let operation, let errno):
      return "\(operation) failed for the \(line): \(Self.name(errno))."
    }
  }

  /// The errno's symbolic name and the system's text for it, e.g. "ENOTTY (Inappropriate
  /// ioctl for device)".
  static func name(_ errno: Int32) -> String {
    let symbol: String? =
      switch errno {
      case ENOENT: "ENOENT"
      case EACCES: "EACCES"
      case EPERM: "EPERM"
      case EBUSY: "EBUSY"
      case EINVAL: "EINVAL"
      case ENOTTY: "ENOTTY"
      case EISDIR: "EISDIR"
      case ENODEV: "ENODEV"
      case ENXIO: "ENXIO"
      case EIO: "EIO"
      case EOPNOTSUPP: "EOPNOTSUPP"
      case kernelENOTSUPP: "ENOTSUPP"
      default: nil
      }
    // The kernel-internal ENOTSUPP leaks to user space from some GPIO drivers; libc has no
    // text for it.
    if errno == kernelENOTSUPP { return "ENOTSUPP (operation not supported by the driver)" }
    let text = String(cString: strerror(errno))
    return symbol.map { "\($0) (\(text))" } ?? "errno \(errno) (\(text))"
  }

  /// `ENOTSUPP` from the kernel's `include/linux/errno.h`, not in libc's headers.
  static let kernelENOTSUPP: Int32 = 524
}
