import Logging
import NIOCore
import OutpostCore
import OutpostEnrollment
import OutpostJournal
import OutpostWire

/// One connection's conversation with a station: hello, welcome, batches out and acks back,
/// pings, downlink messages. Lives on the task that runs it; its child tasks only turn inbound
/// messages, durable-append signals and timer deadlines into events for that task.
final class Session {
  let uplink: Uplink
  let station: StationAddress
  private(set) var welcomed = false
  /// The session delivered records or lasted long enough that the backoff starts over.
  private(set) var wasProductive = false

  private var epoch: UInt64 = 0
  private var window = 1
  private var maxRecords = 64
  private var pingInterval: Duration = .seconds(300)
  private var started = ContinuousClock.now
  private var lastHeard = ContinuousClock.now
  private var pingSent: (nonce: UInt64, at: ContinuousClock.Instant)?
  /// When a batch went out with nothing heard from the station since: an ack that does not come
  /// within the pong timeout, plus the time the bytes sent since could take at 200 bytes a
  /// second (a slow satellite or cellular link still gets its window through), means the link
  /// is half-open, as a missing pong does.
  private var unansweredSince: ContinuousClock.Instant?
  /// Bytes sent on the socket when the station was last heard from.
  private var sentWhenHeard: UInt64 = 0
  /// The slowest link an unanswered batch is given time for, in bytes a second.
  private static let slowestLink: Double = 200
  private var timerDeadline: ContinuousClock.Instant?
  /// Where the timer reports; set while the session runs.
  private var sink: AsyncStream<Event>.Continuation?
  private var nextNonce: UInt64 = 1
  private var timer: Task<Void, Never>?

  /// Alarms found but not yet sent, ascending.
  private var alarmQueue: [Record] = []
  /// Where the alarm scan continues: records before it were looked at.
  private var alarmCursor = RingPosition(offset: 0)
  /// Where the backlog continues.
  private var backlogCursor = RingPosition(offset: 0)
  /// Batches sent and not yet wholly acknowledged, oldest first.
  private var flights: [Flight] = []
  /// How many backlog batches may be in flight (alarms do not wait for it).
  private var pacer = BacklogPacer(limit: 1)
  private var inFlight: Set<UInt64> = []
  /// Wakes the session when the pacer's pause ends (one at a time).
  private var resumeTask: Task<Void, Never>?
  /// Alarm batches may go beyond the window by this many, so an SOS never waits behind the
  /// backlog's acknowledgements.
  private static let alarmOvertake = 4

  /// A batch sent and not yet wholly acknowledged.
  private struct Flight {
    var seqs: Set<UInt64>
    var sentAt: ContinuousClock.Instant
    var alarm: Bool
  }

  init(uplink: Uplink, station: StationAddress) {
    self.uplink = uplink
    self.station = station
  }

  enum Event: Sendable {
    /// A message from the station, and when it came off the connection (µs of
    /// `CLOCK_MONOTONIC`).
    case message(WireMessage, atMicros: UInt64)
    case closed((any Error)?)
    case durable
    /// An alarm just appended, not yet durable: it may be sent while the journal syncs it.
    case alarm(Record)
    /// The backlog's pause (``BacklogPacer``) ended.
    case resume
    case tick
  }

  private var writer: JournalWriter { uplink.writer }
  private var logger: Logger { uplink.logger }

  func run(
    inbound: NIOAsyncChannelInboundStream<WireMessage>,
    outbound: NIOAsyncChannelOutboundWriter<WireMessage>
  ) async throws {
    let (events, sink) = AsyncStream<Event>.makeStream()
    self.sink = sink
    defer {
      timer?.cancel()
      resumeTask?.cancel()
      sink.finish()
    }
    let clock = await uplink.delegate.uplinkClock()
    let (epoch, ackFloor, nextSeq) = await writer.withJournal {
      ($0.epoch, $0.ackFloor, $0.nextSequenceNumber)
    }
    self.epoch = epoch
    started = .now
    lastHeard = .now
    sentWhenHeard = uplink.traffic.sent
    try await outbound.write(
      .hello(
        Hello(
          versions: ProtocolVersion.supported, device: uplink.settings.device,
          capabilities: uplink.settings.capabilities, epoch: epoch, ackFloor: ackFloor,
          nextSeq: nextSeq, boot: clock.boot, wallMs: clock.wallMs, timeAnchor: clock.anchor)))
    arm(at: started + uplink.settings.welcomeTimeout, sink: sink)
    let durable = await writer.durableAppends()
    let appendedAlarms = await writer.appendedAlarms()
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        do {
          for try await message in inbound {
            sink.yield(.message(message, atMicros: monotonicMicros()))
          }
          sink.yield(.closed(nil))
        } catch {
          sink.yield(.closed(error))
        }
      }
      group.addTask {
        for await _ in durable { sink.yield(.durable) }
      }
      group.addTask {
        for await record in appendedAlarms { sink.yield(.alarm(record)) }
      }
      defer { group.cancelAll() }
      for await event in events {
        switch event {
        case .message(let message, let atMicros):
          lastHeard = .now
          unansweredSince = nil
          sentWhenHeard = uplink.traffic.sent
          try await handle(message, at: atMicros, outbound: outbound, sink: sink)
        case .closed(let error):
          if let error { throw SessionFailure(uplink.describe(error)) }
          throw SessionFailure(welcomed ? "closed by the station" : "closed before welcome")
        case .durable:
          if welcomed {
            try await scanAlarms()
            try await fill(outbound)
          }
        case .alarm(let record):
          if welcomed && !inFlight.contains(record.seq)
            && !alarmQueue.contains(where: { $0.seq == record.seq })
          {
            alarmQueue.append(record)
            alarmQueue.sort { $0.seq < $1.seq }
            try await fill(outbound)
          }
        case .resume:
          resumeTask = nil
          if welcomed { try await fill(outbound) }
        case .tick:
          try await tick(outbound, sink: sink)
        }
      }
    }
  }

  // MARK: Messages

  private func handle(
    _ message: WireMessage, at receivedAtMicros: UInt64,
    outbound: NIOAsyncChannelOutboundWriter<WireMessage>, sink: AsyncStream<Event>.Continuation
  ) async throws {
    switch message {
    case .welcome(let welcome):
      guard !welcomed else { throw SessionFailure("a second welcome from the station") }
      guard ProtocolVersion.supported.contains(welcome.version) else {
        throw SessionFailure("the station chose protocol version \(welcome.version)")
      }
      window = max(1, min(Int(welcome.window), uplink.settings.maxWindow))
      pacer = BacklogPacer(limit: window, share: uplink.settings.backlogShare)
      maxRecords = max(1, min(Int(welcome.maxRecordsPerBatch), WireLimits.maxRecordsPerBatch))
      pingInterval = .seconds(max(5, Int(welcome.pingIntervalSeconds)))
      welcomed = true
      logger.notice(
        "link up to \(station): station holds \(welcome.stored.count) ranges of epoch \(String(epoch, radix: 16))",
        metadata: ["station": "\(station)"])
      try await acknowledge(welcome.stored, fromWelcome: true, at: receivedAtMicros)
      await uplink.delegate.uplinkLink(up: true, station: "\(station)")
      let oldest = await writer.withJournal { $0.oldestPosition }
      alarmCursor = oldest
      backlogCursor = oldest
      try await scanAlarms()
      arm(at: lastHeard + pingInterval, sink: sink)
      try await fill(outbound)
    case .ack(let ack):
      guard welcomed else { throw SessionFailure("an ack before welcome") }
      guard ack.epoch == epoch else {
        logger.info("ack for another epoch \(String(ack.epoch, radix: 16)) ignored")
        return
      }
      try await acknowledge(ack.ranges, fromWelcome: false, at: receivedAtMicros)
      wasProductive = true
      try await fill(outbound)
    case .ping(let nonce):
      try await outbound.write(.pong(nonce: nonce))
    case .pong(let nonce):
      if pingSent?.nonce == nonce { pingSent = nil }
    case .error(let report):
      throw SessionFailure("the station refused: \(report)")
    case .incidentAcknowledged, .incidentHandled, .locateNow, .neighbourAlert, .time,
      .datagramKey:
      guard welcomed else { throw SessionFailure("\(message.type) before welcome") }
      await uplink.delegate.uplinkReceived(message)
    case .skipped:
      break
    case .hello, .batch:
      throw SessionFailure("the station sent \(message.type), which only boxes send")
    }
  }

  /// Marks `ranges` acknowledged in the journal (only there does an acknowledgement count) and
  /// forgets the batches they complete.
  private func acknowledge(
    _ ranges: [ClosedRange<UInt64>], fromWelcome: Bool, at receivedAtMicros: UInt64
  ) async throws {
    guard !ranges.isEmpty else {
      if fromWelcome {
        await uplink.delegate.uplinkStored([], newly: nil, receivedAtMicros: receivedAtMicros)
      }
      return
    }
    let applied = try await writer.withJournal { ring -> [ClosedRange<UInt64>] in
      var applied: [ClosedRange<UInt64>] = []
      for range in ranges where range.lowerBound < ring.nextSequenceNumber {
        let clamped = range.lowerBound...min(range.upperBound, ring.nextSequenceNumber - 1)
        try ring.acknowledge(clamped)
        applied.append(clamped)
      }
      return applied
    }
    if applied.count < ranges.count || applied.last != ranges.last {
      logger.warning("the station acknowledged sequence numbers this journal never issued")
    }
    var cleared: [UInt64] = []
    for seq in inFlight where applied.contains(where: { $0.contains(seq) }) { cleared.append(seq) }
    for seq in cleared { inFlight.remove(seq) }
    let now = ContinuousClock.now
    for index in flights.indices {
      flights[index].seqs.subtract(cleared)
      if flights[index].seqs.isEmpty && !flights[index].alarm {
        pacer.roundTrip(now - flights[index].sentAt, at: now)
      }
    }
    flights.removeAll { $0.seqs.isEmpty }
    alarmQueue.removeAll { record in applied.contains { $0.contains(record.seq) } }
    await uplink.delegate.uplinkStored(
      applied, newly: fromWelcome ? nil : cleared.count, receivedAtMicros: receivedAtMicros)
  }

  // MARK: Sending

  /// Sends batches while the window allows: queued alarms first (they may overtake a full
  /// window by a few batches), then the backlog in ring order, as many batches in flight as
  /// the pacer allows.
  private func fill(_ outbound: NIOAsyncChannelOutboundWriter<WireMessage>) async throws {
    while !alarmQueue.isEmpty && flights.count < window + Self.alarmOvertake {
      let batch = Array(alarmQueue.prefix(maxRecords))
      alarmQueue.removeFirst(batch.count)
      try await send(batch, alarm: true, outbound)
    }
    while flights.count < pacer.allowed {
      guard pacer.mayStart(at: .now) else {
        resumeLater()
        return
      }
      let batch = try await nextBacklog()
      guard !batch.isEmpty else { return }
      try await send(batch, alarm: false, outbound)
    }
  }

  private func send(
    _ records: [Record], alarm: Bool, _ outbound: NIOAsyncChannelOutboundWriter<WireMessage>
  ) async throws {
    try await outbound.write(.batch(Batch(epoch: epoch, records: records.map(WireRecord.init))))
    if unansweredSince == nil {
      unansweredSince = .now
      if let sink { rearmIfEarlier(sink: sink) }
    }
    let seqs = Set(records.map(\.seq))
    inFlight.formUnion(seqs)
    flights.append(Flight(seqs: seqs, sentAt: .now, alarm: alarm))
  }

  /// Records ``nextBacklog()`` looks at per visit to the journal writer. After a reconnect the
  /// backlog cursor starts at the ring's oldest record, and hundreds of thousands of records
  /// already acknowledged may lie before the first one to send: read in one visit, that took
  /// up to 80 ms, and an SOS's append waited behind it.
  static let backlogSlice = 4096

  /// Up to one batch of unacknowledged records not in flight, from the backlog cursor on,
  /// ascending (a batch must ascend; relocated records come later in ring order).
  private func nextBacklog() async throws -> [Record] {
    let limit = maxRecords
    let lookLimit = Self.backlogSlice
    var found: [UInt64: Record] = [:]
    var cursor = backlogCursor
    var reachedHead = false
    while found.count < limit && !reachedHead {
      let inFlight = inFlight
      let wanted = limit - found.count
      let start = cursor
      let slice = try await writer.withJournal {
        ring -> (found: [Record], cursor: RingPosition, reachedHead: Bool) in
        var found: [Record] = []
        var cursor = start
        var looked = 0
        while found.count < wanted && looked < lookLimit {
          let (records, next) = try ring.records(after: cursor, limit: limit)
          if records.isEmpty { return (found, cursor, true) }
          var taken = 0
          for record in records {
            taken += 1
            if !ring.isAcknowledged(record.seq) && !inFlight.contains(record.seq) {
              found.append(record)
              if found.count == wanted { break }
            }
          }
          looked += taken
          if taken == records.count {
            cursor = next
          } else {
            // Stopped inside this read: continue after the last record taken next time.
            let (_, after) = try ring.records(after: cursor, limit: taken)
            cursor = after
          }
        }
        return (found, cursor, false)
      }
      for record in slice.found { found[record.seq] = record }
      cursor = slice.cursor
      reachedHead = slice.reachedHead
    }
    backlogCursor = await writer.withJournal { ring in
      var position = cursor
      if position < ring.oldestPosition { position = ring.oldestPosition }
      return position
    }
    return found.values.sorted { $0.seq < $1.seq }
  }

  /// Finds alarms among records made durable since the last scan and queues them.
  private func scanAlarms() async throws {
    var cursor = alarmCursor
    let inFlight = inFlight
    while true {
      let (alarms, next, more) = try await writer.withJournal {
        ring -> ([Record], RingPosition, Bool) in
        let (records, next) = try ring.records(after: cursor, limit: 512)
        let alarms = records.filter {
          $0.priority == .alarm && !ring.isAcknowledged($0.seq) && !inFlight.contains($0.seq)
        }
        return (alarms, next, !records.isEmpty)
      }
      cursor = next
      let queued = Set(alarmQueue.map(\.seq))
      alarmQueue += alarms.filter { !queued.contains($0.seq) }
      if !more { break }
    }
    alarmCursor = cursor
    alarmQueue.sort { $0.seq < $1.seq }
  }

  // MARK: Timers

  /// Has the session woken (``Event/resume``) when the backlog's pause ends.
  private func resumeLater() {
    guard resumeTask == nil, let sink, let at = pacer.resumeAt else { return }
    resumeTask = Task {
      try? await Task.sleep(until: at, clock: .continuous)
      if !Task.isCancelled { sink.yield(.resume) }
    }
  }

  /// Wakes the session at `deadline` (one timer at a time; nothing wakes it in between).
  private func arm(at deadline: ContinuousClock.Instant, sink: AsyncStream<Event>.Continuation) {
    timer?.cancel()
    timerDeadline = deadline
    timer = Task {
      try? await Task.sleep(until: deadline, clock: .continuous)
      if !Task.isCancelled { sink.yield(.tick) }
    }
  }

  /// The next moment something must be checked: a pong or an ack due, else the next ping.
  private func nextDeadline() -> ContinuousClock.Instant {
    var deadline = lastHeard + pingInterval
    if let sent = pingSent { deadline = min(deadline, sent.at + uplink.settings.pongTimeout) }
    if let since = unansweredSince {
      deadline = min(deadline, since + unansweredAllowance())
    }
    return deadline
  }

  /// How long sent records may go unanswered: the pong timeout, plus the time the bytes sent
  /// since the station was last heard from take at the slowest link allowed for.
  private func unansweredAllowance() -> Duration {
    let outstanding = Double(uplink.traffic.sent &- sentWhenHeard)
    return uplink.settings.pongTimeout + .seconds(outstanding / Self.slowestLink)
  }

  /// Arms the timer for ``nextDeadline()`` when it is earlier than the one armed (or none is).
  private func rearmIfEarlier(sink: AsyncStream<Event>.Continuation) {
    let deadline = nextDeadline()
    if let armed = timerDeadline, armed <= deadline { return }
    arm(at: deadline, sink: sink)
  }

  private func tick(
    _ outbound: NIOAsyncChannelOutboundWriter<WireMessage>, sink: AsyncStream<Event>.Continuation
  ) async throws {
    let now = ContinuousClock.now
    timerDeadline = nil
    guard welcomed else {
      throw SessionFailure("no welcome within \(uplink.settings.welcomeTimeout)")
    }
    if now - started > .seconds(60) { wasProductive = true }
    let timeout = uplink.settings.pongTimeout
    if let sent = pingSent, lastHeard < sent.at, now - sent.at >= timeout {
      throw SessionFailure("no answer to a ping within \(timeout): the link is half-open")
    }
    if let since = unansweredSince, now - since >= unansweredAllowance() {
      throw SessionFailure(
        "nothing heard within \(unansweredAllowance()) of sending records: the link is half-open")
    }
    if let sent = pingSent, lastHeard >= sent.at { pingSent = nil }
    if pingSent == nil && now - lastHeard >= pingInterval {
      let nonce = nextNonce
      nextNonce += 1
      pingSent = (nonce, now)
      try await outbound.write(.ping(nonce: nonce))
    }
    arm(at: nextDeadline(), sink: sink)
  }
}
