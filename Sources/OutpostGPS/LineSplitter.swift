/// Splits a byte stream into lines, whatever pieces it arrives in: a serial GPS's NMEA
/// sentences, or gpsd's JSON reports. LF, CR or CRLF end a line; empty lines are skipped.
///
/// Memory is bounded: a line longer than ``maxLineBytes`` cannot be a sentence or a report (a
/// receiver at the wrong baud rate, something that is not a GPS), so its bytes are dropped up to
/// its end and it is counted in ``overlongLines``, never buffered.
public struct LineSplitter: Sendable {
  /// The longest NMEA 0183 line kept. Sentences are at most 82 characters; proprietary ones run
  /// longer, never this long.
  public static let nmeaMaxLineBytes = 256
  /// gpsd's own bound on a report, `GPS_JSON_RESPONSE_MAX` in its `gps_json.h` (10240 bytes
  /// since gpsd 3.20; the TPV and SKY lines of a typical receiver are well under 4 KiB).
  public static let gpsdMaxLineBytes = 10_240

  /// The longest line kept, in bytes, without its line ending.
  public let maxLineBytes: Int
  /// Lines dropped for being longer than ``maxLineBytes``.
  public private(set) var overlongLines = 0
  private var pending: [UInt8] = []
  private var discarding = false

  /// A splitter that keeps lines of up to `maxLineBytes` bytes.
  ///
  /// - Precondition: `maxLineBytes > 0`.
  public init(maxLineBytes: Int) {
    precondition(maxLineBytes > 0, "a line limit must be positive")
    self.maxLineBytes = maxLineBytes
  }

  /// Bytes of an unfinished line held for the next ``feed(_:)``; never more than
  /// ``maxLineBytes``.
  public var pendingByteCount: Int { pending.count }

  /// Feeds `bytes` and returns the lines they complete, without their line endings, as UTF-8
  /// text (invalid sequences replaced, which then fails the parsing of that line only).
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
