import Glibc

/// `x` with exactly `digits` decimals, rounded half away from zero; "n/a" when not finite.
func fixed(_ x: Double, _ digits: Int) -> String {
  guard x.isFinite else { return "n/a" }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let scaled = (abs(x) * scale).rounded()
  let whole = Int(scaled / scale)
  let fraction = Int(scaled - Double(whole) * scale)
  var text = (x < 0 && scaled != 0 ? "-" : "") + String(whole)
  if digits > 0 {
    let f = String(fraction)
    text += "." + String(repeating: "0", count: digits - f.count) + f
  }
  return text
}

/// What the figures were measured on.
enum MeasuredOn {
  /// "Linux 6.1.0-18-amd64 x86_64", from `uname(2)`.
  static func kernel() -> String {
    var u = utsname()
    guard uname(&u) == 0 else { return "unknown" }
    func field<T>(_ value: inout T) -> String {
      withUnsafeBytes(of: &value) { bytes in
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
      }
    }
    return "\(field(&u.sysname)) \(field(&u.release)) \(field(&u.machine))"
  }

  /// "2026-11-22 07:36 UTC": now, to the minute.
  static func dateUTC() -> String {
    var now = time(nil)
    var parts = tm()
    guard gmtime_r(&now, &parts) != nil else { return "unknown" }
    var buffer = [CChar](repeating: 0, count: 64)
    let n = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M UTC", &parts)
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The processors online.
  static func cores() -> Int { sysconf(Int32(_SC_NPROCESSORS_ONLN)) }
}
