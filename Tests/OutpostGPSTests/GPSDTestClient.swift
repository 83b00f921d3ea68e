import Glibc
import OutpostTestKit

/// A blocking TCP client of gpsd on 127.0.0.1, as small as the tests need: connect, write a
/// command, read with a deadline. Not thread-safe; one test owns it.
final class GPSDTestClient {
  private var fd: Int32

  /// What one read brought.
  enum Received: Equatable {
    /// Some bytes.
    case bytes([UInt8])
    /// gpsd closed the connection (end of file, or a reset).
    case closed
    /// Nothing came before the deadline.
    case timedOut
  }

  /// Connects to gpsd on 127.0.0.1:`port`.
  ///
  /// - Throws: ``GPSFakeError/system(call:errno:)`` when the socket cannot be made or gpsd
  ///   refuses the connection.
  init(port: UInt16) throws(GPSFakeError) {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw .system(call: "socket", errno: errno) }
    var address = GPSFake.loopback(port: port)
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      let error = errno
      close(fd)
      throw .system(call: "connect 127.0.0.1:\(port)", errno: error)
    }
  }

  deinit {
    close(fd)
  }

  /// Writes all of `bytes`.
  ///
  /// - Throws: ``GPSFakeError/system(call:errno:)`` when the connection is gone.
  func send(_ bytes: [UInt8]) throws(GPSFakeError) {
    var done = 0
    while done < bytes.count {
      let n = bytes[done...].withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw .system(call: "send to gpsd", errno: errno) }
      done += n
    }
  }

  /// Waits until bytes arrive, the connection ends, or `deadline` (``monotonicMs()``) passes.
  func receive(until deadline: UInt64) -> Received {
    var buffer = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
      let now = monotonicMs()
      guard now < deadline else { return .timedOut }
      var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&entry, 1, Int32(min(deadline - now, 1000)))
      if ready < 0 && errno == EINTR { continue }
      if ready <= 0 { continue }
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n > 0 { return .bytes(Array(buffer[0..<n])) }
      if n < 0 && errno == EINTR { continue }
      return .closed
    }
  }
}
