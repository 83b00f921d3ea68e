import OutpostJournal

/// A disk in memory that fails the way real ones do, driven by a seeded random generator.
///
/// - Writes land in a volatile layer; reads see them. ``sync()`` makes them durable.
/// - ``crash()`` loses the volatile layer the way a power cut does: each unsynced write is kept,
///   dropped, or torn (an arbitrary subset of its bytes reaches the platter, in 1-byte to
///   sector-sized pieces, at arbitrary byte boundaries).
/// - ``flipBits(_:in:)`` decays durable bytes at rest.
/// - Writes and syncs fail with EIO or ENOSPC at the configured rates; a failed write may have
///   written part of its bytes.
///
/// Unchecked `Sendable`: like a real disk it is shared between the code under test (inside a
/// `JournalWriter` actor) and the test that crashes it, but the test only touches it while the
/// writer is idle, so accesses never overlap.
public final class SimulatedDisk: JournalStorage, @unchecked Sendable {
  /// Fault rates, each a probability per call.
  public struct Faults: Sendable {
    public var writeEIO: Double = 0
    public var writeENOSPC: Double = 0
    public var syncEIO: Double = 0
    /// Per unsynced write at a crash: probability it is dropped entirely / torn; else kept.
    public var dropAtCrash: Double = 0.3
    public var tearAtCrash: Double = 0.3

    public init() {}

    /// No injected I/O errors; crashes still drop and tear unsynced writes.
    public static let crashesOnly = Faults()
  }

  public let size: UInt64
  public var faults: Faults
  public private(set) var durable: [UInt8]
  private var volatile: [(offset: Int, bytes: [UInt8])] = []
  private var view: [UInt8]
  private var random: SeededRandom
  public private(set) var writes = 0
  public private(set) var syncs = 0
  public private(set) var crashes = 0
  /// Bytes handed out by ``read(into:at:)`` so far; tests use it to bound recovery work.
  public var bytesRead: UInt64 = 0

  public init(size: UInt64, seed: UInt64, faults: Faults = .crashesOnly) {
    self.size = size
    self.faults = faults
    durable = [UInt8](repeating: 0, count: Int(size))
    view = durable
    random = SeededRandom(seed: seed)
  }

  /// A disk whose durable content is `bytes` (for loading a copy of a real file).
  public init(bytes: [UInt8], seed: UInt64) {
    size = UInt64(bytes.count)
    faults = .crashesOnly
    durable = bytes
    view = bytes
    random = SeededRandom(seed: seed)
  }

  /// Bytes as a reader sees them now (durable plus unsynced writes).
  public var currentBytes: [UInt8] { view }

  public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
    let start = Int(min(offset, size))
    let count = min(buffer.count, Int(size) - start)
    bytesRead += UInt64(count)
    view.withUnsafeBytes { src in
      buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[start..<(start + count)]))
    }
    return count
  }

  public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
    writes += 1
    guard offset + UInt64(bytes.count) <= size else {
      throw StorageError(.write, offset: offset, errno: StorageError.enospc)
    }
    let start = Int(offset)
    if random.chance(faults.writeEIO) || random.chance(faults.writeENOSPC) {
      let errno = random.chance(0.5) ? StorageError.eio : StorageError.enospc
      // A failed write may still have written a prefix.
      let partial = Int.random(in: 0...bytes.count, using: &random)
      apply(Array(bytes[0..<partial]), at: start)
      throw StorageError(.write, offset: offset, errno: errno)
    }
    apply(Array(bytes), at: start)
  }

  public func sync() throws {
    syncs += 1
    if random.chance(faults.syncEIO) {
      throw StorageError(.sync, errno: StorageError.eio)
    }
    durable = view
    volatile.removeAll()
  }

  /// A power cut: unsynced writes are kept, dropped or torn at random; then the durable bytes
  /// are all that is left.
  public func crash() {
    crashes += 1
    var result = durable
    for write in volatile {
      if random.chance(faults.dropAtCrash) { continue }
      if random.chance(faults.tearAtCrash / max(1e-9, 1 - faults.dropAtCrash)) {
        // Persist arbitrary pieces of the write, at arbitrary byte boundaries.
        var i = 0
        while i < write.bytes.count {
          let piece = Int.random(in: 1...512, using: &random)
          let end = min(write.bytes.count, i + piece)
          if random.chance(0.5) {
            result.replaceSubrange(
              (write.offset + i)..<(write.offset + end), with: write.bytes[i..<end])
          }
          i = end
        }
      } else {
        result.replaceSubrange(write.offset..<(write.offset + write.bytes.count), with: write.bytes)
      }
    }
    durable = result
    view = result
    volatile.removeAll()
  }

  /// Flips `count` random bits of the durable bytes within `range` (default: everywhere).
  public func flipBits(_ count: Int, in range: Range<Int>? = nil) {
    let range = range ?? 0..<Int(size)
    for _ in 0..<count {
      let index = Int.random(in: range, using: &random)
      let bit = UInt8(1) << UInt8.random(in: 0..<8, using: &random)
      durable[index] ^= bit
      view[index] ^= bit
    }
  }

  /// Overwrites durable bytes directly (tests that craft damage).
  public func overwrite(_ bytes: [UInt8], at offset: Int) {
    durable.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    view.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
  }

  private func apply(_ bytes: [UInt8], at offset: Int) {
    guard !bytes.isEmpty else { return }
    volatile.append((offset, bytes))
    view.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
  }
}
