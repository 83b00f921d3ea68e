/// One `struct gpio_v2_line_event` as the kernel's GPIO character device writes it to a line
/// request's file descriptor (`GPIO_V2_GET_LINE_IOCTL`, uAPI v2, Linux 5.10 and later):
///
/// ```
/// __aligned_u64 timestamp_ns; __u32 id; __u32 offset; __u32 seqno; __u32 line_seqno;
/// __u32 padding[6];
/// ```
///
/// 48 bytes on every ABI, in the machine's (little-endian) byte order.
public struct GPIOLineEvent: Sendable, Hashable {
  /// Nanoseconds on the clock the request asked for (monotonic by default).
  public var timestampNs: UInt64
  public var edge: Edge
  /// The line's offset on its chip.
  public var offset: UInt32
  /// The event's number among all lines of the request, and among this line's events; a gap
  /// means the kernel's buffer overflowed and events were lost.
  public var seqno: UInt32
  public var lineSeqno: UInt32

  /// The record size.
  public static let size = 48

  /// Which way the line changed.
  public enum Edge: UInt32, Sendable, Hashable {
    /// `GPIO_V2_LINE_EVENT_RISING_EDGE`.
    case rising = 1
    /// `GPIO_V2_LINE_EVENT_FALLING_EDGE`.
    case falling = 2
  }

  public init(timestampNs: UInt64, edge: Edge, offset: UInt32, seqno: UInt32, lineSeqno: UInt32) {
    self.timestampNs = timestampNs
    self.edge = edge
    self.offset = offset
    self.seqno = seqno
    self.lineSeqno = lineSeqno
  }

  /// Decodes one record from the front of `bytes`; nil when its edge id is neither rising nor
  /// falling (a newer kernel's event, or not a line event at all).
  ///
  /// - Precondition: `bytes.count >= 48`.
  public init?<Bytes: RandomAccessCollection>(record bytes: Bytes)
  where Bytes.Element == UInt8, Bytes.Index == Int {
    precondition(bytes.count >= Self.size, "gpio_v2_line_event records are 48 bytes")
    func integer<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
      LittleEndian.read(type, from: bytes, at: offset)
    }
    guard let edge = Edge(rawValue: integer(UInt32.self, at: 8)) else { return nil }
    self.init(
      timestampNs: integer(UInt64.self, at: 0), edge: edge, offset: integer(UInt32.self, at: 12),
      seqno: integer(UInt32.self, at: 16), lineSeqno: integer(UInt32.self, at: 20))
  }

  /// The record's bytes, for tests that play the kernel.
  public var bytes: [UInt8] {
    var out: [UInt8] = []
    func append<T: FixedWidthInteger>(_ value: T) { LittleEndian.append(value, to: &out) }
    append(timestampNs)
    append(edge.rawValue)
    append(offset)
    append(seqno)
    append(lineSeqno)
    out += [UInt8](repeating: 0, count: 24)
    return out
  }
}
