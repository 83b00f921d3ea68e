import OutpostCore
import OutpostHooks
import OutpostJournal
import OutpostTestKit
import Testing

@testable import OutpostAgent

@Suite struct RecorderTests {
  @Test func anSOSIsDurableWhenTheTriggerReturns() async throws {
    let fixture = try await RecorderFixture()
    let outcome = try await fixture.recorder.trigger(.help, source: "test")
    #expect(outcome.seq == 0)
    #expect(outcome.alarm.progress == .recorded)
    #expect(outcome.joined == false)
    // No sync is outstanding: the SOS was synced before the trigger returned.
    #expect(await fixture.allDurable())
    let records = try await fixture.records()
    #expect(records.count == 1)
    #expect(records[0].0.priority == .alarm)
    #expect(records[0].1 == .sos(presses: 1, position: nil))
  }

  @Test func pressesWithinTheWindowJoinTheIncidentAndAreCounted() async throws {
    var settings = AlarmSettings()
    settings.joinWindow = .seconds(60)
    settings.recordInterval = .zero
    let fixture = try await RecorderFixture(settings: settings)
    let first = try await fixture.recorder.trigger(.help, source: "test")
    fixture.clock.advance(ms: 10_000)
    let second = try await fixture.recorder.trigger(.help, source: "test")
    fixture.clock.advance(ms: 10_000)
    let third = try await fixture.recorder.trigger(.help, source: "test")
    #expect(second.joined && third.joined)
    #expect(second.alarm.incident == first.seq && third.alarm.incident == first.seq)
    let bodies = try await fixture.records().map(\.1)
    #expect(
      bodies == [
        .sos(presses: 1, position: nil), .sos(presses: 2, position: nil),
        .sos(presses: 3, position: nil),
      ])
    // Past the window, a press opens a new incident.
    fixture.clock.advance(ms: 61_000)
    let fourth = try await fixture.recorder.trigger(.help, source: "test")
    #expect(!fourth.joined)
    #expect(fourth.alarm.incident == fourth.seq)
    #expect(fourth.alarm.presses == 1)
  }

  @Test func aFloodOfPressesWritesOneRecordPerIntervalWithTheCount() async throws {
    var settings = AlarmSettings()
    settings.recordInterval = .milliseconds(200)
    let fixture = try await RecorderFixture(settings: settings)
    let started = monotonicMs()
    _ = try await fixture.recorder.trigger(.help, source: "test")
    for _ in 0..<50 {
      let joined = try await fixture.recorder.trigger(.help, source: "flood")
      #expect(joined.joined && joined.seq == nil)
    }
    let flooded = monotonicMs() - started
    // The real time passes in the recorder's timer; the fake monotonic clock must pass it too.
    fixture.clock.advance(ms: 200)
    let counted = try await eventually(seconds: 60) {
      try await fixture.records().last?.1 == .sos(presses: 51, position: nil)
    }
    #expect(counted)
    let presses = try await fixture.records().map { record -> UInt32 in
      if case .sos(let presses, _) = record.1 { return presses }
      return 0
    }
    // The first press at once, then at most one record per 200 ms interval the flood took
    // (on a loaded machine fifty presses can take longer than one interval), the count rising.
    #expect(presses.first == 1 && presses.last == 51, "\(presses)")
    #expect(presses == presses.sorted() && Set(presses).count == presses.count, "\(presses)")
    #expect(presses.count <= 2 + Int(flooded / 200), "\(presses) in \(flooded) ms")
  }

  @Test func cancelIsItsOwnRecordAndCancelsTheIncident() async throws {
    let fixture = try await RecorderFixture()
    let sos = try await fixture.recorder.trigger(.help, source: "test")
    let cancel = try await fixture.recorder.trigger(.cancel, source: "test")
    #expect(cancel.alarm.kind == .sosCancel)
    #expect(cancel.alarm.incident == sos.seq)
    let status = try await fixture.recorder.status()
    #expect(status.alarms.first { $0.seq == sos.seq }?.progress == .cancelled)
    // The next press opens a new incident.
    let again = try await fixture.recorder.trigger(.help, source: "test")
    #expect(!again.joined)
    #expect(try await fixture.records().map(\.1)[1] == .sosCancel)
  }

  @Test func checkInsRecordWhoAndReportsTheirCategory() async throws {
    let fixture = try await RecorderFixture()
    _ = try await fixture.recorder.trigger(.checkIn(who: nil), source: "button")
    _ = try await fixture.recorder.trigger(.checkIn(who: "CARD-0042"), source: "card")
    _ = try await fixture.recorder.trigger(.report(.poaching), source: "test")
    let bodies = try await fixture.records().map(\.1)
    #expect(
      bodies == [
        .checkIn(who: nil, position: nil), .checkIn(who: "CARD-0042", position: nil),
        .report(category: .poaching, note: nil, position: nil),
      ])
  }

  @Test func alarmsCarryTheLatestFix() async throws {
    let fixture = try await RecorderFixture()
    let position = Position(latitudeE7: 433_000_000, longitudeE7: 1_120_000_000)
    await fixture.recorder.fix(.init(position: position, timeMs: nil))
    _ = try await fixture.recorder.trigger(.help, source: "test")
    #expect(try await fixture.records().map(\.1) == [.sos(presses: 1, position: position)])
  }

  @Test func gpsTimeMakesTheClockTrusted() async throws {
    let fixture = try await RecorderFixture()
    #expect(try await fixture.recorder.status().clockTrusted == false)
    let position = Position(latitudeE7: 1, longitudeE7: 2)
    await fixture.recorder.fix(.init(position: position, timeMs: 1_790_000_000_000))
    fixture.clock.advance(ms: 1500)
    _ = try await fixture.recorder.trigger(.help, source: "test")
    let record = try await fixture.records()[0].0
    #expect(record.time.clockTrusted)
    #expect(record.time.wallMs == 1_790_000_001_500)
  }

  /// The uplink sends an alarm while the journal syncs it, so the station's ack can be handled
  /// before the append returns: the alarm must still become *delivered*.
  @Test func anAckThatCameBeforeTheAppendReturnedStillDelivers() async throws {
    let fixture = try await RecorderFixture()
    let next = await fixture.writer.withJournal { $0.nextSequenceNumber }
    let changes = await fixture.recorder.changes()
    // The ack as the uplink reports it, before the recorder tracks the alarm.
    await fixture.recorder.stationAcknowledged([next...next], newly: 1, receivedAtMicros: 4242)
    let sos = try await fixture.recorder.trigger(.help, source: "test")
    #expect(sos.seq == next)
    var moments: [FeedbackMoment] = []
    for await change in changes {
      if case .alarm(let alarm, let moment) = change, alarm.seq == next { moments.append(moment) }
      if moments.count == 2 { break }
    }
    #expect(moments == [.recorded, .delivered])
    let status = try await fixture.recorder.status(freshJournal: true)
    #expect(status.lastAlarm?.progress == .delivered)
    // When the ack reached the box, kept for `outpostctl`'s *delivered* reply.
    #expect(status.lastAlarm?.ackReceivedAtMicros == 4242)
  }

  @Test func progressFollowsTheStationAndTheOfficer() async throws {
    let fixture = try await RecorderFixture()
    let changes = await fixture.recorder.changes()
    let sos = try await fixture.recorder.trigger(.help, source: "test")
    try await fixture.recorder.stationStored(sos.seq!...sos.seq!)
    await fixture.recorder.officerAcknowledged(seq: sos.seq!, officer: "Bat", note: "on our way")
    var moments: [FeedbackMoment] = []
    for await change in changes {
      if case .alarm(_, let moment) = change { moments.append(moment) }
      if moments.count == 3 { break }
    }
    #expect(moments == [.recorded, .delivered, .acknowledged])
    let status = try await fixture.recorder.status(freshJournal: true)
    #expect(status.lastAlarm?.progress == .acknowledged)
    #expect(status.lastAlarm?.acknowledgedBy == "Bat")
    #expect(status.pendingRecords == 0)
    #expect(status.statusLine.contains("last sos acknowledged"))
  }

  @Test func statusCountsPendingRecords() async throws {
    let fixture = try await RecorderFixture()
    _ = try await fixture.recorder.trigger(.help, source: "test")
    try await fixture.recorder.routine(.sensorReading(sensor: "t", milliValue: 21_000))
    let status = try await fixture.recorder.status()
    #expect(status.pendingRecords == 2)
    #expect(status.oldestPendingSeq == 0)
    #expect(status.statusLine.hasPrefix("2 pending"))
  }
}

@Suite struct BoxClockTests {
  @Test func gpsTimeFarFromAnNTPClockIsNotTrusted() {
    let fake = FakeClock()
    let synced = BoxClock(
      boot: 1, read: { ClockReading(wallMs: 1_790_000_000_000, sinceBootMs: 10) },
      kernelSynchronised: { true })
    // 1024 weeks later: the week-rollover bug.
    let rolled: Int64 = 1_790_000_000_000 + 1024 * 7 * 86_400_000
    #expect(synced.gpsTime(rolled) == .disagreesWithNTP(differenceMs: 1024 * 7 * 86_400_000))
    #expect(synced.now().wallMs == 1_790_000_000_000)
    #expect(synced.gpsTime(1_790_000_000_500) == .first)
    #expect(synced.now().wallMs == 1_790_000_000_500)
    // Without NTP there is nothing to compare with: GPS is the best time there is.
    let unsynced = fake.boxClock()
    #expect(unsynced.gpsTime(rolled) == .first)
    #expect(unsynced.now().clockTrusted)
  }
}
