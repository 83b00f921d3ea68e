/// When a record was taken, as well as the box could tell.
///
/// Boxes often have no real-time clock and no GPS fix at boot, so the wall clock may be wrong
/// until NTP or GPS sets it. Every record therefore also carries the boot it was taken in and the
/// monotonic time since that boot. Once a trusted wall-clock time is known for a boot (a
/// ``TimeAnchor``), every untrusted time of that boot can be corrected with ``corrected(by:)``.
public struct RecordTime: Sendable, Hashable {
  /// Milliseconds since the Unix epoch, by the box's wall clock when the record was taken.
  public var wallMs: Int64
  /// Whether the wall clock had been set from a trusted source (GPS, NTP) in this boot.
  public var clockTrusted: Bool
  /// The box's boot counter: increments once per boot, persisted by the agent.
  public var boot: UInt32
  /// Milliseconds since that boot, from a monotonic clock that never jumps.
  public var sinceBootMs: UInt64

  public init(wallMs: Int64, clockTrusted: Bool, boot: UInt32, sinceBootMs: UInt64) {
    self.wallMs = wallMs
    self.clockTrusted = clockTrusted
    self.boot = boot
    self.sinceBootMs = sinceBootMs
  }

  /// The same instant on a trusted wall clock, when `anchor` belongs to the same boot.
  ///
  /// - Returns: `self` unchanged when the time was already trusted or the anchor is from another
  ///   boot (monotonic time does not carry across boots); otherwise the corrected time, marked
  ///   trusted.
  public func corrected(by anchor: TimeAnchor) -> RecordTime {
    guard !clockTrusted, anchor.boot == boot else { return self }
    let delta = Int64(bitPattern: sinceBootMs &- anchor.sinceBootMs)
    return RecordTime(
      wallMs: anchor.wallMs &+ delta, clockTrusted: true, boot: boot, sinceBootMs: sinceBootMs)
  }
}

/// A moment at which both a trusted wall-clock time and the monotonic time of one boot are known,
/// for example the first GPS fix after boot.
public struct TimeAnchor: Sendable, Hashable {
  public var boot: UInt32
  public var sinceBootMs: UInt64
  /// Trusted milliseconds since the Unix epoch at `sinceBootMs`.
  public var wallMs: Int64

  public init(boot: UInt32, sinceBootMs: UInt64, wallMs: Int64) {
    self.boot = boot
    self.sinceBootMs = sinceBootMs
    self.wallMs = wallMs
  }
}
