import OutpostCore
import WireWorkload

/// JT/T 808-2013 ("Road transport vehicle satellite positioning system — terminal
/// communication protocol and data format", China's Ministry of Transport), serialised field by
/// field after the standard's layout, escaping included, so that the sizes below are those of
/// real frames with our values in them. Integers are big-endian (WORD 2, DWORD 4 bytes).
///
/// Frame: `0x7E | header | body | checksum | 0x7E`, where header, body and checksum are escaped
/// (`0x7E` → `0x7D 0x02`, `0x7D` → `0x7D 0x01`) and the checksum is the XOR of header and body.
/// Header (2013, not subpackaged): WORD message ID | WORD body attributes (bits 0–9 body
/// length, 10–12 encryption, 13 subpackage) | BCD[6] terminal phone number | WORD serial: 12
/// bytes.
///
/// Location report 0x0200 body, 28 bytes: DWORD alarm flags (bit 0: emergency alarm, the SOS
/// button) | DWORD status (bit 1 positioned, bit 2 south, bit 3 west, bit 18 GPS used) | DWORD
/// latitude and DWORD longitude (1e-6°, unsigned) | WORD altitude (m) | WORD speed (0.1 km/h) |
/// WORD direction (0–359°) | BCD[6] time YYMMDDhhmmss (GMT+8). Optional additional items
/// follow as (BYTE id, BYTE length, value), e.g. 0x31: GNSS satellites, BYTE; there is none for
/// HDOP.
///
/// Bulk upload 0x0704 body: WORD item count | BYTE type (0 normal, 1 blind-area backfill) |
/// per item WORD length + a 0x0200 body. The body-length field has 10 bits, so one message
/// carries at most 1,023 body bytes: 34 items of 30 bytes.
enum JT808 {
  static let locationReport: UInt16 = 0x0200
  static let bulkLocationUpload: UInt16 = 0x0704
  static let maxBodyLength = 1023

  /// A 12-digit terminal phone number (SIM number), BCD-coded in 6 bytes.
  static let phone = "015004990521"

  /// The 28-byte 0x0200 body (with the satellites item 0x31 when `satellites`).
  static func locationBody(
    timeMs: Int64, position: Position, emergency: Bool, satellites: Bool = false
  ) -> [UInt8] {
    var body: [UInt8] = []
    body.appendBigEndian(UInt32(emergency ? 1 : 0))
    var status: UInt32 = 1 << 1 | 1 << 18
    if position.latitudeE7 < 0 { status |= 1 << 2 }
    if position.longitudeE7 < 0 { status |= 1 << 3 }
    body.appendBigEndian(status)
    body.appendBigEndian(UInt32((Double(position.latitudeE7.magnitude) / 10).rounded()))
    body.appendBigEndian(UInt32((Double(position.longitudeE7.magnitude) / 10).rounded()))
    body.appendBigEndian(
      UInt16(clamping: max(0, Int((Double(position.altitudeDm ?? 0) / 10).rounded()))))
    body.appendBigEndian(
      UInt16(clamping: Int((Double(position.speedCmPerS ?? 0) * 0.36).rounded())))
    body.appendBigEndian(UInt16((Double(position.headingCdeg ?? 0) / 100).rounded()) % 360)
    let t = CivilTime.fields(ms: timeMs + 8 * 3_600_000)
    for value in [t.year % 100, t.month, t.day, t.hour, t.minute, t.second] {
      body.append(UInt8((value / 10) << 4 | (value % 10)))
    }
    if satellites, let count = position.satellites { body += [0x31, 1, count] }
    return body
  }

  /// One whole frame, escaped, flags included.
  static func frame(messageID: UInt16, serial: UInt16, body: [UInt8]) -> [UInt8] {
    precondition(body.count <= maxBodyLength)
    var plain: [UInt8] = []
    plain.appendBigEndian(messageID)
    plain.appendBigEndian(UInt16(body.count))
    let digits = Array(phone.utf8).map { $0 - UInt8(ascii: "0") }
    for pair in stride(from: 0, to: 12, by: 2) {
      plain.append(digits[pair] << 4 | digits[pair + 1])
    }
    plain.appendBigEndian(serial)
    plain += body
    plain.append(plain.reduce(0, ^))
    var out: [UInt8] = [0x7E]
    for byte in plain {
      switch byte {
      case 0x7E: out += [0x7D, 0x02]
      case 0x7D: out += [0x7D, 0x01]
      default: out.append(byte)
      }
    }
    out.append(0x7E)
    return out
  }

  /// 0x0704 frames for `bodies`, as many items per frame as the 1,023-byte body allows.
  static func bulkFrames(_ bodies: [[UInt8]], firstSerial: UInt16) -> [[UInt8]] {
    var frames: [[UInt8]] = []
    var index = 0
    var serial = firstSerial
    while index < bodies.count {
      var body: [UInt8] = [0, 0, 0]
      var count = 0
      while index < bodies.count, body.count + 2 + bodies[index].count <= maxBodyLength {
        body.appendBigEndian(UInt16(bodies[index].count))
        body += bodies[index]
        count += 1
        index += 1
      }
      precondition(count > 0)
      body[0] = UInt8(count >> 8)
      body[1] = UInt8(count & 0xFF)
      frames.append(frame(messageID: bulkLocationUpload, serial: serial, body: body))
      serial &+= 1
    }
    return frames
  }
}
