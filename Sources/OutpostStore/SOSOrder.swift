import OutpostCore

/// How SOS and cancel records become incidents when they arrive out of order.
///
/// On the box, incidents follow the journal: an SOS with none running opens one, later SOS
/// records join it, and a cancel ends it. The station must reach the same incidents whatever
/// order the records arrive in — after a reconnect, a later SOS can overtake an earlier SOS or
/// cancel that was still in flight on the dead link. So the station places each SOS and cancel
/// by its sequence number within its device's journal epoch, not by arrival.
///
/// The cancels of an epoch cut its SOS records into **segments**; one segment is one incident
/// on the box. Both stores fetch the facts about the segment around a new record
/// (``Segment``), ask this type what changes (``onSOS(_:epoch:in:)``,
/// ``onCancel(_:epoch:in:)``) and apply the ``Change``s with their own SQL, so they agree.
///
/// Two rules come from the station, not the journal: an incident an officer resolved is not
/// reopened by a later press (a new one opens), and only one SOS incident per device runs at a
/// time, so a press with no incident of its own epoch joins the device's running one (a box
/// whose journal was recreated knows nothing of the old epoch's incident).
///
/// Sequence numbers are compared as their signed column values (``SequenceColumns``); a box
/// would need 292 million years at 1,000 records a second to reach 2^63.
enum SOSOrder {
  /// One SOS record as the incident logic needs it.
  struct Mark: Sendable, Hashable {
    var seq: UInt64
    /// The record's wall-clock time, ms.
    var atMs: Int64
    var presses: UInt32
    var position: Position?

    /// The mark of an SOS record, or nil when `record` is not a readable SOS.
    init?(_ record: Record) {
      guard case .sos(let presses, let position)? = try? record.decodedBody() else { return nil }
      self.init(seq: record.seq, atMs: record.time.wallMs, presses: presses, position: position)
    }

    init(seq: UInt64, atMs: Int64, presses: UInt32, position: Position?) {
      self.seq = seq
      self.atMs = atMs
      self.presses = presses
      self.position = position
    }
  }

  /// What the store knows around one SOS or cancel record of a device and epoch, the record
  /// itself already stored.
  struct Segment: Sendable {
    /// The nearest other cancel below the record, and above it, in the same epoch.
    var cancelBefore: UInt64?
    var cancelAfter: UInt64?
    /// The device's SOS incidents of this epoch opened by a record between the two cancels,
    /// ascending by opening sequence number.
    var incidents: [Incident]
    /// The SOS records of this epoch between the two cancels, ascending.
    var marks: [Mark]
    /// The device's running SOS incident, of any epoch.
    var running: Incident?

    /// The column bounds (exclusive) of the segment, for the queries that fetch it.
    static func bounds(before: UInt64?, after: UInt64?) -> (lower: Int64, upper: Int64) {
      (before.map(SequenceColumns.column) ?? -1, after.map(SequenceColumns.column) ?? .max)
    }
  }

  enum Change: Sendable, Hashable {
    /// The record belongs to incident `id`: presses and position are its new ones; `opener` is
    /// set when the record is earlier than the one that opened the incident and now opens it.
    case join(id: Int64, presses: UInt32, position: Position?, opener: Mark?)
    /// A new incident opened by `mark`; `cancelled` when the box had already cancelled it.
    case open(Mark, presses: UInt32, position: Position?, cancelled: Bool)
    /// The box cancelled incident `id`; `presses`, when set, corrects its press count (presses
    /// after the cancel had been counted in while the cancel was still on its way).
    case cancel(id: Int64, presses: UInt32?)
  }

  /// Where a new SOS record goes.
  static func onSOS(_ mark: Mark, epoch: UInt64, in segment: Segment) -> [Change] {
    let incidents = segment.incidents
    if incidents.contains(where: { $0.seq == mark.seq }) { return [] }
    if let prior = incidents.last(where: { $0.seq! < mark.seq }), !prior.state.isClosed {
      // A later press of a running incident, or one the box has since cancelled.
      return [join(prior, mark, opener: nil)]
    }
    if !incidents.contains(where: { $0.seq! < mark.seq }),
      let next = incidents.first(where: { $0.seq! > mark.seq })
    {
      // An earlier press than the one that opened the incident: it opens it.
      return [join(next, mark, opener: mark)]
    }
    let cancelled = segment.cancelAfter != nil
    if !cancelled, let running = segment.running {
      return [join(running, mark, opener: nil)]
    }
    return [.open(mark, presses: mark.presses, position: mark.position, cancelled: cancelled)]
  }

  /// What a new cancel record ends, and what it splits off.
  static func onCancel(_ seq: UInt64, epoch: UInt64, in segment: Segment) -> [Change] {
    var changes: [Change] = []
    var stillRunning = segment.running
    if let prior = segment.incidents.last(where: { $0.seq! < seq }) {
      if prior.state == .open || prior.state == .acknowledged {
        let own = segment.marks.filter { $0.seq >= prior.seq! && $0.seq < seq }
        let presses = own.map(\.presses).max()
        changes.append(.cancel(id: prior.id, presses: presses == prior.presses ? nil : presses))
        if stillRunning?.id == prior.id { stillRunning = nil }
      }
    } else if let running = segment.running, running.epoch != epoch {
      // A box with a recreated journal cancelling what it pressed before (its presses of this
      // epoch joined the running incident of the old one).
      changes.append(.cancel(id: running.id, presses: nil))
      stillRunning = nil
    }
    let after = segment.marks.filter { $0.seq > seq }
    if let first = after.first, !segment.incidents.contains(where: { $0.seq! > seq }) {
      // Presses after the cancel that were joined to the incident before it while the cancel
      // was still on its way: they are an incident of their own.
      let presses = after.map(\.presses).max()!
      let position = after.last { $0.position != nil }?.position
      let cancelled = segment.cancelAfter != nil
      if !cancelled, let running = stillRunning {
        changes.append(.join(id: running.id, presses: presses, position: position, opener: nil))
      } else {
        changes.append(.open(first, presses: presses, position: position, cancelled: cancelled))
      }
    }
    return changes
  }

  private static func join(_ incident: Incident, _ mark: Mark, opener: Mark?) -> Change {
    .join(
      id: incident.id, presses: max(incident.presses, mark.presses),
      position: opener == nil
        ? (mark.position ?? incident.position)
        : incident.position
          ?? mark.position,
      opener: opener)
  }
}
