import OutpostCore

/// A cache of one stretch of the ring's bytes, so scans read the file in large pieces rather
/// than a frame at a time.
struct ReadWindow {
  let ringOffset: UInt64
  let ringSize: UInt64
  var start: UInt64 = 0
  var bytes: [UInt8] = []
  static let chunk = 64 * 1024

  init(ringOffset: UInt64, ringSize: UInt64) {
    self.ringOffset = ringOffset
    self.ringSize = ringSize
  }

  mutating func invalidate(physical: UInt64, count: Int) {
    if physical < start + UInt64(bytes.count) && physical + UInt64(count) > start {
      bytes = []
    }
  }

  /// Up to `count` bytes at physical offset `physical`, never past the end of the ring.
  mutating func read(
    _ storage: any JournalStorage, physical: UInt64, count: Int
  ) throws -> ArraySlice<UInt8> {
    let ringEnd = ringOffset + ringSize
    let wanted = Int(min(UInt64(count), ringEnd - physical))
    if physical < start || physical + UInt64(wanted) > start + UInt64(bytes.count) {
      let size = Int(min(UInt64(max(Self.chunk, wanted)), ringEnd - physical))
      var fresh = [UInt8](repeating: 0, count: size)
      let got: Int
      do {
        got = try fresh.withUnsafeMutableBytes { b throws in
          try storage.read(into: b, at: physical)
        }
      } catch let error as StorageError {
        throw JournalError.storage(error)
      }
      fresh.removeLast(size - got)
      start = physical
      bytes = fresh
    }
    let from = Int(physical - start)
    return bytes[from..<min(bytes.count, from + wanted)]
  }
}

/// What lies at one logical offset of the ring.
enum FrameAt {
  /// A checked record frame.
  case record(JournalFrame.Decoded)
  /// A padding frame: continue at the next lap.
  case padding
  /// Too little room before the ring's end for any frame: continue at the next lap.
  case ringEnd
  /// No valid frame here. `torn` when a frame header was there but its checksum failed.
  case invalid(torn: Bool)
}

extension RingJournal {
  /// Reads and checks the frame at `logical`. Never returns a frame that fails its checks.
  func frame(at logical: UInt64) throws -> FrameAt {
    let room = roomToRingEnd(logical)
    if room < UInt64(JournalFrame.minFrameLength) { return .ringEnd }
    let at = physical(logical)
    let header = try window.read(storage, physical: at, count: 16)
    let length: Int? = header.withUnsafeBytes {
      JournalFrame.announcedLength($0, expectedLogicalOffset: logical)
    }
    guard let length, UInt64(length) <= room else { return .invalid(torn: false) }
    let bytes = try window.read(storage, physical: at, count: length)
    let result = bytes.withUnsafeBytes {
      JournalFrame.decode($0, expectedLogicalOffset: logical)
    }
    switch result {
    case .success(let decoded):
      return decoded.isPadding ? .padding : .record(decoded)
    case .failure(.damaged):
      return .invalid(torn: true)
    case .failure:
      return .invalid(torn: false)
    }
  }

  /// The header of the valid frame at `logical`, checked but not decoded; nil where there is
  /// no valid frame.
  func checkedHeader(at logical: UInt64) throws -> JournalFrame.Header? {
    let room = roomToRingEnd(logical)
    guard room >= UInt64(JournalFrame.minFrameLength) else { return nil }
    let at = physical(logical)
    let start = try window.read(storage, physical: at, count: 16)
    guard
      let length = start.withUnsafeBytes({
        JournalFrame.announcedLength($0, expectedLogicalOffset: logical)
      }), UInt64(length) <= room
    else { return nil }
    return try window.read(storage, physical: at, count: length).withUnsafeBytes {
      JournalFrame.checkedHeader($0, expectedLogicalOffset: logical)
    }
  }

  /// The first logical offset after `logical` and before `limit` where a valid frame starts, or
  /// nil. Frames are 8-byte aligned, so only aligned offsets are tried.
  func resynchronize(after logical: UInt64, before limit: UInt64) throws -> UInt64? {
    var candidate = logical + UInt64(JournalFrame.alignment)
    while candidate < limit {
      if roomToRingEnd(candidate) < UInt64(JournalFrame.minFrameLength) {
        candidate = nextLap(candidate)
        continue
      }
      let at = physical(candidate)
      let marker = try window.read(storage, physical: at, count: 16)
      if marker.count == 16,
        marker.withUnsafeBytes({
          $0.loadLE(UInt16.self, at: 0) == JournalFrame.magic
            && $0.loadLE(UInt64.self, at: 8) == candidate
        })
      {
        switch try frame(at: candidate) {
        case .record, .padding: return candidate
        case .ringEnd, .invalid: break
        }
      }
      candidate += UInt64(JournalFrame.alignment)
    }
    return nil
  }

  /// One step of a scan over `[from, limit)`: the record there, or how to move on.
  enum ScanStep {
    case record(JournalFrame.Decoded, next: UInt64)
    case skip(next: UInt64)
    case damaged(next: UInt64)
    case end
  }

  /// Reads the frame at `logical` within `[logical, limit)` and says where the next one starts.
  /// Damaged bytes are skipped up to the next valid frame (or `limit`).
  func scanStep(at logical: UInt64, limit: UInt64) throws -> ScanStep {
    guard logical < limit else { return .end }
    switch try frame(at: logical) {
    case .record(let decoded):
      return .record(decoded, next: logical + UInt64(decoded.length))
    case .padding, .ringEnd:
      return .skip(next: nextLap(logical))
    case .invalid:
      let next = try resynchronize(after: logical, before: limit) ?? limit
      return .damaged(next: next)
    }
  }
}
