#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Wall-clock times as people read them, in UTC so that a dump reads the same on every box.
public enum UTCTime {
  /// `ms` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
  public static func iso8601(ms: Int64) -> String {
    // Floor division, so times before 1970 keep a millisecond part in 0..<1000.
    var seconds = ms / 1000
    var millis = ms % 1000
    if millis < 0 {
      seconds -= 1
      millis += 1000
    }
    var t = time_t(seconds)
    var parts = tm()
    guard gmtime_r(&t, &parts) != nil else { return "\(ms)ms" }
    return padded(Int64(parts.tm_year) + 1900, width: 4) + "-"
      + padded(Int64(parts.tm_mon) + 1, width: 2) + "-" + padded(Int64(parts.tm_mday), width: 2)
      + "T" + padded(Int64(parts.tm_hour), width: 2) + ":" + padded(Int64(parts.tm_min), width: 2)
      + ":" + padded(Int64(parts.tm_sec), width: 2) + "." + padded(millis, width: 3) + "Z"
  }

  /// `value` in decimal, zero-padded on the left to `width` digits.
  public static func padded(_ value: some BinaryInteger, width: Int) -> String {
    let digits = String(value)
    return digits.count >= width
      ? digits : String(repeating: "0", count: width - digits.count) + digits
  }
}
