import Glibc
import OutpostInput

/// One GPIO line requested as an input with edge events, e.g. a help button.
///
/// The request's ``fileDescriptor`` is non-blocking and becomes readable when the kernel has
/// `gpio_v2_line_event` records for it; ``readEvents(maxCount:)`` takes them. The line stays
/// requested until ``close()`` or until the object goes away.
public final class GPIOInputLine: Sendable {
  private let request: LineRequest

  /// The chip's device path.
  public var chip: String { request.chip }
  /// The line's offset on the chip.
  public var offset: UInt32 { request.offset }

  init(request: LineRequest) {
    self.request = request
  }

  /// The line request's file descriptor (non-blocking, close-on-exec), for `poll`/`epoll`;
  /// -1 after ``close()``. It stays owned by this object: do not close it.
  public var fileDescriptor: Int32 { request.fileDescriptor }

  /// The events the kernel has queued, up to `maxCount`, oldest first; empty when none are.
  /// Records with an edge id this code does not know are skipped. A gap in
  /// ``GPIOLineEvent/lineSeqno`` means the kernel's queue overflowed.
  ///
  /// - Throws: ``GPIOError`` after ``close()`` or when `read` fails.
  public func readEvents(maxCount: Int = 16) throws(GPIOError) -> [GPIOLineEvent] {
    let count = max(1, maxCount)
    return try request.withDescriptor { fd throws(GPIOError) -> [GPIOLineEvent] in
      var buffer = [UInt8](repeating: 0, count: count * GPIOLineEvent.size)
      var n: Int
      repeat {
        n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      } while n < 0 && errno == EINTR
      if n < 0 {
        if errno == EAGAIN || errno == EWOULDBLOCK { return [] }
        throw request.failure("read", errno)
      }
      // The kernel writes whole records only.
      return stride(from: 0, to: n - GPIOLineEvent.size + 1, by: GPIOLineEvent.size).compactMap {
        GPIOLineEvent(record: buffer[$0..<$0 + GPIOLineEvent.size])
      }
    }
  }

  /// The line's current logical value (`true` is active, which is low for an active-low
  /// line).
  ///
  /// - Throws: ``GPIOError`` after ``close()`` or when the ioctl fails.
  public func value() throws(GPIOError) -> Bool {
    try request.value()
  }

  /// Releases the line. Calling it again does nothing.
  public func close() {
    request.close()
  }
}
