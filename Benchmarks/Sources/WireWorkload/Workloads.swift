import OutpostCore
import OutpostTestKit
import OutpostWire

/// The records the wire benchmarks send: realistic identifiers, tracks as position records, and
/// the mixed 256-record batch of the speed measurements.
public enum Workloads {
  /// A journal epoch (random-looking, as a real one is; it always takes 8 bytes on the wire).
  public static let epoch: UInt64 = 0x5C3A_9E21_7B40_D1F6
  /// A box that has been recording for a while: about 100,000 records so far.
  public static let firstSeq: UInt64 = 104_729
  /// The device number assigned at enrollment, and the datagram counter of a box that has sent
  /// about 100,000 datagrams.
  public static let deviceNumber: UInt32 = 5_021
  public static let datagramCounter: UInt64 = 98_317

  /// One `.position` record per point, priority normal, consecutive sequence numbers from
  /// `firstSeq`, the fix time as the record time, trusted clock.
  public static func positionRecords(_ points: [TrackPoint], firstSeq: UInt64) -> [WireRecord] {
    points.enumerated().map { index, point in
      WireRecord(
        seq: firstSeq + UInt64(index), kind: .position, priority: .normal, wallMs: point.timeMs,
        clockTrusted: true, monotonic: nil, body: RecordBody.position(point.position).encoded())
    }
  }

  /// `records` in batches of at most `limit` records.
  public static func batches(
    _ records: [WireRecord], epoch: UInt64 = epoch, limit: Int = WireLimits.maxRecordsPerBatch
  ) -> [Batch] {
    stride(from: 0, to: records.count, by: limit).map { start in
      Batch(epoch: epoch, records: Array(records[start..<min(start + limit, records.count)]))
    }
  }

  /// A record of `body`, priority the kind's default, trusted clock.
  public static func record(seq: UInt64, timeMs: Int64, body: RecordBody) -> WireRecord {
    WireRecord(
      seq: seq, kind: body.kind, priority: body.kind.defaultPriority, wallMs: timeMs,
      clockTrusted: true, monotonic: nil, body: body.encoded())
  }

  /// What a box in a patrol vehicle sends in 256 records: mostly positions every 5 s, a sensor
  /// reading every 8th record, box health every 64th, two check-ins, an SOS pressed twice, a
  /// sighting report and a fire alarm, the alarms and check-ins carrying the latest fix.
  /// Consecutive sequence numbers, trusted clock, default priorities.
  public static func mixedBatch(seed: UInt64 = 0x6D69_7865_6401) -> [WireRecord] {
    let count = WireLimits.maxRecordsPerBatch
    var rng = SeededRandom(seed: seed)
    let track = SyntheticTrack.generate(count: count, seed: seed ^ 0x7472_6163_6B)
    var trackIndex = 0
    var latest = track[0]
    var now = track[0].timeMs
    var records: [WireRecord] = []
    records.reserveCapacity(count)
    let sensors = ["temp0", "supply", "smoke", "water"]
    for index in 0..<count {
      let body: RecordBody
      let fix = latest.position
      var fixWithTime = fix
      fixWithTime.fixTimeMs = latest.timeMs
      switch index {
      case _ where index % 64 == 7:
        body = .boxHealth(
          BoxHealth(
            supplyMillivolts: UInt32(12_100 + rng.below(600)),
            batteryPercent: UInt8(80 + rng.below(20)),
            uptimeSeconds: 391_022 + UInt64(index) * 5,
            journalFillPermille: UInt16(120 + index / 64),
            link: .up))
      case _ where index % 8 == 3:
        let sensor = sensors[index / 8 % sensors.count]
        let value: Int64
        switch sensor {
        case "temp0": value = 18_250 + Int64(rng.below(2000))
        case "supply": value = 12_100 + Int64(rng.below(600))
        case "smoke": value = Int64(rng.below(40))
        default: value = 1_240 + Int64(rng.below(30))
        }
        body = .sensorReading(sensor: sensor, milliValue: value)
      case 40:
        body = .checkIn(who: nil, position: fixWithTime)
      case 170:
        body = .checkIn(who: "card:04A1B2C3D4", position: fixWithTime)
      case 100:
        body = .sos(presses: 1, position: fixWithTime)
      case 101:
        body = .sos(presses: 2, position: fixWithTime)
      case 200:
        body = .report(
          category: .livestockLost, note: "3 horses, north well", position: fixWithTime)
      case 230:
        body = .sensorAlarm(sensor: "smoke", alarm: .fire, milliValue: 412_000, raised: true)
      default:
        trackIndex = min(trackIndex + 1, track.count - 1)
        latest = track[trackIndex]
        now = latest.timeMs
        body = .position(latest.position)
      }
      if case .position = body {} else { now += 300 + Int64(rng.below(1200)) }
      records.append(record(seq: firstSeq + UInt64(index), timeMs: now, body: body))
    }
    return records
  }
}
