import Glibc
import OutpostCore
import Synchronization

/// One reading of the box's two clocks.
public struct ClockReading: Sendable, Hashable {
  /// `CLOCK_REALTIME` in ms since the Unix epoch: right only once NTP or GPS has set it.
  public var wallMs: Int64
  /// `CLOCK_BOOTTIME` in ms: never jumps, counts suspend, starts at boot.
  public var sinceBootMs: UInt64

  public init(wallMs: Int64, sinceBootMs: UInt64) {
    self.wallMs = wallMs
    self.sinceBootMs = sinceBootMs
  }
}

/// Stamps records with the time as well as the box can tell it.
///
/// The wall clock counts as trusted when the kernel says NTP has synchronised it, or once GPS
/// time has been seen in this boot; from then on times come from the GPS anchor plus monotonic
/// time, so a wall clock that was never set (no RTC, no network) does not matter.
public final class BoxClock: Sendable {
  /// This boot's number, from ``BootCounter``.
  public let boot: UInt32
  private let read: @Sendable () -> ClockReading
  private let kernelSynchronised: @Sendable () -> Bool
  private let anchor = Mutex<TimeAnchor?>(nil)

  /// - Parameters:
  ///   - boot: the boot counter.
  ///   - read: the clocks (tests pass fakes).
  ///   - kernelSynchronised: whether NTP keeps the wall clock (tests pass fakes).
  public init(
    boot: UInt32, read: @escaping @Sendable () -> ClockReading = BoxClock.systemReading,
    kernelSynchronised: @escaping @Sendable () -> Bool = BoxClock.ntpSynchronised
  ) {
    self.boot = boot
    self.read = read
    self.kernelSynchronised = kernelSynchronised
  }

  /// The time of a record taken now.
  public func now() -> RecordTime {
    let reading = read()
    if let anchor = anchor.withLock({ $0 }) {
      let delta = Int64(bitPattern: reading.sinceBootMs &- anchor.sinceBootMs)
      return RecordTime(
        wallMs: anchor.wallMs &+ delta, clockTrusted: true, boot: boot,
        sinceBootMs: reading.sinceBootMs)
    }
    return RecordTime(
      wallMs: reading.wallMs, clockTrusted: kernelSynchronised(), boot: boot,
      sinceBootMs: reading.sinceBootMs)
  }

  /// Monotonic ms since boot, for timers.
  public func sinceBootMs() -> UInt64 { read().sinceBootMs }

  /// What a GPS time did to the clock.
  public enum GPSTimeVerdict: Sendable, Hashable {
    /// The first GPS time of this boot: times are trusted from now on.
    case first
    /// A later GPS time: the anchor moved to it.
    case updated
    /// NTP keeps the clock and GPS disagrees with it by more than a day (a receiver with the
    /// GPS week-rollover bug): the GPS time was not used.
    case disagreesWithNTP(differenceMs: Int64)
  }

  /// GPS says it is `gpsTimeMs` now (the fix just arrived): from here on, times are trusted.
  @discardableResult
  public func gpsTime(_ gpsTimeMs: Int64) -> GPSTimeVerdict {
    let reading = read()
    let difference = gpsTimeMs &- reading.wallMs
    if difference.magnitude > 86_400_000, kernelSynchronised() {
      return .disagreesWithNTP(differenceMs: difference)
    }
    return anchor.withLock { current in
      let first = current == nil
      current = TimeAnchor(boot: boot, sinceBootMs: reading.sinceBootMs, wallMs: gpsTimeMs)
      return first ? .first : .updated
    }
  }

  /// The GPS anchor, once GPS time has been seen.
  public var gpsAnchor: TimeAnchor? { anchor.withLock { $0 } }

  /// Whether times are trusted now.
  public var isTrusted: Bool { gpsAnchor != nil || kernelSynchronised() }

  /// The system's clocks.
  public static let systemReading: @Sendable () -> ClockReading = {
    var wall = timespec()
    var boot = timespec()
    clock_gettime(CLOCK_REALTIME, &wall)
    clock_gettime(CLOCK_BOOTTIME, &boot)
    return ClockReading(
      wallMs: Int64(wall.tv_sec) * 1000 + Int64(wall.tv_nsec) / 1_000_000,
      sinceBootMs: UInt64(boot.tv_sec) * 1000 + UInt64(boot.tv_nsec) / 1_000_000)
  }

  /// Whether the kernel's clock is synchronised (`adjtimex` does not report `TIME_ERROR`, the
  /// test `timedatectl` makes for "System clock synchronized").
  public static let ntpSynchronised: @Sendable () -> Bool = {
    // A zeroed `struct timex` (modes 0) only reads; 512 bytes cover its 208 on every Linux ABI.
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
    defer { buffer.deallocate() }
    buffer.initializeMemory(as: UInt8.self, repeating: 0, count: 512)
    let state = systemAdjtimex(buffer)
    return state >= 0 && state != timeError
  }

  /// `TIME_ERROR` of `<sys/timex.h>`: the clock is not synchronised.
  private static let timeError: Int32 = 5
}

/// `adjtimex(2)`, which Glibc's Swift module does not export.
@_silgen_name("adjtimex")
private func systemAdjtimex(_ buffer: UnsafeMutableRawPointer) -> Int32
