import CLinuxGPIO

/// The pull resistor a line asks for; the raw values are the names libgpiod's tools use.
public enum GPIOBias: String, Sendable, Hashable, CaseIterable {
  /// Leave the bias as the board or firmware set it (no bias flag).
  case asIs = "as-is"
  /// No pull resistor (`GPIO_V2_LINE_FLAG_BIAS_DISABLED`): the circuit has its own.
  case disabled = "disabled"
  /// The internal pull-up: a button to ground reads active-low.
  case pullUp = "pull-up"
  /// The internal pull-down: a button to the supply reads active-high.
  case pullDown = "pull-down"
}

/// How an output drives its pin; the raw values are the names libgpiod's tools use.
public enum GPIODrive: String, Sendable, Hashable, CaseIterable {
  /// Drives both high and low (the default).
  case pushPull = "push-pull"
  /// Only pulls low; high is left to a pull-up.
  case openDrain = "open-drain"
  /// Only pulls high; low is left to a pull-down.
  case openSource = "open-source"
}

/// How an input line with edge events is requested.
public struct GPIOInputSettings: Sendable, Hashable {
  /// The pull resistor.
  public var bias: GPIOBias
  /// Whether the line is active when the pin is low (a button to ground with a pull-up): the
  /// kernel then reports pressing as a rising edge.
  public var activeLow: Bool
  /// The kernel's debounce period; zero for none. Rounded up to whole microseconds and capped
  /// at `UInt32.max` microseconds (about 71 minutes).
  public var debounce: Duration

  /// Settings with the given bias, polarity and debounce period.
  public init(bias: GPIOBias = .asIs, activeLow: Bool = false, debounce: Duration = .zero) {
    self.bias = bias
    self.activeLow = activeLow
    self.debounce = debounce
  }
}

/// How an output line is requested.
public struct GPIOOutputSettings: Sendable, Hashable {
  /// Whether `true` drives the pin low (an LED wired from the supply to the pin).
  public var activeLow: Bool
  /// How the pin is driven.
  public var drive: GPIODrive
  /// The pull resistor (useful with open-drain or open-source drive).
  public var bias: GPIOBias

  /// Settings with the given polarity, drive and bias.
  public init(activeLow: Bool = false, drive: GPIODrive = .pushPull, bias: GPIOBias = .asIs) {
    self.activeLow = activeLow
    self.drive = drive
    self.bias = bias
  }
}

/// What a request for one line asks of the kernel: flags, and the debounce and output-value
/// attributes. Pure: building it and turning it into the kernel's `gpio_v2_line_request` touch
/// no device, so both are tested without a GPIO chip.
public struct GPIOLineConfig: Sendable, Hashable {
  /// The line's flags (`gpio_v2_line_config.flags`).
  public var flags: GPIOLineFlags
  /// The debounce period attribute in microseconds, when there is one (never zero).
  public var debounceMicroseconds: UInt32?
  /// The output-value attribute (the value the line takes when requested), for outputs.
  public var outputValue: Bool?

  /// A config with exactly these flags and attributes.
  public init(flags: GPIOLineFlags, debounceMicroseconds: UInt32? = nil, outputValue: Bool? = nil) {
    self.flags = flags
    self.debounceMicroseconds = debounceMicroseconds
    self.outputValue = outputValue
  }

  /// An input reporting both edges, with `settings`' bias, polarity and debounce period (no
  /// debounce attribute when the period is zero).
  public static func input(_ settings: GPIOInputSettings) -> Self {
    var flags: GPIOLineFlags = [.input, .edgeRising, .edgeFalling]
    flags.formUnion(biasFlags(settings.bias))
    if settings.activeLow { flags.insert(.activeLow) }
    let debounce = microseconds(settings.debounce)
    return Self(flags: flags, debounceMicroseconds: debounce == 0 ? nil : debounce)
  }

  /// An output that takes `initialValue` (logical, so `true` is active) as it is requested.
  public static func output(_ settings: GPIOOutputSettings, initialValue: Bool) -> Self {
    var flags: GPIOLineFlags = [.output]
    flags.formUnion(biasFlags(settings.bias))
    if settings.activeLow { flags.insert(.activeLow) }
    switch settings.drive {
    case .pushPull: break
    case .openDrain: flags.insert(.openDrain)
    case .openSource: flags.insert(.openSource)
    }
    return Self(flags: flags, outputValue: initialValue)
  }

  /// The kernel's request for the one line at `offset`, labelled `consumer` (cut to the 31
  /// bytes the kernel keeps, at a character boundary). Attributes apply to that line (mask
  /// bit 0); every other byte is zero, as the kernel requires of padding.
  public func kernelRequest(offset: UInt32, consumer: String) -> gpio_v2_line_request {
    var request = gpio_v2_line_request()
    request.num_lines = 1
    request.offsets.0 = offset
    let label = Self.consumerLabel(consumer)
    withUnsafeMutableBytes(of: &request.consumer) { bytes in
      bytes.copyBytes(from: label)
    }
    request.config.flags = flags.rawValue
    var attributes: [gpio_v2_line_config_attribute] = []
    if let debounceMicroseconds {
      var attribute = gpio_v2_line_config_attribute()
      attribute.attr.id = GPIO_V2_LINE_ATTR_ID_DEBOUNCE.rawValue
      attribute.attr.debounce_period_us = debounceMicroseconds
      attribute.mask = 1
      attributes.append(attribute)
    }
    if let outputValue {
      var attribute = gpio_v2_line_config_attribute()
      attribute.attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES.rawValue
      attribute.attr.values = outputValue ? 1 : 0
      attribute.mask = 1
      attributes.append(attribute)
    }
    request.config.num_attrs = UInt32(attributes.count)
    withUnsafeMutableBytes(of: &request.config.attrs) { bytes in
      let slots = bytes.bindMemory(to: gpio_v2_line_config_attribute.self)
      for (index, attribute) in attributes.enumerated() { slots[index] = attribute }
    }
    return request
  }

  /// The config a kernel request holds for its first line: its flags, and the debounce and
  /// output-value attributes whose mask includes that line (the first of each, as the kernel
  /// reads them). Reading back what ``kernelRequest(offset:consumer:)`` wrote gives the same
  /// config.
  public init(_ config: gpio_v2_line_config) {
    var debounce: UInt32?
    var output: Bool?
    var attrs = config.attrs
    withUnsafeBytes(of: &attrs) { bytes in
      let slots = bytes.bindMemory(to: gpio_v2_line_config_attribute.self)
      for slot in slots.prefix(Int(min(config.num_attrs, UInt32(slots.count))))
      where slot.mask & 1 != 0 {
        switch slot.attr.id {
        case GPIO_V2_LINE_ATTR_ID_DEBOUNCE.rawValue where debounce == nil:
          debounce = slot.attr.debounce_period_us
        case GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES.rawValue where output == nil:
          output = slot.attr.values & 1 != 0
        default: break
        }
      }
    }
    self.init(
      flags: GPIOLineFlags(rawValue: config.flags), debounceMicroseconds: debounce,
      outputValue: output)
  }

  /// `name`'s UTF-8 bytes, cut to at most 31 bytes without splitting a character, so the
  /// kernel's 32-byte field keeps its terminating zero.
  static func consumerLabel(_ name: String) -> [UInt8] {
    var bytes: [UInt8] = []
    for character in name {
      let utf8 = Array(String(character).utf8)
      guard bytes.count + utf8.count < Int(GPIO_MAX_NAME_SIZE) else { break }
      bytes += utf8
    }
    return bytes
  }

  /// A duration in whole microseconds, rounded up and capped at `UInt32.max`; zero or less is 0.
  static func microseconds(_ duration: Duration) -> UInt32 {
    let (seconds, attoseconds) = duration.components
    guard seconds >= 0, seconds > 0 || attoseconds > 0 else { return 0 }
    let perMicrosecond: Int64 = 1_000_000_000_000
    let whole = seconds.multipliedReportingOverflow(by: 1_000_000)
    let fraction = (attoseconds + perMicrosecond - 1) / perMicrosecond
    guard !whole.overflow else { return .max }
    return UInt32(clamping: whole.partialValue + fraction)
  }

  private static func biasFlags(_ bias: GPIOBias) -> GPIOLineFlags {
    switch bias {
    case .asIs: []
    case .disabled: .biasDisabled
    case .pullUp: .biasPullUp
    case .pullDown: .biasPullDown
    }
  }
}
