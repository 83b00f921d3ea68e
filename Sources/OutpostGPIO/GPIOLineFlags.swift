import CLinuxGPIO

/// The kernel's `enum gpio_v2_line_flag`: how a line is configured, in a request or as the
/// chip's line info reports it.
public struct GPIOLineFlags: OptionSet, Sendable, Hashable {
  /// The flag bits, as `gpio_v2_line_config.flags` holds them.
  public var rawValue: UInt64

  /// Flags from the kernel's bits; unknown bits are kept.
  public init(rawValue: UInt64) { self.rawValue = rawValue }

  private init(_ flag: gpio_v2_line_flag) { rawValue = UInt64(flag.rawValue) }

  /// `GPIO_V2_LINE_FLAG_USED`: the line is not available for request (line info only).
  public static let used = Self(GPIO_V2_LINE_FLAG_USED)
  /// `GPIO_V2_LINE_FLAG_ACTIVE_LOW`: the line is active when the pin is low; values and edges
  /// are then reported and set as logical (active = 1).
  public static let activeLow = Self(GPIO_V2_LINE_FLAG_ACTIVE_LOW)
  /// `GPIO_V2_LINE_FLAG_INPUT`.
  public static let input = Self(GPIO_V2_LINE_FLAG_INPUT)
  /// `GPIO_V2_LINE_FLAG_OUTPUT`.
  public static let output = Self(GPIO_V2_LINE_FLAG_OUTPUT)
  /// `GPIO_V2_LINE_FLAG_EDGE_RISING`: report inactive-to-active edges (inputs only).
  public static let edgeRising = Self(GPIO_V2_LINE_FLAG_EDGE_RISING)
  /// `GPIO_V2_LINE_FLAG_EDGE_FALLING`: report active-to-inactive edges (inputs only).
  public static let edgeFalling = Self(GPIO_V2_LINE_FLAG_EDGE_FALLING)
  /// `GPIO_V2_LINE_FLAG_OPEN_DRAIN`: the output only pulls low.
  public static let openDrain = Self(GPIO_V2_LINE_FLAG_OPEN_DRAIN)
  /// `GPIO_V2_LINE_FLAG_OPEN_SOURCE`: the output only pulls high.
  public static let openSource = Self(GPIO_V2_LINE_FLAG_OPEN_SOURCE)
  /// `GPIO_V2_LINE_FLAG_BIAS_PULL_UP`.
  public static let biasPullUp = Self(GPIO_V2_LINE_FLAG_BIAS_PULL_UP)
  /// `GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN`.
  public static let biasPullDown = Self(GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN)
  /// `GPIO_V2_LINE_FLAG_BIAS_DISABLED`: neither pull-up nor pull-down.
  public static let biasDisabled = Self(GPIO_V2_LINE_FLAG_BIAS_DISABLED)
  /// `GPIO_V2_LINE_FLAG_EVENT_CLOCK_REALTIME`: event timestamps from `CLOCK_REALTIME` instead
  /// of `CLOCK_MONOTONIC`.
  public static let eventClockRealtime = Self(GPIO_V2_LINE_FLAG_EVENT_CLOCK_REALTIME)
}
