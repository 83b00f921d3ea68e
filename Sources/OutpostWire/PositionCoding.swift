import NIOCore
import OutpostCore

/// The wire coding of a GPS fix: one mask byte, then latitude and longitude either absolute or
/// as deltas from the previous fix in the same batch, then only the optional fields the mask
/// names. In delta mode an unnamed field is inherited from the previous fix, so a steady track
/// sends only what changed. See "Positions" in `docs/protocol.md`.
enum PositionMask {
  static let altitude: UInt8 = 1 << 0
  static let speed: UInt8 = 1 << 1
  static let heading: UInt8 = 1 << 2
  static let hdop: UInt8 = 1 << 3
  static let satellites: UInt8 = 1 << 4
  static let fixTime: UInt8 = 1 << 5
  static let delta: UInt8 = 1 << 6
  static let present: UInt8 = 1 << 7
}

/// The optional fields of a fix as signed 64-bit numbers, in mask-bit order, so that the
/// coding treats them alike. The fix time is kept as its offset from the record's time.
private struct PositionFields {
  var values: InlineArray<6, Int64?>

  init() { values = InlineArray(repeating: nil) }

  init(_ p: Position, recordTimeMs: Int64) {
    values = [
      p.altitudeDm.map(Int64.init), p.speedCmPerS.map(Int64.init),
      p.headingCdeg.map(Int64.init), p.hdopCenti.map(Int64.init),
      p.satellites.map(Int64.init), p.fixTimeMs.map { $0 &- recordTimeMs },
    ]
  }
}

private let fieldNames = ["altitude", "speed", "heading", "hdop", "satellites", "fix time"]

/// How a fix will be written: its mask, decided before anything is written so that a record
/// can tell whether its mask repeats the previous one.
struct PositionPlan {
  var mask: UInt8
  fileprivate var now: PositionFields
  fileprivate var before: PositionFields?

  /// The plan for `position` (nil: none) against `previous`, the last fix in the session.
  init(_ position: Position?, previous: Position?, recordTimeMs: Int64, previousTimeMs: Int64) {
    guard let position else {
      mask = 0
      now = PositionFields()
      return
    }
    now = PositionFields(position, recordTimeMs: recordTimeMs)
    if let previous {
      let old = PositionFields(previous, recordTimeMs: previousTimeMs)
      // Delta mode inherits unnamed fields, so it cannot say "this field is gone now".
      var useDelta = true
      for bit in 0..<6 where now.values[bit] == nil && old.values[bit] != nil { useDelta = false }
      if useDelta { before = old }
    }
    mask = PositionMask.present
    for bit in 0..<6 where now.values[bit] != nil {
      if let before, before.values[bit] == now.values[bit] { continue }
      mask |= 1 << UInt8(bit)
    }
    if before != nil { mask |= PositionMask.delta }
  }
}

extension ByteBuffer {
  /// Writes a fix as `plan` decided, against `previous`; the mask byte only when `writeMask`.
  mutating func writeWirePosition(
    _ position: Position?, plan: PositionPlan, previous: Position?, writeMask: Bool
  ) {
    if writeMask { writeInteger(plan.mask) }
    guard let position else { return }
    if let previous, plan.before != nil {
      writeWireSigned(Int64(position.latitudeE7) - Int64(previous.latitudeE7))
      writeWireSigned(Int64(position.longitudeE7) - Int64(previous.longitudeE7))
    } else {
      writeInteger(position.latitudeE7, endianness: .little)
      writeInteger(position.longitudeE7, endianness: .little)
    }
    for bit in 0..<6 where plan.mask & (1 << UInt8(bit)) != 0 {
      guard let value = plan.now.values[bit] else { continue }
      if let before = plan.before {
        writeWireSigned(value &- (before.values[bit] ?? 0))
      } else if bit == 1 || bit == 2 || bit == 3 || bit == 4 {
        writeWireVarint(UInt64(value))
      } else {
        writeWireSigned(value)
      }
    }
  }

  /// Writes `position` with its mask, planned against `previous`.
  mutating func writeWirePosition(
    _ position: Position?, previous: Position?, recordTimeMs: Int64, previousTimeMs: Int64
  ) {
    let plan = PositionPlan(
      position, previous: previous, recordTimeMs: recordTimeMs, previousTimeMs: previousTimeMs)
    writeWirePosition(position, plan: plan, previous: previous, writeMask: true)
  }
}

extension WireReader {
  /// Reads a fix and its mask; with `impliedMask`, the mask is not on the wire (the record
  /// repeats the previous record's flags and mask).
  mutating func readWirePosition(
    previous: Position?, recordTimeMs: Int64, previousTimeMs: Int64, impliedMask: UInt8? = nil
  ) throws(WireError) -> (position: Position?, mask: UInt8) {
    let maskAt = offset
    let mask: UInt8
    if let impliedMask { mask = impliedMask } else { mask = try readByte("position mask") }
    guard mask & PositionMask.present != 0 else {
      guard mask == 0 else { throw WireError(.invalidValue(field: "position mask"), at: maskAt) }
      return (nil, 0)
    }
    return (
      try readFix(
        mask: mask, maskAt: maskAt, previous: previous, recordTimeMs: recordTimeMs,
        previousTimeMs: previousTimeMs),
      mask
    )
  }

  private mutating func readFix(
    mask: UInt8, maskAt: Int, previous: Position?, recordTimeMs: Int64, previousTimeMs: Int64
  ) throws(WireError) -> Position {
    var result: Position
    var fields = PositionFields()
    if mask & PositionMask.delta != 0 {
      guard let previous else {
        throw WireError(
          .invalidValue(field: "position mask (delta without a previous fix)"), at: maskAt)
      }
      let latAt = offset
      let lat = Int64(previous.latitudeE7) &+ (try readSigned("latitude delta"))
      let lonAt = offset
      let lon = Int64(previous.longitudeE7) &+ (try readSigned("longitude delta"))
      guard let latitude = Int32(exactly: lat) else {
        throw WireError(.invalidValue(field: "latitude"), at: latAt)
      }
      guard let longitude = Int32(exactly: lon) else {
        throw WireError(.invalidValue(field: "longitude"), at: lonAt)
      }
      result = Position(latitudeE7: latitude, longitudeE7: longitude)
      fields = PositionFields(previous, recordTimeMs: previousTimeMs)
      for bit in 0..<6 where mask & (1 << UInt8(bit)) != 0 {
        fields.values[bit] = (fields.values[bit] ?? 0) &+ (try readSigned(fieldNames[bit]))
      }
    } else {
      result = Position(
        latitudeE7: try readLittleEndian(Int32.self, "latitude"),
        longitudeE7: try readLittleEndian(Int32.self, "longitude"))
      for bit in 0..<6 where mask & (1 << UInt8(bit)) != 0 {
        switch bit {
        case 1, 2, 3, 4:
          let raw = try readVarint(fieldNames[bit])
          guard raw <= UInt64(Int64.max) else {
            throw error(.invalidValue(field: fieldNames[bit]))
          }
          fields.values[bit] = Int64(raw)
        default:
          fields.values[bit] = try readSigned(fieldNames[bit])
        }
      }
    }
    let at = offset
    func narrow<T: FixedWidthInteger>(_ bit: Int, _: T.Type) throws(WireError) -> T? {
      guard let value = fields.values[bit] else { return nil }
      guard let narrowed = T(exactly: value) else {
        throw WireError(.invalidValue(field: fieldNames[bit]), at: at)
      }
      return narrowed
    }
    result.altitudeDm = try narrow(0, Int32.self)
    result.speedCmPerS = try narrow(1, UInt32.self)
    result.headingCdeg = try narrow(2, UInt16.self)
    result.hdopCenti = try narrow(3, UInt16.self)
    result.satellites = try narrow(4, UInt8.self)
    result.fixTimeMs = fields.values[5].map { recordTimeMs &+ $0 }
    return result
  }
}
