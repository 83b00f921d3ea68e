#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A journal file on a real file system: `pread`, `pwrite`, `fdatasync`.
///
/// The file is created at its full size and filled with zeros once, so later writes overwrite
/// allocated blocks in place and `fdatasync` has no file-size or extent metadata to flush.
public final class FileStorage: JournalStorage {
  public let path: String
  public let size: UInt64
  private let fd: Int32

  /// Opens an existing file, for reading and writing unless `readOnly` (inspection tools need
  /// no write permission; their writes fail with `EBADF`).
  ///
  /// - Throws: ``StorageError`` with the path and errno when the file cannot be opened.
  public init(path: String, readOnly: Bool = false) throws {
    let fd = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
    guard fd >= 0 else { throw StorageError(.open, errno: errno, path: path) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      let e = errno
      close(fd)
      throw StorageError(.open, errno: e, path: path)
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      close(fd)
      throw StorageError(.open, errno: EISDIR, path: path)
    }
    self.fd = fd
    self.path = path
    self.size = UInt64(st.st_size)
  }

  /// Creates a new file of exactly `size` bytes, zero-filled and synced, with owner-only
  /// permissions. Fails if the file already exists.
  ///
  /// - Throws: ``StorageError`` (`EEXIST` when the file is there, `ENOSPC` when the disk cannot
  ///   hold it; a partly written file is removed again).
  public static func create(path: String, size: UInt64) throws -> FileStorage {
    let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw StorageError(.open, errno: errno, path: path) }
    do throws {
      let rc = posix_fallocate(fd, 0, off_t(size))
      if rc != 0 && rc != EOPNOTSUPP && rc != EINVAL {
        throw StorageError(.allocate, errno: rc, path: path)
      }
      let chunk = [UInt8](repeating: 0, count: 1 << 20)
      var offset: UInt64 = 0
      while offset < size {
        let n = Int(min(UInt64(chunk.count), size - offset))
        try chunk.withUnsafeBytes { bytes throws in
          try Self.writeAll(
            fd: fd, UnsafeRawBufferPointer(rebasing: bytes[0..<n]), at: offset, path: path)
        }
        offset += UInt64(n)
      }
      guard fsync(fd) == 0 else { throw StorageError(.sync, errno: errno, path: path) }
      close(fd)
      Self.syncDirectory(of: path)
    } catch {
      close(fd)
      unlink(path)
      throw error
    }
    return try FileStorage(path: path)
  }

  /// Takes an exclusive advisory lock, so a second writer (an agent, or `outpostctl journal
  /// append`) cannot interleave frames with the first. Released when the storage is closed.
  ///
  /// - Throws: ``StorageError`` with `EWOULDBLOCK` when another process holds the journal.
  public func lockForWriting() throws {
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      if errno == EINTR { continue }
      throw StorageError(.lock, errno: errno, path: path)
    }
  }

  deinit {
    close(fd)
  }

  public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64)
    throws -> Int
  {
    var done = 0
    while done < buffer.count {
      let n = pread(
        fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
      if n < 0 {
        if errno == EINTR { continue }
        throw StorageError(.read, offset: offset + UInt64(done), errno: errno, path: path)
      }
      if n == 0 { break }
      done += n
    }
    return done
  }

  public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
    guard offset + UInt64(bytes.count) <= size else {
      throw StorageError(.write, offset: offset, errno: ENOSPC, path: path)
    }
    try Self.writeAll(fd: fd, bytes, at: offset, path: path)
  }

  public func sync() throws {
    while fdatasync(fd) != 0 {
      if errno == EINTR { continue }
      throw StorageError(.sync, errno: errno, path: path)
    }
  }

  private static func writeAll(
    fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String
  ) throws {
    var done = 0
    while done < bytes.count {
      let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
      if n < 0 {
        if errno == EINTR { continue }
        throw StorageError(.write, offset: offset + UInt64(done), errno: errno, path: path)
      }
      done += n
    }
  }

  /// Renames `from` to `to`, replacing `to`, and makes the rename durable.
  ///
  /// - Throws: ``StorageError`` with both paths' errno when the rename fails.
  public static func rename(_ from: String, to: String) throws {
    guard renameEntry(from, to) == 0 else {
      throw StorageError(.open, errno: errno, path: to)
    }
    syncDirectory(of: to)
  }

  /// Removes a file if it is there.
  public static func remove(_ path: String) {
    unlink(path)
  }

  /// Makes the new directory entry durable, so a created journal survives a power cut.
  private static func syncDirectory(of path: String) {
    var directory = path
    if let slash = directory.lastIndex(of: "/") {
      directory = slash == directory.startIndex ? "/" : String(directory[..<slash])
    } else {
      directory = "."
    }
    let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dfd >= 0 else { return }
    _ = fsync(dfd)
    close(dfd)
  }
}

/// The C library's `rename`, out of reach of ``FileStorage/rename(_:to:)``'s name.
private func renameEntry(_ from: String, _ to: String) -> Int32 {
  rename(from, to)
}
