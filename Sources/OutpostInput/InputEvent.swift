/// One `struct input_event` as the kernel writes it to `/dev/input/event*`: a timestamp, a type
/// (`EV_KEY` for keys and buttons), a code (`KEY_F1`, `BTN_0` …) and a value (1 pressed,
/// 0 released, 2 autorepeat).
///
/// The record is 24 bytes where `time_t` is 64-bit (x86_64, arm64, and 32-bit ABIs built with
/// 64-bit time) and 16 bytes on the older 32-bit ABIs (armhf, i386 with 32-bit time), in the
/// machine's byte order, which is little-endian on every board we target.
public struct InputEvent: Sendable, Hashable {
  /// The kernel's timestamp of the event, in microseconds since the clock's epoch (by default
  /// the realtime clock; a source may switch the device to `CLOCK_MONOTONIC` with
  /// `EVIOCSCLOCKID`).
  public var timeUs: Int64
  public var type: UInt16
  public var code: UInt16
  public var value: Int32

  public init(timeUs: Int64, type: UInt16, code: UInt16, value: Int32) {
    self.timeUs = timeUs
    self.type = type
    self.code = code
    self.value = value
  }

  /// `EV_SYN`: the end of a report.
  public static let typeSync: UInt16 = 0x00
  /// `EV_KEY`: keys and buttons.
  public static let typeKey: UInt16 = 0x01
  /// `EV_MSC`: scan codes and the like, sent beside key events.
  public static let typeMisc: UInt16 = 0x04

  /// The record size on this machine: 24 bytes with a 64-bit `time_t`, 16 with a 32-bit one.
  public static let nativeSize = MemoryLayout<Int>.size == 8 ? 24 : 16

  /// Decodes one record of `size` bytes (16 or 24) from the front of `bytes`.
  ///
  /// - Precondition: `bytes.count >= size`, `size` is 16 or 24.
  public init<Bytes: RandomAccessCollection>(record bytes: Bytes, size: Int)
  where Bytes.Element == UInt8, Bytes.Index == Int {
    precondition(size == 16 || size == 24, "input_event records are 16 or 24 bytes")
    func integer<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
      LittleEndian.read(type, from: bytes, at: offset)
    }
    let word = size == 24 ? 8 : 4
    let seconds: Int64 =
      word == 8 ? integer(Int64.self, at: 0) : Int64(integer(Int32.self, at: 0))
    let micros: Int64 =
      word == 8 ? integer(Int64.self, at: 8) : Int64(integer(Int32.self, at: 4))
    timeUs = seconds &* 1_000_000 &+ micros
    type = integer(UInt16.self, at: 2 * word)
    code = integer(UInt16.self, at: 2 * word + 2)
    value = integer(Int32.self, at: 2 * word + 4)
  }

  /// The record's bytes, for tests that play the kernel.
  public func bytes(size: Int = nativeSize) -> [UInt8] {
    var out: [UInt8] = []
    func append<T: FixedWidthInteger>(_ value: T) { LittleEndian.append(value, to: &out) }
    let seconds = timeUs / 1_000_000
    let micros = timeUs % 1_000_000
    if size == 24 {
      append(seconds)
      append(micros)
    } else {
      append(Int32(truncatingIfNeeded: seconds))
      append(Int32(truncatingIfNeeded: micros))
    }
    append(type)
    append(code)
    append(value)
    return out
  }
}

/// Cuts the byte stream of an input device into events. A `read(2)` on an evdev device returns
/// whole records, but a FIFO or a slow reader may not, so partial records are kept for the next
/// feed.
public struct InputEventReader: Sendable {
  private var pending: [UInt8] = []
  /// The record size this reader expects.
  public let recordSize: Int

  public init(recordSize: Int = InputEvent.nativeSize) {
    precondition(recordSize == 16 || recordSize == 24, "input_event records are 16 or 24 bytes")
    self.recordSize = recordSize
  }

  /// Feeds bytes; returns the events they complete.
  public mutating func feed(_ bytes: some Sequence<UInt8>) -> [InputEvent] {
    pending.append(contentsOf: bytes)
    var events: [InputEvent] = []
    var start = 0
    while pending.count - start >= recordSize {
      events.append(InputEvent(record: pending[start..<(start + recordSize)], size: recordSize))
      start += recordSize
    }
    pending.removeFirst(start)
    return events
  }
}
