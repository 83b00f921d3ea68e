import Glibc

/// A failure to set up a test fixture, with the call and errno that failed.
public struct FixtureError: Error, CustomStringConvertible {
  public var call: String
  public var errno: Int32

  public init(call: String, errno: Int32) {
    self.call = call
    self.errno = errno
  }

  public var description: String { "\(call) failed with errno \(errno)" }
}

/// A Unix datagram socket standing in for systemd's notification socket: bind it, point
/// `NOTIFY_SOCKET` at ``notifySocket``, and read what the notifier sent with ``receive()``.
/// Reads come from one test at a time (the descriptor is only read).
public final class NotifyListener: @unchecked Sendable {
  /// The value for `NOTIFY_SOCKET`: the socket's path, or `@name` for an abstract socket.
  public let notifySocket: String
  private let descriptor: Int32
  private let directory: String?

  /// Binds a socket at a path in a fresh temporary directory, or, if `abstract`, to a random
  /// name in the abstract namespace.
  public init(abstract: Bool = false) throws {
    let path: String
    let addressBytes: [UInt8]
    if abstract {
      let name = "outpost-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
      directory = nil
      notifySocket = "@" + name
      addressBytes = [0] + Array(name.utf8)
    } else {
      var template = Array("/tmp/outpost-notify-XXXXXX".utf8CString)
      let created = template.withUnsafeMutableBufferPointer { buffer in
        mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
      }
      guard let created else { throw FixtureError(call: "mkdtemp", errno: errno) }
      path = created + "/notify"
      directory = created
      notifySocket = path
      addressBytes = Array(path.utf8) + [0]
    }

    descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw FixtureError(call: "socket", errno: errno) }

    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    precondition(addressBytes.count <= MemoryLayout.size(ofValue: address.sun_path))
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: addressBytes) }
    let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + addressBytes.count)
    let bound = withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    guard bound == 0 else { throw FixtureError(call: "bind", errno: errno) }

    // A broken notifier must fail the test, not hang it.
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(
      descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
  }

  deinit {
    close(descriptor)
    if let directory {
      unlink(notifySocket)
      rmdir(directory)
    }
  }

  /// The next datagram as text, waiting up to five seconds; `nil` if none arrived.
  public func receive() -> String? {
    receive(flags: 0)
  }

  /// The next datagram as text if one is already queued, without waiting.
  public func receiveIfQueued() -> String? {
    receive(flags: Int32(MSG_DONTWAIT))
  }

  /// The next datagram as text, waiting up to `waitingMs` milliseconds; `nil` if none arrived.
  public func receive(waitingMs: Int32) -> String? {
    var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    guard poll(&ready, 1, waitingMs) > 0 else { return nil }
    return receiveIfQueued()
  }

  private func receive(flags: Int32) -> String? {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, flags) }
    guard count >= 0 else { return nil }
    return String(decoding: buffer[..<count], as: UTF8.self)
  }
}
