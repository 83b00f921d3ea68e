import ArgumentParser
import Glibc
import OutpostControl

/// The `--socket` option of the commands that talk to the running agent.
struct ControlSocketOption: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The agent's control socket (default: control.sock in --run-dir).", valueName: "path"))
  var socket: String?

  @Option(help: ArgumentHelp("The agent's run directory.", valueName: "dir"))
  var runDir = "/run/outpost"

  /// The socket's path.
  var path: String { socket ?? "\(runDir)/control.sock" }
}

/// One request to the agent over its control socket, and its replies as they come.
///
/// Exit status 3 means the agent could not be reached (not running, or no permission on the
/// socket): scripts tell it apart from a refused request (1).
struct ControlClient {
  /// The status for "could not reach the agent".
  static let unreachable: Int32 = 3

  let path: String

  /// Sends `request` and calls `reply` for every reply line until the agent closes the
  /// connection or `reply` returns false.
  ///
  /// - Throws: ``CommandFailure`` when the socket cannot be reached or a reply is malformed.
  func send(_ request: ControlRequest, reply: (ControlReply) throws(CommandFailure) -> Bool)
    throws(CommandFailure)
  {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw failure("socket", errno) }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      throw CommandFailure(message: "\(path): socket path too long", status: Self.unreachable)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
    let connected = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard connected == 0 else { throw failure("connect", errno) }
    let line = Array((request.line() + "\n").utf8)
    var sent = 0
    while sent < line.count {
      let n = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + sent, $0.count - sent) }
      if n < 0 {
        if errno == EINTR { continue }
        throw failure("write", errno)
      }
      sent += n
    }
    var pending: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw failure("read", errno)
      }
      if n == 0 { break }
      pending += chunk[0..<n]
      while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
        let text = pending[..<newline]
        let parsed: ControlReply
        do {
          parsed = try ControlReply.parse(text)
        } catch {
          throw CommandFailure(message: "\(path): \(error)")
        }
        pending.removeSubrange(...newline)
        if try !reply(parsed) { return }
      }
    }
  }

  private func failure(_ call: String, _ number: Int32) -> CommandFailure {
    var message = "\(path): \(call): \(String(cString: strerror(number)))"
    switch number {
    case ENOENT, ECONNREFUSED:
      message += " (is outpostd running? `systemctl status outpostd`)"
    case EACCES, EPERM:
      message += " (only root and the socket's group, usually outpost, may use it)"
    default:
      break
    }
    return CommandFailure(message: message, status: Self.unreachable)
  }
}
