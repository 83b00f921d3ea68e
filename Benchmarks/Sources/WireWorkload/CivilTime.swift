/// Calendar dates to and from days since 1970-01-01 (proleptic Gregorian), after Howard
/// Hinnant's `days_from_civil` / `civil_from_days`. No Foundation.
public enum CivilTime {
  /// Days since 1970-01-01 of `year`-`month`-`day`.
  public static func days(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }

  /// The date of `days` since 1970-01-01.
  public static func date(days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  /// Milliseconds since the Unix epoch of a UTC date and time.
  public static func milliseconds(
    year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int = 0
  ) -> Int64 {
    let seconds =
      Int64(days(year: year, month: month, day: day)) * 86_400
      + Int64(hour * 3600 + minute * 60 + second)
    return seconds * 1000 + Int64(millisecond)
  }

  /// The UTC calendar fields of `ms` since the Unix epoch (whole seconds).
  public static func fields(
    ms: Int64
  ) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
    let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
    let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let inDay = Int(seconds - days * 86_400)
    let date = date(days: Int(days))
    return (date.year, date.month, date.day, inDay / 3600, inDay / 60 % 60, inDay % 60)
  }
}
