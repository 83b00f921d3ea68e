/// A set of sequence numbers kept as sorted, disjoint, non-adjacent closed ranges.
///
/// Acknowledgements arrive mostly in order, with alarms overtaking the backlog, so the set of
/// acknowledged numbers stays a handful of ranges however many records it covers.
public struct SeqRangeSet: Sendable, Hashable, CustomStringConvertible {
  public private(set) var ranges: [ClosedRange<UInt64>] = []

  public init() {}

  public init(_ ranges: some Sequence<ClosedRange<UInt64>>) {
    for range in ranges { insert(range) }
  }

  public var isEmpty: Bool { ranges.isEmpty }

  /// Whether `seq` is in the set. O(log ranges).
  public func contains(_ seq: UInt64) -> Bool {
    var low = 0
    var high = ranges.count
    while low < high {
      let mid = (low + high) / 2
      if ranges[mid].upperBound < seq {
        low = mid + 1
      } else {
        high = mid
      }
    }
    return low < ranges.count && ranges[low].contains(seq)
  }

  /// Adds every number in `range`, merging with overlapping or adjacent ranges.
  public mutating func insert(_ range: ClosedRange<UInt64>) {
    var lower = range.lowerBound
    var upper = range.upperBound
    var merged: [ClosedRange<UInt64>] = []
    merged.reserveCapacity(ranges.count + 1)
    var placed = false
    for existing in ranges {
      let touchesBelow = existing.upperBound == UInt64.max || existing.upperBound + 1 >= lower
      let touchesAbove = upper == UInt64.max || existing.lowerBound <= upper + 1
      if touchesBelow && touchesAbove {
        lower = min(lower, existing.lowerBound)
        upper = max(upper, existing.upperBound)
      } else if existing.upperBound < lower {
        merged.append(existing)
      } else {
        if !placed {
          merged.append(lower...upper)
          placed = true
        }
        merged.append(existing)
      }
    }
    if !placed { merged.append(lower...upper) }
    ranges = merged
  }

  public mutating func insert(_ seq: UInt64) { insert(seq...seq) }

  /// Removes every number below `floor`.
  public mutating func removeAll(below floor: UInt64) {
    ranges = ranges.compactMap { range in
      if range.upperBound < floor { return nil }
      return max(range.lowerBound, floor)...range.upperBound
    }
  }

  /// The smallest number not in the set that is at least `start`.
  public func firstMissing(from start: UInt64) -> UInt64 {
    var candidate = start
    for range in ranges where range.contains(candidate) {
      guard range.upperBound < UInt64.max else { return UInt64.max }
      candidate = range.upperBound + 1
    }
    return candidate
  }

  public var description: String {
    ranges.map {
      $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)"
    }
    .joined(separator: ",")
  }
}
