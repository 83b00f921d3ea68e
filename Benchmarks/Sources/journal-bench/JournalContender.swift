import BenchSupport
import Logging
import OutpostCore
import OutpostJournal

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The Outpost ring journal: one `append(contentsOf:durable: true)` per batch (one `pwrite` per
/// chunk, then `fdatasync`), and every batch acknowledged right after, as with a live uplink, so
/// that a long run laps the ring and measures the cleaner's steady state.
final class JournalContender: Contender {
  let path: String
  let journal: RingJournal
  let entries: [JournalEntry]

  /// - Parameter prefill: lap the ring once with acknowledged records before the measurement,
  ///   so that every measured append finds the ring full and the cleaner at work, as on a box
  ///   that has been recording for a while.
  init(path: String, fileSize: UInt64, workload: Workload, prefill: Bool, logger: Logger) throws {
    self.path = path
    let storage = try FileStorage.create(path: path, size: fileSize)
    journal = try RingJournal.create(storage: storage, path: path, logger: logger)
    entries = workload.bodies.map { body in
      JournalEntry(
        kind: Workload.kind, priority: Workload.priority, time: Workload.time, body: body)
    }
    if prefill {
      let filler = [JournalEntry](
        repeating: JournalEntry(
          kind: Workload.kind, priority: Workload.priority, time: Workload.time,
          body: workload.bodies[0]),
        count: 2048)
      let lap = journal.ringSize / UInt64(Self.framedBytesPerRecord) + 1
      while journal.nextSequenceNumber < lap {
        let seqs = try journal.append(contentsOf: filler, durable: false)
        try journal.acknowledge(seqs.first!...seqs.last!)
      }
      try journal.checkpoint()
    }
  }

  func writeDurableBatch() throws {
    let seqs = try journal.append(contentsOf: entries, durable: true)
    try journal.acknowledge(seqs.first!...seqs.last!)
  }

  /// What the run did to the ring: laps, checkpoints, and anything the cleaner had to drop or
  /// move (nothing, when every record is acknowledged as it is written).
  func summary() throws -> String {
    let stats = try journal.statistics()
    let laps = Double(stats.head) / Double(stats.ringBytes)
    return "\(stats.nextSeq) records, \(fixed(laps, 2)) laps of the "
      + "\(fixed(Double(stats.ringBytes) / 1_048_576, 2)) MiB ring, \(stats.generation) checkpoints, \(stats.droppedUnacknowledged) dropped, "
      + "\(stats.relocatedRecords) relocated, \(stats.gapRecords) gap records"
  }

  func finish() throws {
    try journal.close()
    unlink(path)
  }

  /// Bytes one record takes in the journal: the frame around a body of `Workload.bodyLength`.
  static var framedBytesPerRecord: Int {
    JournalFrame.frameLength(bodyLength: Workload.bodyLength)
  }
}

/// The baseline: one batch's bytes (the journal's frames, or for reference the bare bodies) in
/// one `pwrite`, then `fdatasync`, written sequentially through a preallocated, zero-filled file
/// of the journal's size and wrapping to its start at the end, like a ring.
final class RawContender: Contender {
  let path: String
  let fd: Int32
  let size: UInt64
  let batch: [UInt8]
  var offset: UInt64 = 0

  init(path: String, fileSize: UInt64, batch: [UInt8]) throws {
    self.path = path
    size = fileSize
    self.batch = batch
    precondition(UInt64(batch.count) <= fileSize, "a batch larger than the file")
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SystemCallError(call: "open", path: path, code: errno) }
    do {
      // Prepared like the journal's file: allocated, zero-filled, synced.
      let rc = posix_fallocate(fd, 0, off_t(fileSize))
      if rc != 0 && rc != EOPNOTSUPP && rc != EINVAL {
        throw SystemCallError(call: "posix_fallocate", path: path, code: rc)
      }
      let zeros = [UInt8](repeating: 0, count: 1 << 20)
      var at: UInt64 = 0
      while at < fileSize {
        let n = Int(min(UInt64(zeros.count), fileSize - at))
        try zeros.withUnsafeBytes { bytes in
          try writeAll(UnsafeRawBufferPointer(rebasing: bytes[0..<n]), at: at)
        }
        at += UInt64(n)
      }
      guard fsync(fd) == 0 else { throw SystemCallError(call: "fsync", path: path, code: errno) }
    } catch {
      close(fd)
      unlink(path)
      throw error
    }
  }

  func writeDurableBatch() throws {
    if offset + UInt64(batch.count) > size { offset = 0 }
    try batch.withUnsafeBytes { try writeAll($0, at: offset) }
    offset += UInt64(batch.count)
    while fdatasync(fd) != 0 {
      if errno == EINTR { continue }
      throw SystemCallError(call: "fdatasync", path: path, code: errno)
    }
  }

  func finish() throws {
    close(fd)
    unlink(path)
  }

  private func writeAll(_ bytes: UnsafeRawBufferPointer, at start: UInt64) throws {
    var done = 0
    while done < bytes.count {
      let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(start) + off_t(done))
      if n < 0 {
        if errno == EINTR { continue }
        throw SystemCallError(call: "pwrite", path: path, code: errno)
      }
      done += n
    }
  }
}
