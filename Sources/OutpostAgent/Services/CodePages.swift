import Glibc
import Logging

/// Gives back the pages of program code that start-up read but steady running does not use.
///
/// The kernel reads a program's code ahead in large chunks (8 MiB on some machines), so most
/// of a static binary's code ends up resident although the agent touches a small part of it.
/// After start-up the agent tells the kernel that its read-only file mappings are read at
/// random (`MADV_RANDOM`: no read-ahead on a later fault) and asks it to reclaim their pages
/// (`MADV_PAGEOUT`, Linux 5.4 and later); pages still in use come back one by one on their next
/// access. Only read-only file-backed mappings are touched, and `MADV_PAGEOUT` never discards
/// data, so nothing a page holds is lost (relocated read-only data is kept or swapped, never
/// re-read from the file).
public enum CodePages {
  /// `MADV_RANDOM` of `<sys/mman.h>`.
  static let adviceRandom: Int32 = 1
  /// `MADV_PAGEOUT` of `<sys/mman.h>`.
  static let advicePageOut: Int32 = 21

  /// Advises the kernel that this process's read-only file mappings are read at random, so a
  /// fault brings in the page it needs rather than megabytes of read-ahead. Called first thing
  /// in `main`, before most of the code has run.
  public static func adviseRandomAccess() {
    forEachReadOnlyFileMapping { start, length in _ = madvise(start, length, adviceRandom) }
  }

  /// Advises and reclaims the read-only file mappings of this process.
  ///
  /// - Returns: the bytes of the mappings advised (0 when `/proc/self/maps` cannot be read).
  @discardableResult
  public static func releaseUnused(logger: Logger) -> UInt64 {
    var advised: UInt64 = 0
    var refused: Int32 = 0
    forEachReadOnlyFileMapping { start, length in
      _ = madvise(start, length, adviceRandom)
      if madvise(start, length, advicePageOut) == 0 {
        advised += UInt64(length)
      } else {
        refused = errno
      }
    }
    if refused != 0 {
      logger.debug(
        "the kernel did not reclaim some code pages: \(String(cString: strerror(refused)))")
    }
    return advised
  }

  /// Calls `body` with the start and length of every read-only file mapping of this process;
  /// nothing when `/proc/self/maps` cannot be read.
  private static func forEachReadOnlyFileMapping(
    _ body: (UnsafeMutableRawPointer, Int) -> Void
  ) {
    guard let maps = try? readSmallFile("/proc/self/maps", limit: 1 << 20) else { return }
    for mapping in readOnlyFileMappings(maps) {
      guard let start = UnsafeMutableRawPointer(bitPattern: UInt(mapping.lowerBound)) else {
        continue
      }
      body(start, Int(mapping.upperBound - mapping.lowerBound))
    }
  }

  /// The address ranges of the read-only (`r--p`, `r-xp`) mappings of files in `maps` (the text
  /// of `/proc/self/maps`); anonymous and special mappings (`[vdso]`, `[stack]`) are left out.
  static func readOnlyFileMappings(_ maps: String) -> [Range<UInt64>] {
    var ranges: [Range<UInt64>] = []
    for line in maps.split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 6, fields[1] == "r--p" || fields[1] == "r-xp",
        fields[4] != "0", fields[5].hasPrefix("/")
      else { continue }
      let bounds = fields[0].split(separator: "-")
      guard bounds.count == 2, let low = UInt64(bounds[0], radix: 16),
        let high = UInt64(bounds[1], radix: 16), high > low
      else { continue }
      ranges.append(low..<high)
    }
    return ranges
  }
}
