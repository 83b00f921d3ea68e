import OutpostCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The clocks `outpostctl` stamps test records with and times group commit by.
///
/// `outpostctl` does not know whether NTP or GPS has set the wall clock, nor the box's boot
/// counter (the agent keeps that), so its records say "untrusted, boot 0" and carry the real
/// time since boot, which lets a later anchor correct them like any other untrusted time.
enum RecordClock {
  /// A record time for now: wall clock from `CLOCK_REALTIME`, untrusted, boot 0, and the time
  /// since boot from `CLOCK_BOOTTIME` (which, unlike `CLOCK_MONOTONIC`, keeps counting while
  /// the box is suspended).
  static func now() -> RecordTime {
    let wall = read(CLOCK_REALTIME)
    let wallMs = Int64(wall.tv_sec) * 1000 + Int64(wall.tv_nsec) / 1_000_000
    return RecordTime(
      wallMs: wallMs, clockTrusted: false, boot: 0, sinceBootMs: milliseconds(CLOCK_BOOTTIME))
  }

  /// Monotonic milliseconds from an arbitrary origin, for measuring intervals.
  static func monotonicMs() -> UInt64 {
    milliseconds(CLOCK_MONOTONIC)
  }

  private static func milliseconds(_ clock: clockid_t) -> UInt64 {
    let t = read(clock)
    return UInt64(t.tv_sec) * 1000 + UInt64(t.tv_nsec) / 1_000_000
  }

  private static func read(_ clock: clockid_t) -> timespec {
    var t = timespec()
    // Fails only for an unknown clock id, and these ids exist on every Linux we support.
    let rc = clock_gettime(clock, &t)
    precondition(rc == 0, "clock_gettime(\(clock)) failed")
    return t
  }
}
