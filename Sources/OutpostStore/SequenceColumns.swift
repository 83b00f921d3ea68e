/// How unsigned 64-bit values (journal epochs, sequence numbers, monotonic stamps) live in the
/// signed 64-bit integer columns that SQLite and PostgreSQL offer.
///
/// A value is stored as its bit pattern (`Int64(bitPattern:)`): every value round-trips exactly,
/// and the small values real boxes use read the same in a SQL shell. The price is order: values
/// of 2^63 and above are negative in the column, so an unsigned range is queried as at most two
/// signed ones (``segments(from:)``), lower half first, and ranges that meet at 2^63 are joined
/// again (``joined(_:)``). Epochs are only ever compared for equality, so they need nothing more.
enum SequenceColumns {
  /// The column value of `value`.
  static func column(_ value: UInt64) -> Int64 { Int64(bitPattern: value) }

  /// The value a column holds.
  static func value(_ column: Int64) -> UInt64 { UInt64(bitPattern: column) }

  /// The signed column intervals, in ascending unsigned order, that together hold exactly the
  /// values ≥ `from`. Each interval lies within one sign half, so `column - lower` never
  /// overflows inside it.
  static func segments(from: UInt64) -> [ClosedRange<Int64>] {
    if from <= UInt64(Int64.max) {
      return [Int64(from)...Int64.max, Int64.min...(-1)]
    }
    return [Int64(bitPattern: from)...(-1)]
  }

  /// `ranges` (ascending, not overlapping) with ranges that touch merged into one.
  static func joined(_ ranges: [ClosedRange<UInt64>]) -> [ClosedRange<UInt64>] {
    var result: [ClosedRange<UInt64>] = []
    result.reserveCapacity(ranges.count)
    for range in ranges {
      if let last = result.last, last.upperBound != .max, last.upperBound + 1 >= range.lowerBound {
        result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
      } else {
        result.append(range)
      }
    }
    return result
  }
}
