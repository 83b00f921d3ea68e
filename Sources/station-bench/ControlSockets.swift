import Glibc
import OutpostControl
import OutpostCore

/// Connects a stream socket to the Unix socket at `path`; nil when it cannot.
func connectUnix(_ path: String) -> Int32? {
  let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
  guard fd >= 0 else { return nil }
  var address = sockaddr_un()
  address.sun_family = sa_family_t(AF_UNIX)
  let bytes = Array(path.utf8)
  guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
    close(fd)
    return nil
  }
  withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
  let connected = withUnsafePointer(to: &address) { pointer in
    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
    }
  }
  guard connected == 0 else {
    close(fd)
    return nil
  }
  return fd
}

/// Writes all of `bytes`; false on an error.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
  var sent = 0
  while sent < bytes.count {
    let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + sent, $0.count - sent) }
    if n < 0 {
      if errno == EINTR { continue }
      return false
    }
    sent += n
  }
  return true
}

/// What one press saw: microseconds from writing the request to each reply.
struct PressTiming: Sendable {
  /// Monotonic µs when the request was written.
  var startedAt: UInt64
  var recorded: UInt64?
  var delivered: UInt64?
  /// When the station's ack reached the box, by the box's clock (`acked_at_us` of the
  /// *delivered* reply; the same `CLOCK_MONOTONIC`).
  var ackedAtBox: UInt64?
  var acknowledged: UInt64?
  var seq: UInt64?
  /// Set when the press did not open an incident of its own or a step failed.
  var problem: String?
}

/// `outpostctl sos --wait acknowledged` (or `cancel --wait delivered`), as the CLI sends it over
/// the agent's control socket, with the time of every reply line.
func press(socket path: String, timeoutMs: Int, command: String = "sos") -> PressTiming {
  let wanted = command == "sos" ? "acknowledged" : "delivered"
  var timing = PressTiming(startedAt: monotonicMicros())
  guard let fd = connectUnix(path) else {
    timing.problem = "cannot connect to \(path): \(String(cString: strerror(errno)))"
    return timing
  }
  defer { close(fd) }
  let request = ControlRequest(command: command, wait: wanted, timeoutMs: timeoutMs)
  timing.startedAt = monotonicMicros()
  guard writeAll(fd, Array((request.line() + "\n").utf8)) else {
    timing.problem = "write: \(String(cString: strerror(errno)))"
    return timing
  }
  var pending: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    let now = monotonicMicros()
    pending += chunk[0..<n]
    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
      let line = pending[..<newline]
      pending.removeSubrange(...newline)
      guard let reply = try? ControlReply.parse(line) else {
        timing.problem = "unreadable reply \(String(decoding: line, as: UTF8.self))"
        return timing
      }
      switch reply.event {
      case "recorded":
        timing.recorded = now
        timing.seq = reply.seq
        if command == "sos" && (reply.presses != 1 || reply.incident != reply.seq) {
          timing.problem = "joined an open incident (presses \(reply.presses ?? 0))"
        }
      case "delivered":
        timing.delivered = now
        timing.ackedAtBox = reply.ackedAtMicros
        if wanted == "delivered" { return timing }
      case "acknowledged":
        timing.acknowledged = now
        return timing
      default:
        timing.problem = "\(reply.event): \(reply.message ?? "")"
        return timing
      }
    }
  }
  if timing.problem == nil {
    timing.problem = "the agent closed the connection before \(wanted)"
  }
  return timing
}

/// One line to the station's control socket (`incident ID`, as `outpost-station incident ack`
/// sends it) and its answer.
func tellStation(socket path: String, _ line: String) -> String {
  guard let fd = connectUnix(path) else {
    return "error: cannot connect to \(path): \(String(cString: strerror(errno)))"
  }
  defer { close(fd) }
  guard writeAll(fd, Array((line + "\n").utf8)) else { return "error: write" }
  var reply: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 512)
  while !reply.contains(UInt8(ascii: "\n")) {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    reply += chunk[0..<n]
  }
  return String(decoding: reply, as: UTF8.self).trimmingSuffixNewline()
}

extension String {
  func trimmingSuffixNewline() -> String {
    var text = self
    while text.hasSuffix("\n") { text.removeLast() }
    return text
  }
}

/// A press, then its cancel once the press was acknowledged, so that the next press opens an
/// incident of its own at the station too (a running incident there takes further presses).
func pressAndCancel(socket path: String, timeoutMs: Int) -> PressTiming {
  var timing = press(socket: path, timeoutMs: timeoutMs)
  let cancel = press(socket: path, timeoutMs: timeoutMs, command: "cancel")
  if timing.problem == nil, let problem = cancel.problem {
    timing.problem = "cancel: \(problem)"
  }
  return timing
}
