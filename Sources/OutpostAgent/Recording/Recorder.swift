import Logging
import OutpostCore
import OutpostGPS
import OutpostHooks
import OutpostJournal

/// Turns triggers, readings and fixes into journal records, and follows every alarm from
/// *recorded* to *delivered* to *acknowledged* (or *cancelled*).
///
/// Every source and the control socket go through here, so a press on a button and
/// `outpostctl sos` take the same path. Triggers are handled one at a time in arrival order
/// (an SOS and its cancel must not cross); routine records (readings, positions, health) go
/// straight to the journal writer's group commit and never wait behind an alarm.
public actor Recorder {
  private let writer: JournalWriter
  /// The clock records are stamped with.
  public nonisolated let clock: BoxClock
  private let settings: AlarmSettings
  private let logger: Logger

  private var busy = false
  private var queue: [CheckedContinuation<Void, Never>] = []

  private var incident: OpenIncident?
  private var flushTask: Task<Void, Never>?
  private var alarms: [TrackedAlarm] = []
  private static let alarmsKept = 64

  /// The latest GPS fix and when (monotonic ms) it arrived.
  private var latestFix: (fix: GPSFix, atMs: UInt64)?
  private var link = LinkState.unknown
  private var waitingForEnrollment = false
  private var sources: [String: SourceState] = [:]
  private var pending: PendingSummary
  private var watchers: [Int: AsyncStream<AgentChange>.Continuation] = [:]
  private var nextWatcher = 0
  /// Progress made by appends, for the watchdog.
  public private(set) var appends: UInt64 = 0
  private var routineFailures = 0
  private var gpsDisagreementLogged = false

  /// - Parameters:
  ///   - writer: the journal's writer (the journal is open and recovered).
  ///   - clock: stamps records.
  ///   - settings: the join window and record interval of incidents.
  public init(
    writer: JournalWriter, clock: BoxClock, settings: AlarmSettings, logger: Logger
  ) async throws {
    self.writer = writer
    self.clock = clock
    self.settings = settings
    self.logger = logger
    let statistics = try await writer.withJournal { try $0.statistics() }
    pending = PendingSummary(statistics)
    let boot = clock.boot
    let nowMs = clock.sinceBootMs()
    let windowMs = UInt64(settings.joinWindow.milliseconds)
    if let restored = try await writer.withJournal({ journal in
      try Self.openIncident(in: journal, boot: boot, nowMs: nowMs, joinWindowMs: windowMs)
    }) {
      incident = restored.incident
      alarms.append(restored.alarm)
      logger.notice(
        "SOS incident \(restored.incident.id) still open from before the restart (\(restored.incident.presses) presses); further presses join it",
        metadata: ["outpost_incident": "\(restored.incident.id)"])
    }
  }

  /// The SOS incident the journal shows open: its last SOS record came after the last cancel,
  /// in this boot, within the join window. A daemon restarted (a crash, kill -9, an upgrade)
  /// picks it up, so the next press joins it rather than opening another on the box.
  static func openIncident(
    in journal: RingJournal, boot: UInt32, nowMs: UInt64, joinWindowMs: UInt64
  ) throws -> (incident: OpenIncident, alarm: TrackedAlarm)? {
    var marks: [Record] = []
    try journal.forEachRecord { record in
      if record.kind == .sos || record.kind == .sosCancel { marks.append(record) }
      return true
    }
    // Ring order puts records the cleaner moved after newer ones; the journal's order is seq.
    marks.sort { $0.seq < $1.seq }
    guard let last = marks.last, last.kind == .sos,
      case .sos(let presses, _)? = try? last.decodedBody(),
      last.time.boot == boot, last.time.sinceBootMs <= nowMs,
      nowMs - last.time.sinceBootMs <= joinWindowMs
    else { return nil }
    let run = marks.reversed().prefix { $0.kind == .sos }
    // The box's incident number: its latest opening press (presses 1), else the run's first.
    let opener =
      run.first {
        if case .sos(1, _)? = try? $0.decodedBody() { return true }
        return false
      }?.seq ?? run.last!.seq
    var incident = OpenIncident(
      id: opener, presses: presses, lastPressMs: last.time.sinceBootMs,
      lastRecordMs: last.time.sinceBootMs)
    incident.recordedPresses = presses
    let alarm = TrackedAlarm(
      seq: last.seq, kind: .sos, incident: opener, presses: presses, detail: nil,
      progress: journal.isAcknowledged(last.seq) ? .delivered : .recorded, time: last.time)
    return (incident, alarm)
  }

  // MARK: Triggers

  /// Records what `trigger` asks for and returns once it is durable.
  ///
  /// An SOS is synced before this returns. A help press within the join window of an open,
  /// uncancelled incident joins it: the incident's press count goes up, and at most one SOS
  /// record per record interval carries the count (a press flood cannot fill the journal with
  /// alarms that may never be overwritten).
  ///
  /// - Parameter source: who pulled it, for the log (`outpostctl`, `input:/dev/…`).
  /// - Throws: ``JournalError`` when the journal cannot take the record.
  public func trigger(_ trigger: Trigger, source: String) async throws -> TriggerOutcome {
    let position = currentPosition()
    switch trigger {
    case .checkIn, .report:
      // Routine priority: numbered in order under the lock, made durable by the next group
      // commit outside it, so an SOS right behind a check-in does not wait for that commit.
      await acquire()
      let body: RecordBody
      if case .checkIn(let who) = trigger {
        body = .checkIn(who: who, position: position)
      } else if case .report(let category) = trigger {
        body = .report(category: category, note: nil, position: position)
      } else {
        preconditionFailure("only check-ins and reports come here")
      }
      let time = clock.now()
      let seq: UInt64
      do {
        seq = try await writer.appendNow(JournalEntry(body, time: time))
      } catch {
        release()
        throw error
      }
      appends &+= 1
      pending.appended(seq: seq, time: time)
      release()
      try await writer.waitUntilDurable()
      var detail: String?
      if case .checkIn(let who) = trigger { detail = who }
      if case .report(let category) = trigger { detail = category.description }
      let alarm = TrackedAlarm(
        seq: seq, kind: body.kind, incident: nil, presses: nil, detail: detail,
        progress: .recorded, time: time)
      track(alarm)
      log(alarm, source: source, joined: false)
      return TriggerOutcome(seq: seq, alarm: alarm, joined: false)
    default:
      break
    }
    await acquire()
    defer { release() }
    switch trigger {
    case .help:
      let nowMs = clock.sinceBootMs()
      if var open = incident, !open.cancelled,
        nowMs - open.lastPressMs <= UInt64(settings.joinWindow.milliseconds)
      {
        open.presses += 1
        open.lastPressMs = nowMs
        incident = open
        let due = open.lastRecordMs + UInt64(settings.recordInterval.milliseconds)
        if nowMs < due {
          scheduleJoinedRecord(atMs: due)
          logger.notice(
            "help pressed again: joined incident \(open.id) (\(open.presses) presses)",
            metadata: ["source": "\(source)", "outpost_incident": "\(open.id)"])
          var latest =
            alarms.last { $0.incident == open.id && $0.kind == .sos } ?? placeholder(open)
          latest.presses = open.presses
          return TriggerOutcome(seq: nil, alarm: latest, joined: true)
        }
        let alarm = try await recordSOS(presses: open.presses, incident: open.id, position)
        incident?.lastRecordMs = nowMs
        incident?.recordedPresses = open.presses
        log(alarm, source: source, joined: true)
        return TriggerOutcome(seq: alarm.seq, alarm: alarm, joined: true)
      }
      let alarm = try await recordSOS(presses: 1, incident: nil, position)
      incident = OpenIncident(id: alarm.seq, presses: 1, lastPressMs: nowMs, lastRecordMs: nowMs)
      log(alarm, source: source, joined: false)
      return TriggerOutcome(seq: alarm.seq, alarm: alarm, joined: false)
    case .cancel:
      flushTask?.cancel()
      flushTask = nil
      let cancelled = incident?.id
      let (seq, time) = try await append(.sosCancel)
      incident = nil
      let alarm = TrackedAlarm(
        seq: seq, kind: .sosCancel, incident: cancelled, presses: nil, detail: nil,
        progress: .recorded, time: time)
      track(alarm)
      if let cancelled {
        for index in alarms.indices where alarms[index].incident == cancelled {
          if alarms[index].kind == .sos { update(index, to: .cancelled) }
        }
      }
      log(alarm, source: source, joined: false)
      return TriggerOutcome(seq: seq, alarm: alarm, joined: false)
    case .checkIn, .report:
      preconditionFailure("handled above")
    }
  }

  /// Records a sensor alarm raised or cleared; synced before it returns.
  public func sensorAlarm(
    sensor: String, alarm kind: SensorAlarmKind, milliValue: Int64, raised: Bool
  ) async throws -> TrackedAlarm {
    await acquire()
    defer { release() }
    let (seq, time) = try await append(
      .sensorAlarm(sensor: sensor, alarm: kind, milliValue: milliValue, raised: raised))
    let alarm = TrackedAlarm(
      seq: seq, kind: .sensorAlarm, incident: nil, presses: nil,
      detail: "\(kind) \(raised ? "raised" : "cleared") \(sensor)", progress: .recorded,
      time: time)
    track(alarm)
    log(alarm, source: "sensor:\(sensor)", joined: false)
    return alarm
  }

  /// Records a routine body (reading, position, health) through group commit.
  ///
  /// - Returns: its sequence number once durable.
  @discardableResult
  public func routine(_ body: RecordBody) async throws -> UInt64 {
    let time = clock.now()
    do {
      let seq = try await writer.append(JournalEntry(body, time: time))
      appends &+= 1
      pending.appended(seq: seq, time: time)
      routineFailures = 0
      return seq
    } catch {
      routineFailures += 1
      if routineFailures == 1 {
        logger.error("journal refused a \(body.kind) record: \(error)")
      }
      throw error
    }
  }

  // MARK: GPS

  /// A new fix: kept for the next alarm, and its time anchors the clock.
  public func fix(_ fix: GPSFix) {
    latestFix = (fix, clock.sinceBootMs())
    guard let timeMs = fix.timeMs else { return }
    switch clock.gpsTime(timeMs) {
    case .first:
      logger.notice("GPS time seen: the wall clock is trusted from now on")
      publish(.clock)
    case .updated:
      gpsDisagreementLogged = false
    case .disagreesWithNTP(let difference):
      if !gpsDisagreementLogged {
        gpsDisagreementLogged = true
        logger.warning(
          "GPS time is \(difference / 1000) s off the NTP-synchronised clock; keeping NTP time (a receiver with the week-rollover bug?)"
        )
      }
    }
  }

  /// The latest fix, if one arrived in the last ten minutes.
  public func currentPosition() -> Position? {
    guard let latestFix, clock.sinceBootMs() - latestFix.atMs <= 600_000 else { return nil }
    return latestFix.fix.position
  }

  // MARK: The station's side (called by the uplink)

  /// The station stored these records: the journal may let them go, and alarms among them
  /// become *delivered*.
  public func stationStored(_ seqs: ClosedRange<UInt64>) async throws {
    let receivedAt = monotonicMicros()
    try await writer.withJournal { try $0.acknowledge(seqs) }
    rememberAcknowledged([seqs], at: receivedAt)
    for index in alarms.indices
    where seqs.contains(alarms[index].seq) && alarms[index].progress == .recorded {
      alarms[index].ackReceivedAtMicros = receivedAt
      update(index, to: .delivered)
    }
    pending = PendingSummary(try await writer.withJournal { try $0.statistics() })
    publish(.journal)
  }

  /// The uplink's report: the station stored these records, and the journal already marks them
  /// acknowledged. `newly` is how many of them were not acknowledged before (nil: unknown, as
  /// after a welcome), so that the pending count follows without rescanning the journal on
  /// every ack of a draining backlog; the oldest pending record is looked up again only when it
  /// was among them, at most every two seconds.
  ///
  /// `receivedAtMicros` (µs of `CLOCK_MONOTONIC`) is when the station's ack reached the box,
  /// kept with the alarms it delivers.
  public func stationAcknowledged(
    _ ranges: [ClosedRange<UInt64>], newly: Int?, receivedAtMicros: UInt64 = monotonicMicros()
  ) async {
    rememberAcknowledged(ranges, at: receivedAtMicros)
    for index in alarms.indices
    where alarms[index].progress == .recorded
      && ranges.contains(where: { $0.contains(alarms[index].seq) })
    {
      alarms[index].ackReceivedAtMicros = receivedAtMicros
      update(index, to: .delivered)
    }
    if let newly {
      pending.count -= min(pending.count, UInt64(newly))
    }
    let oldestGone = pending.oldestSeq.map { oldest in ranges.contains { $0.contains(oldest) } }
    if newly == nil || oldestGone == true || pending.count == 0 {
      rescanPendingSoon()
    }
    publish(.journal)
  }

  private var rescanTask: Task<Void, Never>?
  private var lastRescan = ContinuousClock.now - .seconds(10)

  private func rescanPendingSoon() {
    guard rescanTask == nil else { return }
    let wait = max(.zero, lastRescan + .seconds(2) - .now)
    rescanTask = Task {
      try? await Task.sleep(for: wait)
      await self.rescanPending()
    }
  }

  /// Records a rescan reads per visit to the journal writer (well under a millisecond), so an
  /// alarm's append waits for one slice, not for the whole ring.
  static let rescanSlice = 512

  private func rescanPending() async {
    rescanTask = nil
    lastRescan = .now
    var tally = PendingTally()
    while !tally.isFinished {
      let slice = tally
      guard
        let next = try? await writer.withJournal({ ring -> PendingTally in
          var tally = slice
          try ring.continuePendingTally(&tally, limit: Self.rescanSlice)
          return tally
        })
      else { return }
      tally = next
    }
    pending = PendingSummary(tally)
    publish(.journal)
  }

  /// An officer acknowledged the alarm recorded as `seq` (for an SOS: its whole incident).
  public func officerAcknowledged(seq: UInt64, officer: String, note: String) {
    let incident = alarms.first { $0.seq == seq }?.incident
    for index in alarms.indices
    where (alarms[index].seq == seq || (incident != nil && alarms[index].incident == incident))
      && alarms[index].progress < .acknowledged
    {
      alarms[index].acknowledgedBy = officer
      alarms[index].note = note.isEmpty ? nil : note
      update(index, to: .acknowledged)
    }
  }

  /// Whether the box waits for an enrollment bundle (shown instead of the link state).
  public func enrollment(waiting: Bool) {
    guard waiting != waitingForEnrollment else { return }
    waitingForEnrollment = waiting
    publish(.link)
  }

  /// What `hello` tells the station of the box's clock: boot, wall time now, GPS anchor.
  public func uplinkClock() -> (boot: UInt32, wallMs: Int64, anchor: TimeAnchor?) {
    (clock.boot, clock.now().wallMs, clock.gpsAnchor)
  }

  /// The uplink's link state changed.
  public func linkChanged(_ state: LinkState) {
    guard state != link else { return }
    link = state
    publish(.link)
  }

  // MARK: Sources

  /// A source reports how it is doing.
  public func source(_ name: String, _ state: SourceState) {
    guard sources[name] != state else { return }
    sources[name] = state
    publish(.source(name))
  }

  // MARK: Status

  /// The agent's state now; `freshJournal` rescans the journal for exact counts.
  public func status(freshJournal: Bool = false) async throws -> AgentStatus {
    var journal: JournalStatistics?
    if freshJournal {
      let statistics = try await writer.withJournal { try $0.statistics() }
      pending = PendingSummary(statistics)
      journal = statistics
    }
    return AgentStatus(
      pendingRecords: pending.count, oldestPendingSeq: pending.oldestSeq,
      oldestPendingTime: pending.oldestTime, link: link,
      waitingForEnrollment: waitingForEnrollment,
      lastAlarm: alarms.last { $0.kind != .checkIn && $0.kind != .report },
      lastRecorded: alarms.last, alarms: alarms, clockTrusted: clock.isTrusted,
      position: currentPosition(), sources: sources, journal: journal, now: clock.now())
  }

  /// Changes as they happen, for the status line, feedback and `outpostctl --wait`. The stream
  /// ends when the consumer stops iterating.
  public func changes() -> AsyncStream<AgentChange> {
    let (stream, continuation) = AsyncStream<AgentChange>.makeStream(
      bufferingPolicy: .bufferingNewest(256))
    let id = nextWatcher
    nextWatcher += 1
    watchers[id] = continuation
    continuation.onTermination = { [weak self] _ in
      Task { await self?.unwatch(id) }
    }
    return stream
  }

  /// The journal's writer, for the control socket's journal commands.
  public nonisolated var journalWriter: JournalWriter { writer }

  /// Makes every appended record durable (shutdown).
  public func flush() async throws {
    try await writer.flush()
  }

  // MARK: Internals

  private func unwatch(_ id: Int) {
    watchers[id] = nil
  }

  private func publish(_ change: AgentChange) {
    for continuation in watchers.values { continuation.yield(change) }
  }

  private func acquire() async {
    if !busy {
      busy = true
      return
    }
    await withCheckedContinuation { queue.append($0) }
  }

  private func release() {
    if queue.isEmpty {
      busy = false
    } else {
      queue.removeFirst().resume()
    }
  }

  private func append(_ body: RecordBody) async throws -> (UInt64, RecordTime) {
    let time = clock.now()
    let seq = try await writer.append(JournalEntry(body, time: time))
    appends &+= 1
    pending.appended(seq: seq, time: time)
    return (seq, time)
  }

  private func recordSOS(presses: UInt32, incident: UInt64?, _ position: Position?) async throws
    -> TrackedAlarm
  {
    let (seq, time) = try await append(.sos(presses: presses, position: position))
    let alarm = TrackedAlarm(
      seq: seq, kind: .sos, incident: incident ?? seq, presses: presses, detail: nil,
      progress: .recorded, time: time)
    track(alarm)
    return alarm
  }

  private func placeholder(_ open: OpenIncident) -> TrackedAlarm {
    TrackedAlarm(
      seq: open.id, kind: .sos, incident: open.id, presses: open.presses, detail: nil,
      progress: .recorded, time: clock.now())
  }

  /// Writes the joined presses' count when the record interval has passed.
  private func scheduleJoinedRecord(atMs due: UInt64) {
    guard flushTask == nil else { return }
    let delayMs = due - min(due, clock.sinceBootMs())
    flushTask = Task { [weak self] in
      try? await Task.sleep(for: .milliseconds(delayMs))
      guard !Task.isCancelled else { return }
      await self?.recordJoinedPresses()
    }
  }

  private func recordJoinedPresses() async {
    await acquire()
    defer { release() }
    flushTask = nil
    guard let open = incident, !open.cancelled, open.presses > open.recordedPresses else { return }
    do {
      let alarm = try await recordSOS(
        presses: open.presses, incident: open.id, currentPosition())
      incident?.lastRecordMs = clock.sinceBootMs()
      incident?.recordedPresses = open.presses
      log(alarm, source: "joined presses", joined: true)
    } catch {
      logger.critical(
        "could not record \(open.presses - open.recordedPresses) joined help presses: \(error)",
        metadata: ["outpost_incident": "\(open.id)"])
    }
  }

  private func track(_ alarm: TrackedAlarm) {
    alarms.append(alarm)
    if alarms.count > Self.alarmsKept { alarms.removeFirst(alarms.count - Self.alarmsKept) }
    publish(.alarm(alarm, .recorded))
    // The uplink sends an alarm while the journal syncs it, so the station's ack may have been
    // handled here before the append returned.
    if alarm.progress == .recorded,
      let ack = recentlyAcknowledged.last(where: { $0.range.contains(alarm.seq) })
    {
      alarms[alarms.count - 1].ackReceivedAtMicros = ack.at
      update(alarms.count - 1, to: .delivered)
    }
  }

  /// The ranges of the last few acknowledgements and when each reached the box, for
  /// ``track(_:)``.
  private var recentlyAcknowledged: [(range: ClosedRange<UInt64>, at: UInt64)] = []
  private static let recentAcknowledgements = 64

  private func rememberAcknowledged(_ ranges: [ClosedRange<UInt64>], at micros: UInt64) {
    recentlyAcknowledged += ranges.map { ($0, micros) }
    if recentlyAcknowledged.count > Self.recentAcknowledgements {
      recentlyAcknowledged.removeFirst(recentlyAcknowledged.count - Self.recentAcknowledgements)
    }
  }

  private func update(_ index: Int, to progress: AlarmProgress) {
    alarms[index].progress = progress
    publish(.alarm(alarms[index], progress.feedbackMoment))
  }

  private func log(_ alarm: TrackedAlarm, source: String, joined: Bool) {
    var metadata: Logger.Metadata = [
      "outpost_seq": "\(alarm.seq)", "outpost_kind": "\(alarm.kind)", "source": "\(source)",
      "message_id": "\(MessageIDs.for(alarm.kind))",
    ]
    if let incident = alarm.incident { metadata["outpost_incident"] = "\(incident)" }
    if let presses = alarm.presses { metadata["outpost_presses"] = "\(presses)" }
    if let detail = alarm.detail { metadata["outpost_detail"] = "\(detail)" }
    let what: String
    switch alarm.kind {
    case .sos:
      what =
        joined
        ? "SOS recorded: incident \(alarm.incident ?? alarm.seq), \(alarm.presses ?? 1) presses"
        : "SOS recorded: new incident \(alarm.seq)"
    case .sosCancel: what = "SOS cancelled by the household"
    case .checkIn: what = "check-in recorded" + (alarm.detail.map { " for \($0)" } ?? "")
    case .report: what = "report recorded: \(alarm.detail ?? "")"
    case .sensorAlarm: what = "sensor alarm recorded: \(alarm.detail ?? "")"
    default: what = "\(alarm.kind) recorded"
    }
    logger.notice("\(what) (seq \(alarm.seq))", metadata: metadata)
  }
}

/// The SOS incident the box has open.
struct OpenIncident: Sendable, Hashable {
  /// The sequence number of its first SOS record.
  var id: UInt64
  var presses: UInt32
  var recordedPresses: UInt32 = 1
  var lastPressMs: UInt64
  var lastRecordMs: UInt64
  var cancelled = false

  init(id: UInt64, presses: UInt32, lastPressMs: UInt64, lastRecordMs: UInt64) {
    self.id = id
    self.presses = presses
    self.lastPressMs = lastPressMs
    self.lastRecordMs = lastRecordMs
  }
}

/// Records not yet acknowledged by the station, kept current between journal scans.
struct PendingSummary: Sendable, Hashable {
  var count: UInt64
  var oldestSeq: UInt64?
  var oldestTime: RecordTime?

  init(_ statistics: JournalStatistics) {
    count = statistics.pendingByPriority.reduce(0, +)
    oldestSeq = statistics.oldestPendingSeq
    oldestTime = statistics.oldestPendingTime
  }

  init(_ tally: PendingTally) {
    count = tally.pending
    oldestSeq = tally.oldestSeq
    oldestTime = tally.oldestTime
  }

  mutating func appended(seq: UInt64, time: RecordTime) {
    count += 1
    if oldestSeq == nil {
      oldestSeq = seq
      oldestTime = time
    }
  }
}

extension AlarmProgress {
  var feedbackMoment: FeedbackMoment {
    switch self {
    case .recorded: .recorded
    case .delivered: .delivered
    case .acknowledged: .acknowledged
    case .cancelled: .cancelled
    }
  }
}

extension Duration {
  /// Whole milliseconds.
  var milliseconds: Int64 {
    let (seconds, attoseconds) = components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
  }
}
