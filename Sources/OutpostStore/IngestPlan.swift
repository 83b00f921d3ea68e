import OutpostCore

/// What an ingest call does beyond storing its records, worked out from the records that were
/// new: both stores follow the same plan, so they agree on every side effect.
///
/// Most records are telemetry and cost nothing here but a counter. Alarms, cancels and
/// check-ins become ``Step``s, applied in record order; positions, health and check-in times
/// are folded into one ``DeviceChange`` per device, so a GPS track of hundreds of points costs
/// one update of the device row.
struct IngestPlan {
  /// A record that opens, joins, cancels or clears something, in record order.
  enum Step {
    case sos(deviceID: Int64, epoch: UInt64, record: Record, presses: UInt32, position: Position?)
    case sosCancel(deviceID: Int64, epoch: UInt64, record: Record)
    /// A raised sensor alarm; `detail` is "<alarm> <sensor>", e.g. "fire temp1".
    case sensorAlarm(deviceID: Int64, epoch: UInt64, record: Record, detail: String)
    case checkIn(deviceID: Int64, record: Record, who: String?)
    /// An incident a lower station forwarded (this station is higher up the chain).
    case forwarded(deviceID: Int64, epoch: UInt64, record: Record, incident: ForwardedIncident)
    /// What happened to an incident a lower station forwarded, after it forwarded it.
    case incidentUpdate(deviceID: Int64, update: IncidentUpdate)
  }

  /// A device's journal epoch, whose SOS and cancel steps are taken in sequence order.
  fileprivate struct Journal: Hashable {
    var deviceID: Int64
    var epoch: UInt64
  }

  /// What changes on one device's row.
  struct DeviceChange {
    var deviceID: Int64
    /// The epoch of the device's last batch in the call.
    var epoch: UInt64
    /// Records of the call that were not stored before.
    var newRecords: Int64 = 0
    /// The newest position by record time, and that time.
    var position: (atMs: Int64, position: Position)?
    /// The newest health report by record time.
    var health: (atMs: Int64, health: BoxHealth)?
    /// The latest check-in time.
    var checkInMs: Int64?
  }

  private(set) var steps: [Step] = []
  /// One entry per device of the call, ascending by id (the order in which rows are locked).
  private(set) var devices: [DeviceChange] = []

  /// Plans the side effects of `batches`, where `isNew(b, r)` tells whether record `r` of batch
  /// `b` was stored by this call (a resend is not, and has no effect).
  init(batches: [IngestBatch], isNew: (Int, Int) -> Bool) {
    var changes: [Int64: DeviceChange] = [:]
    // The newest position record per device, decoded once at the end.
    var newestTrack: [Int64: (atMs: Int64, batch: Int, record: Int)] = [:]
    for (b, batch) in batches.enumerated() {
      let id = batch.deviceID
      var change = changes[id] ?? DeviceChange(deviceID: id, epoch: batch.epoch)
      change.epoch = batch.epoch
      for (r, record) in batch.records.enumerated() where isNew(b, r) {
        change.newRecords += 1
        let time = record.time.wallMs
        switch record.kind {
        case .position:
          if let best = newestTrack[id], best.atMs >= time { continue }
          newestTrack[id] = (time, b, r)
        case .sos:
          guard case .sos(let presses, let position)? = try? record.decodedBody() else { continue }
          steps.append(
            .sos(
              deviceID: id, epoch: batch.epoch, record: record, presses: presses,
              position: position))
          if let position { Self.offer(position, at: time, to: &change) }
        case .sosCancel:
          steps.append(.sosCancel(deviceID: id, epoch: batch.epoch, record: record))
        case .sensorAlarm:
          guard
            case .sensorAlarm(let sensor, let alarm, _, let raised)? = try? record.decodedBody(),
            raised
          else { continue }
          steps.append(
            .sensorAlarm(
              deviceID: id, epoch: batch.epoch, record: record, detail: "\(alarm) \(sensor)"))
        case .checkIn:
          guard case .checkIn(let who, let position)? = try? record.decodedBody() else { continue }
          steps.append(.checkIn(deviceID: id, record: record, who: who))
          change.checkInMs = max(change.checkInMs ?? time, time)
          if let position { Self.offer(position, at: time, to: &change) }
        case .report:
          guard case .report(_, _, let position?)? = try? record.decodedBody() else { continue }
          Self.offer(position, at: time, to: &change)
        case .boxHealth:
          guard case .boxHealth(let health)? = try? record.decodedBody() else { continue }
          if let known = change.health, known.atMs > time { continue }
          change.health = (time, health)
        case .forwardedIncident:
          guard case .forwardedIncident(let incident)? = try? record.decodedBody() else {
            continue
          }
          steps.append(
            .forwarded(deviceID: id, epoch: batch.epoch, record: record, incident: incident))
        case .incidentUpdate:
          guard case .incidentUpdate(let update)? = try? record.decodedBody() else { continue }
          steps.append(.incidentUpdate(deviceID: id, update: update))
        case .sensorReading, .journalGap, .test, .unknown:
          continue
        }
      }
      changes[id] = change
    }
    for (id, newest) in newestTrack {
      let record = batches[newest.batch].records[newest.record]
      guard case .position(let position)? = try? record.decodedBody() else { continue }
      Self.offer(position, at: newest.atMs, to: &changes[id]!)
    }
    devices = changes.values.sorted { $0.deviceID < $1.deviceID }
    sortSOSSteps()
  }

  /// Puts each device and epoch's SOS and cancel steps in sequence order, in the places those
  /// steps already hold (so other devices' steps keep their order).
  ///
  /// ``SOSOrder`` places a record among the records stored before it; taking the call's own
  /// records in sequence order keeps that true inside one call whose batches arrived shuffled
  /// (a resend after a reconnect ahead of what was still in flight).
  private mutating func sortSOSSteps() {
    var slots: [Journal: [Int]] = [:]
    for (index, step) in steps.enumerated() {
      if let (journal, _) = step.sosPlace { slots[journal, default: []].append(index) }
    }
    for indices in slots.values where indices.count > 1 {
      let sorted = indices.map { steps[$0] }.sorted { $0.sosPlace!.seq < $1.sosPlace!.seq }
      for (index, step) in zip(indices, sorted) { steps[index] = step }
    }
  }

  private static func offer(_ position: Position, at time: Int64, to change: inout DeviceChange) {
    if let known = change.position, known.atMs >= time { return }
    change.position = (time, position)
  }
}

extension Position {
  /// The position as a journal position body, the form incidents keep it in.
  var storedBytes: [UInt8] { RecordBody.position(self).encoded() }

  /// A position kept by ``storedBytes``; nil when the bytes are not one.
  init?(storedBytes bytes: [UInt8]) {
    guard case .position(let position)? = try? RecordBody(kind: .position, bytes: bytes) else {
      return nil
    }
    self = position
  }
}

extension IngestPlan.Step {
  /// The journal and sequence number of an SOS or cancel step; nil for other steps.
  fileprivate var sosPlace: (journal: IngestPlan.Journal, seq: UInt64)? {
    switch self {
    case .sos(let deviceID, let epoch, let record, _, _),
      .sosCancel(let deviceID, let epoch, let record):
      (IngestPlan.Journal(deviceID: deviceID, epoch: epoch), record.seq)
    case .sensorAlarm, .checkIn, .forwarded, .incidentUpdate: nil
    }
  }
}
