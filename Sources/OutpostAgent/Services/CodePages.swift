import Glibc
import Logging

/// Gives back the pages of program code and constant data that start-up read but steady running
/// does not use.
///
/// Three things keep untouched code resident in a large static binary:
/// - read-ahead: a fault reads the file around it in large chunks (8 MiB on some machines);
/// - fault-around: a fault also maps the neighbouring pages (64 KiB) found in the page cache;
/// - start-up itself: dynamic linking, the Swift runtime's first conformance and metadata
///   look-ups, building the uplink's TLS context and the first run of each service touch code
///   that is not needed again.
///
/// So the agent advises its file mappings as read at random (`MADV_RANDOM`: no read-ahead on a
/// later fault; Linux 6.16 and later still read ahead for code) first thing in `main`, and at
/// the ends of start-up and hourly gives back what they hold, in three steps:
/// 1. `MADV_PAGEOUT` (Linux 5.4) of the read-only file mappings and of the executable's
///    writable one (`.data`, and the constants the Swift compiler marks writable): the kernel
///    reclaims the clean file pages only this process maps, large folios whole, and at most
///    swaps written pages, never discarding data. It pages out file pages only for a process that may write
///    the file (its owner, or root); for any other it moves nothing but anonymous pages.
/// 2. `MADV_DONTNEED` of the pages of the read-only mappings (code, symbol tables, constants)
///    that are still resident and still the file's, for an agent that step 1 could not help:
///    they leave this process's page tables and come back from the file on their next access,
///    as after the kernel reclaimed them under memory pressure. Pages the dynamic linker
///    relocated are anonymous and hold data; they stay. Nothing can write to a read-only
///    mapping between the look at the page table and the advice, so no data is ever dropped.
/// 3. `POSIX_FADV_DONTNEED` of the executable: its pages that no process maps any more leave
///    the page cache, so that a later fault maps no untouched neighbours. Shared libraries'
///    page cache is left alone: other programs use it.
public enum CodePages {
  /// `MADV_RANDOM` of `<sys/mman.h>`.
  static let adviceRandom: Int32 = 1
  /// `MADV_DONTNEED` of `<sys/mman.h>`.
  static let adviceDontNeed: Int32 = 4
  /// `MADV_PAGEOUT` of `<sys/mman.h>`.
  static let advicePageOut: Int32 = 21
  /// `POSIX_FADV_DONTNEED` of `<fcntl.h>`.
  static let fileAdviceDontNeed: Int32 = 4

  /// A private mapping of a file, from a line of `/proc/self/maps`.
  struct FileMapping: Equatable {
    var range: Range<UInt64>
    var writable: Bool
    /// The file's device, `major:minor` as `/proc/self/maps` writes it (hexadecimal).
    var device: String
    var inode: UInt64

    var start: UnsafeMutableRawPointer? {
      UnsafeMutableRawPointer(bitPattern: UInt(range.lowerBound))
    }
    var length: Int { Int(range.upperBound - range.lowerBound) }
  }

  /// Advises the kernel that this process's private file mappings are read at random, so a
  /// fault brings in the page it needs rather than megabytes of read-ahead. Called first thing
  /// in `main`, before most of the code has run.
  public static func adviseRandomAccess() {
    guard let maps = try? readSmallFile("/proc/self/maps", limit: 1 << 20) else { return }
    for mapping in fileMappings(maps) {
      guard let start = mapping.start else { continue }
      _ = madvise(start, mapping.length, adviceRandom)
    }
  }

  /// Gives back the file-backed pages of this process's private file mappings and the page
  /// cache of its executable that no process maps.
  ///
  /// - Returns: the bytes of file-backed pages dropped from read-only mappings in step 2 (0
  ///   when `/proc/self/maps` cannot be read, and for an agent that step 1 already helped).
  @discardableResult
  public static func releaseUnused(logger: Logger) -> UInt64 {
    guard let maps = try? readSmallFile("/proc/self/maps", limit: 1 << 20) else { return 0 }
    let executable = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
    defer { if executable >= 0 { close(executable) } }
    var identity = stat()
    let knowsExecutable = executable >= 0 && fstat(executable, &identity) == 0
    let pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
    defer { if pagemap >= 0 { close(pagemap) } }
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    var dropped: UInt64 = 0
    var refused: Int32 = 0
    for mapping in fileMappings(maps) {
      guard let start = mapping.start else { continue }
      _ = madvise(start, mapping.length, adviceRandom)
      if mapping.writable {
        guard knowsExecutable, mapping.isFile(of: identity) else { continue }
      }
      if madvise(start, mapping.length, advicePageOut) != 0 { refused = errno }
      guard !mapping.writable, pagemap >= 0 else { continue }
      for run in fileBackedRuns(of: mapping, pagemap: pagemap, pageSize: pageSize) {
        guard let address = UnsafeMutableRawPointer(bitPattern: UInt(run.lowerBound)) else {
          continue
        }
        if madvise(address, Int(run.upperBound - run.lowerBound), adviceDontNeed) == 0 {
          dropped += run.upperBound - run.lowerBound
        } else {
          refused = errno
        }
      }
    }
    if executable >= 0 {
      let failed = posix_fadvise(executable, 0, 0, fileAdviceDontNeed)
      if failed != 0 { refused = failed }
    }
    if refused != 0 {
      logger.debug(
        "the kernel did not release some code pages: \(String(cString: strerror(refused)))")
    }
    return dropped
  }

  /// The address ranges of the pages of `mapping` that are resident and still the file's
  /// (not copied on write), read from `/proc/self/pagemap` (`pagemap`: an open descriptor).
  /// Bit 63 of an entry is "present", bit 61 "file page or shared anonymous"; both are readable
  /// without privileges. Empty when the page table cannot be read.
  static func fileBackedRuns(
    of mapping: FileMapping, pagemap: Int32, pageSize: Int
  ) -> [Range<UInt64>] {
    let size = UInt64(pageSize)
    let count = Int((mapping.range.upperBound - mapping.range.lowerBound) / size)
    var entries = [UInt64](repeating: 0, count: count)
    let expected = count * MemoryLayout<UInt64>.size
    let offset = off_t(mapping.range.lowerBound / size) * off_t(MemoryLayout<UInt64>.size)
    let got = entries.withUnsafeMutableBytes { pread(pagemap, $0.baseAddress, expected, offset) }
    guard got == expected else { return [] }
    var runs: [Range<UInt64>] = []
    var runStart: UInt64?
    for (index, entry) in entries.enumerated() {
      let address = mapping.range.lowerBound + UInt64(index) * size
      if entry & (1 << 63) != 0 && entry & (1 << 61) != 0 {
        if runStart == nil { runStart = address }
      } else if let start = runStart {
        runs.append(start..<address)
        runStart = nil
      }
    }
    if let start = runStart { runs.append(start..<mapping.range.upperBound) }
    return runs
  }

  /// The private mappings of files in `maps` (the text of `/proc/self/maps`): readable, not
  /// shared, with an inode and a path. Anonymous and special mappings (`[vdso]`, `[stack]`)
  /// and shared ones are left out.
  static func fileMappings(_ maps: String) -> [FileMapping] {
    var mappings: [FileMapping] = []
    for line in maps.split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 6, let inode = UInt64(fields[4]), inode != 0,
        fields[5].hasPrefix("/")
      else { continue }
      let permissions = Array(fields[1].utf8)
      guard permissions.count == 4, permissions[0] == UInt8(ascii: "r"),
        permissions[3] == UInt8(ascii: "p")
      else { continue }
      let bounds = fields[0].split(separator: "-")
      guard bounds.count == 2, let low = UInt64(bounds[0], radix: 16),
        let high = UInt64(bounds[1], radix: 16), high > low
      else { continue }
      mappings.append(
        FileMapping(
          range: low..<high, writable: permissions[1] == UInt8(ascii: "w"),
          device: String(fields[3]), inode: inode))
    }
    return mappings
  }
}

extension CodePages.FileMapping {
  /// Whether this is a mapping of the file `identity` describes (its `stat`).
  func isFile(of identity: stat) -> Bool {
    let parts = device.split(separator: ":")
    guard parts.count == 2, let major = UInt32(parts[0], radix: 16),
      let minor = UInt32(parts[1], radix: 16)
    else { return false }
    // glibc's encoding of dev_t (`major` and `minor` of <sys/sysmacros.h> are macros).
    let dev = UInt64(identity.st_dev)
    let fileMajor = UInt32(truncatingIfNeeded: (dev >> 8) & 0xfff | (dev >> 32) & ~0xfff)
    let fileMinor = UInt32(truncatingIfNeeded: dev & 0xff | (dev >> 12) & ~0xff)
    return inode == UInt64(identity.st_ino) && major == fileMajor && minor == fileMinor
  }
}
