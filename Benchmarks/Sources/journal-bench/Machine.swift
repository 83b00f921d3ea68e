import BenchSupport
import CFileSystem

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// What the numbers were measured on.
struct Machine {
  var cores: Int
  var cpuModel: String?
  var kernel: String
  var fileSystem: FileSystemInfo
  var dateUTC: String

  static func describe(directory: String) -> Machine {
    Machine(
      cores: MeasuredOn.cores(), cpuModel: cpuModel(), kernel: MeasuredOn.kernel(),
      fileSystem: FileSystemInfo(directory: directory), dateUTC: MeasuredOn.dateUTC())
  }

  private static func cpuModel() -> String? {
    guard let text = readTextFile("/proc/cpuinfo") else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
      if let colon = line.firstIndex(of: ":") {
        return String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
      }
    }
    return nil
  }

}

/// The file system a directory is on, from `statfs` and `/proc/mounts`.
struct FileSystemInfo {
  /// `statfs` f_type.
  var magic: UInt64
  /// The type by name: from `/proc/mounts` where the mount is found, else from the magic.
  var type: String
  var device: String?
  var mountPoint: String?
  var mountOptions: String?

  /// Whether the files live in memory, where `fdatasync` measures nothing about a disk.
  var isMemoryBacked: Bool { magic == 0x0102_1994 || magic == 0x8584_58F6 }

  init(directory: String) {
    let fsType = outpost_bench_fs_type(directory)
    magic = fsType >= 0 ? UInt64(fsType) : 0
    type = Self.names[magic] ?? "unknown"
    guard let resolved = realpath(directory, nil) else { return }
    let path = String(cString: resolved)
    free(resolved)
    guard let mounts = readTextFile("/proc/mounts") else { return }
    // The mount whose mount point is the longest prefix of the path; later mounts shadow
    // earlier ones on the same point.
    var best: [Substring]?
    for line in mounts.split(separator: "\n") {
      let fields = line.split(separator: " ")
      guard fields.count >= 4 else { continue }
      let point = fields[1].replacing("\\040", with: " ")
      let matches =
        point == "/" || path == point || path.hasPrefix(point.hasSuffix("/") ? point : point + "/")
      if matches && point.count >= (best?[1].count ?? 0) {
        best = fields
      }
    }
    if let best {
      device = String(best[0])
      mountPoint = String(best[1])
      type = String(best[2])
      mountOptions = String(best[3])
    }
  }

  var summary: String {
    var text = "\(type) (statfs f_type 0x\(String(magic, radix: 16))"
    if let device, let mountPoint {
      text += "; \(device) on \(mountPoint)"
      if let mountOptions { text += " \(mountOptions)" }
    }
    return text + ")"
  }

  private static let names: [UInt64: String] = [
    0xEF53: "ext2/3/4", 0x0102_1994: "tmpfs", 0x8584_58F6: "ramfs", 0x5846_5342: "xfs",
    0x9123_683E: "btrfs", 0x794C_7630: "overlayfs", 0x2FC1_2FC1: "zfs", 0xF2F5_2010: "f2fs",
    0x6969: "nfs", 0x6573_5546: "fuse", 0x4D44: "vfat", 0x0102_1997: "9p",
  ]
}

/// The whole of a small text file, or `nil` when it cannot be read.
func readTextFile(_ path: String) -> String? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 16 * 1024)
  while true {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    guard n > 0 else { break }
    bytes.append(contentsOf: chunk[0..<n])
  }
  return String(decoding: bytes, as: UTF8.self)
}

/// The message for an errno value.
func errorText(_ code: Int32) -> String {
  String(cString: strerror(code))
}
