import OutpostCore

/// A cache of one stretch of the ring's bytes, so scans read the file in large pieces rather
/// than a frame at a time.
struct ReadWindow {
  let ringOffset: UInt64
  let ringSize: UInt64
  var start: UInt64 = 0
  /// The buffer, reused from read to read; only its first `valid` bytes hold file content.
  var bytes: [UInt8] = []
  var valid = 0
  static let chunk = 64 * 1024

  init(ringOffset: UInt64, ringSize: UInt64) {
    self.ringOffset = ringOffset
    self.ringSize = ringSize
  }

  mutating func invalidate(physical: UInt64, count: Int) {
    if physical < start + UInt64(valid) && physical + UInt64(count) > start {
      valid = 0
    }
  }

  /// Up to `count` bytes at physical offset `physical`, never past the end of the ring.
  mutating func read(
    _ storage: any JournalStorage, physical: UInt64, count: Int
  ) throws -> ArraySlice<UInt8> {
    let (from, available) = try load(storage, physical: physical, count: count)
    return bytes[from..<(from + available)]
  }

  /// Calls `body` with up to `count` bytes at physical offset `physical` (fewer only at the
  /// ring's end or the storage's end), without copying them out of the window.
  mutating func withBytes<R>(
    _ storage: any JournalStorage, physical: UInt64, count: Int,
    _ body: (UnsafeRawBufferPointer) throws -> R
  ) throws -> R {
    let (from, available) = try load(storage, physical: physical, count: count)
    return try bytes.withUnsafeBytes { all in
      try body(UnsafeRawBufferPointer(rebasing: all[from..<(from + available)]))
    }
  }

  /// Makes sure the window holds `count` bytes at `physical` (or all there are before the ring's
  /// end), reading a chunk into the reused buffer when it does not; returns where they start in
  /// the buffer and how many there are.
  private mutating func load(
    _ storage: any JournalStorage, physical: UInt64, count: Int
  ) throws -> (from: Int, available: Int) {
    let ringEnd = ringOffset + ringSize
    let wanted = Int(min(UInt64(count), ringEnd - physical))
    if physical < start || physical + UInt64(wanted) > start + UInt64(valid) {
      let size = Int(min(UInt64(max(Self.chunk, wanted)), ringEnd - physical))
      if bytes.count < size { bytes = [UInt8](repeating: 0, count: size) }
      let got: Int
      do {
        got = try bytes.withUnsafeMutableBytes { b in
          try storage.read(into: UnsafeMutableRawBufferPointer(rebasing: b[0..<size]), at: physical)
        }
      } catch let error as StorageError {
        valid = 0
        throw JournalError.storage(error)
      }
      start = physical
      valid = got
    }
    let from = Int(physical - start)
    return (from, max(0, min(valid - from, wanted)))
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
    let limit = Int(min(room, UInt64(JournalFrame.maxFrameLength)))
    let result = try window.withBytes(storage, physical: physical(logical), count: limit) {
      bytes -> Result<JournalFrame.Decoded, JournalFrame.Failure>? in
      guard let length = JournalFrame.announcedLength(bytes, expectedLogicalOffset: logical),
        UInt64(length) <= room
      else { return nil }
      return JournalFrame.decode(bytes, expectedLogicalOffset: logical)
    }
    guard let result else { return .invalid(torn: false) }
    switch result {
    case .success(let decoded):
      return decoded.isPadding ? .padding : .record(decoded)
    case .failure(.damaged):
      return .invalid(torn: true)
    case .failure:
      return .invalid(torn: false)
    }
  }

  /// The header of the frame at `logical` without decoding the record: checksum included inside
  /// the suspect stretch (where recovery found torn writes), the cheap checks only elsewhere —
  /// every frame there was written whole and counted. Nil where there is no frame.
  func reclaimableHeader(at logical: UInt64) throws -> JournalFrame.Header? {
    let room = roomToRingEnd(logical)
    guard room >= UInt64(JournalFrame.minFrameLength) else { return nil }
    let at = physical(logical)
    let limit = Int(min(room, UInt64(JournalFrame.maxFrameLength)))
    let verify =
      suspect.map { logical < $0.upperBound && logical + UInt64(limit) > $0.lowerBound }
      ?? false
    return try window.withBytes(storage, physical: at, count: limit) { bytes in
      verify
        ? JournalFrame.checkedHeader(bytes, expectedLogicalOffset: logical)
        : JournalFrame.uncheckedHeader(bytes, expectedLogicalOffset: logical)
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
