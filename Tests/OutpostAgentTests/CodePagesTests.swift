import Glibc
import OutpostTestKit
import Testing

@testable import OutpostAgent

@Suite struct CodePagesTests {
  @Test func mapsLinesNameThePrivateFileMappingsOnly() {
    let maps = """
      55d0a0000000-55d0a1968000 r-xp 00000000 fe:00 16228640                   /usr/bin/outpostd
      55d0a1969000-55d0a1a16000 r--p 01969000 fe:00 16228640                   /usr/bin/outpostd
      55d0a1a16000-55d0a1d19000 rw-p 01a16000 fe:00 16228640                   /usr/bin/outpostd
      55d0a1d19000-55d0a1de1000 rw-p 00000000 00:00 0
      7f0000000000-7f0000021000 rw-p 00000000 00:00 0                          [heap]
      7f1000000000-7f1000100000 rw-s 00000000 fe:00 42                         /var/lib/outpost/journal
      7f2000000000-7f2000001000 ---p 00000000 fe:00 333151                     /usr/lib/x86_64-linux-gnu/libc.so.6
      7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
      """
    let mappings = CodePages.fileMappings(maps)
    #expect(
      mappings == [
        .init(
          range: 0x55d0_a000_0000..<0x55d0_a196_8000, writable: false, device: "fe:00",
          inode: 16_228_640),
        .init(
          range: 0x55d0_a196_9000..<0x55d0_a1a1_6000, writable: false, device: "fe:00",
          inode: 16_228_640),
        .init(
          range: 0x55d0_a1a1_6000..<0x55d0_a1d1_9000, writable: true, device: "fe:00",
          inode: 16_228_640),
      ])
  }

  @Test func theExecutablesMappingsAreKnownByItsDeviceAndInode() throws {
    let maps = try #require(try? readSmallFile("/proc/self/maps", limit: 1 << 20))
    let fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
    try #require(fd >= 0)
    defer { close(fd) }
    var identity = stat()
    try #require(fstat(fd, &identity) == 0)
    let mine = CodePages.fileMappings(maps).filter { $0.isFile(of: identity) }
    #expect(!mine.isEmpty)
    #expect(mine.contains { !$0.writable })
  }

  /// What the dynamic linker leaves behind, made by hand: a private mapping of a file, one page
  /// written (copied on write, like a relocated page) and then made read-only, one page only
  /// read. Releasing must keep the written page's data and let the read page go.
  @Test func releasingKeepsWrittenPagesAndDropsFilePages() throws {
    let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let directory = TemporaryDirectory("code-pages")
    let path = directory.file("library")
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    try #require(fd >= 0)
    defer { close(fd) }
    let contents = [UInt8](repeating: 0x5a, count: 3 * pageSize)
    try #require(contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == contents.count)
    try #require(fsync(fd) == 0)
    let mapped = mmap(nil, 3 * pageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
    try #require(mapped != MAP_FAILED)
    let base = try #require(mapped)
    defer { munmap(base, 3 * pageSize) }
    let bytes = base.assumingMemoryBound(to: UInt8.self)
    bytes[0] = 0xa5  // page 0: written, now anonymous
    #expect(bytes[pageSize] == 0x5a)  // page 1: read, still the file's
    try #require(mprotect(base, 3 * pageSize, PROT_READ) == 0)

    let start = UInt64(UInt(bitPattern: base))
    let mapping = CodePages.FileMapping(
      range: start..<start + UInt64(3 * pageSize), writable: false, device: "", inode: 1)
    let pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
    try #require(pagemap >= 0)
    defer { close(pagemap) }
    // Page 1 is the file's; page 0 is not. (Page 2 may be, mapped by fault-around.)
    let before = CodePages.fileBackedRuns(of: mapping, pagemap: pagemap, pageSize: pageSize)
    #expect(before.contains { $0.contains(start + UInt64(pageSize)) })
    #expect(!before.contains { $0.contains(start) })

    CodePages.releaseUnused(logger: quietLogger)

    #expect(CodePages.fileBackedRuns(of: mapping, pagemap: pagemap, pageSize: pageSize).isEmpty)
    #expect(bytes[0] == 0xa5)
    #expect(bytes[1] == 0x5a)
    #expect(bytes[pageSize] == 0x5a)
  }
}
