import OutpostTestKit

/// The draws the synthetic workloads need, on the project's seeded generator (SplitMix64, in
/// `OutpostTestKit`), so that every workload is the same on every run and every machine.
/// Nothing here uses the system's randomness.
extension SeededRandom {
  /// Uniform in [0, 1), 53 bits.
  public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// Uniform in `range`.
  public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
    range.lowerBound + (range.upperBound - range.lowerBound) * unit()
  }

  /// Uniform in 0..<`bound` (multiply-high; the bias is below 2^-32 for the small bounds used).
  public mutating func below(_ bound: Int) -> Int {
    precondition(bound > 0)
    return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
  }

  /// Approximately standard normal: the sum of twelve uniforms, less 6 (Irwin–Hall). Exact
  /// enough for GPS noise, and needs no logarithms.
  public mutating func gaussian() -> Double {
    var sum = 0.0
    for _ in 0..<12 { sum += unit() }
    return sum - 6
  }
}
