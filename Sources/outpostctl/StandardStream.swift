#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Standard output or standard error, written with `write(2)` and no stdio buffer in between,
/// so a line is out of the process the moment ``LineWriter/flush()`` returns: a reader that
/// kills `outpostctl` right afterwards still has it.
enum StandardStream {
  /// Standard output: what scripts parse.
  case output
  /// Standard error: messages for the operator.
  case error

  /// The file descriptor.
  var descriptor: Int32 {
    switch self {
    case .output: STDOUT_FILENO
    case .error: STDERR_FILENO
    }
  }

  /// Writes all of `bytes`, retrying after interruptions and short writes.
  ///
  /// - Returns: false when the stream refused the bytes (a closed pipe, a full disk); the rest
  ///   is dropped, as there is nowhere left to report it.
  @discardableResult
  func write(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
      var done = 0
      while done < buffer.count {
        let n = writeDescriptor(descriptor, buffer.baseAddress! + done, buffer.count - done)
        if n < 0 {
          if errno == EINTR { continue }
          return false
        }
        done += n
      }
      return true
    }
  }

  /// Writes `text` as UTF-8; see ``write(_:)-([UInt8])``.
  @discardableResult
  func write(_ text: String) -> Bool {
    write(Array(text.utf8))
  }
}

/// Collects output lines and hands them to a ``StandardStream`` in large writes: one system
/// call per batch rather than per line, and nothing held back once ``flush()`` returns.
struct LineWriter {
  private let stream: StandardStream
  private var pending: [UInt8] = []
  private let batchBytes = 64 * 1024

  /// A writer for `stream`.
  init(_ stream: StandardStream) {
    self.stream = stream
    pending.reserveCapacity(batchBytes)
  }

  /// Adds `line` and a newline; writes the batch out when it has grown large.
  mutating func line(_ line: String) {
    pending.append(contentsOf: line.utf8)
    pending.append(UInt8(ascii: "\n"))
    if pending.count >= batchBytes { flush() }
  }

  /// Writes out every line added so far.
  mutating func flush() {
    guard !pending.isEmpty else { return }
    stream.write(pending)
    pending.removeAll(keepingCapacity: true)
  }
}

/// `write(2)`, under a name the stream's own `write` methods do not shadow.
private func writeDescriptor(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  write(fd, bytes, count)
}
