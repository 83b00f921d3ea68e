/// The commands a client sends to gpsd.
public enum GPSDCommand {
  /// `?WATCH={"enable":true,"json":true};` and a newline: send it once after connecting to
  /// gpsd's socket. gpsd has already sent `VERSION`; it answers with `DEVICES` and `WATCH`, then
  /// streams `DEVICE`, `TPV` and `SKY` reports of every receiver as they come.
  public static let watch = "?WATCH={\"enable\":true,\"json\":true};\n"

  /// ``watch`` as the bytes to write to the socket.
  public static var watchBytes: [UInt8] { Array(watch.utf8) }
}

/// Splits gpsd's byte stream into its lines, one JSON object each, whatever pieces the socket
/// delivers them in. LF, CR or CRLF end a line (gpsd writes CRLF); empty lines are skipped.
///
/// Memory is bounded: a line longer than ``maxLineBytes`` cannot be a gpsd report, so its bytes
/// are dropped up to its end and it is counted in ``overlongLines``, never buffered.
public struct GPSDLineSplitter: Sendable {
  /// gpsd's own bound on a report, `GPS_JSON_RESPONSE_MAX` in its `gps_json.h` (10240 bytes
  /// since gpsd 3.20; the TPV and SKY lines of a typical receiver are well under 4 KiB).
  public static let defaultMaxLineBytes = 10_240

  /// The longest line kept, in bytes, without its line ending.
  public let maxLineBytes: Int
  /// Lines dropped for being longer than ``maxLineBytes``.
  public private(set) var overlongLines = 0
  private var pending: [UInt8] = []
  private var discarding = false

  /// A splitter that keeps lines of up to `maxLineBytes` bytes.
  ///
  /// - Precondition: `maxLineBytes > 0`.
  public init(maxLineBytes: Int = defaultMaxLineBytes) {
    precondition(maxLineBytes > 0, "a line limit must be positive")
    self.maxLineBytes = maxLineBytes
  }

  /// Bytes of an unfinished line held for the next ``feed(_:)``; never more than
  /// ``maxLineBytes``.
  public var pendingByteCount: Int { pending.count }

  /// Feeds `bytes` and returns the lines they complete, without their line endings, as UTF-8
  /// text (invalid sequences replaced, which then fails JSON decoding of that line only).
  public mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
    var lines: [String] = []
    for byte in bytes {
      if byte == 0x0A || byte == 0x0D {
        if !discarding, !pending.isEmpty {
          lines.append(String(decoding: pending, as: UTF8.self))
        }
        pending.removeAll(keepingCapacity: true)
        discarding = false
        continue
      }
      guard !discarding else { continue }
      if pending.count == maxLineBytes {
        pending.removeAll(keepingCapacity: true)
        discarding = true
        overlongLines += 1
        continue
      }
      pending.append(byte)
    }
    return lines
  }
}
