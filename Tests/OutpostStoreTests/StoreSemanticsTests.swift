import OutpostCore
import OutpostTestKit
import Testing

@testable import OutpostStore

/// One suite, run against SQLite and PostgreSQL alike: both stores must mean the same.
@Suite("Station store semantics")
struct StoreSemanticsTests {
  @Test("a resent batch is stored once and yields no events", arguments: Backend.tested)
  func deduplication(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-a"), atMs: 0)
      let batch = IngestBatch(
        deviceID: box.id, epoch: 7,
        records: [reading(1), record(2, .sos(presses: 1, position: nil)), reading(3)])
      let first = try await store.ingest([batch], receivedAtMs: 10)
      #expect(first.map(\.name) == ["opened"])
      let again = try await store.ingest([batch], receivedAtMs: 20)
      #expect(again.isEmpty)
      // The same key twice in one call is stored once too.
      let overlapping = IngestBatch(deviceID: box.id, epoch: 7, records: [reading(3), reading(4)])
      #expect(try await store.ingest([overlapping, overlapping], receivedAtMs: 30).isEmpty)
      let stored = try await store.events(EventQuery(device: "box-a"))
      #expect(stored.map(\.record.seq).sorted() == [1, 2, 3, 4])
      let summary = try #require(try await store.summary("box-a"))
      #expect(summary.records == 4)
      #expect(summary.lastSeenMs == 30)
      #expect(summary.epoch == 7)
      #expect(try await store.incidents(openOnly: false, limit: 10).count == 1)
      // The first stored copy stays as it was.
      #expect(stored.first { $0.record.seq == 3 }?.receivedAtMs == 10)
    }
  }

  @Test("epochs and sequence numbers above Int64.max round-trip", arguments: Backend.tested)
  func unsignedRoundTrip(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-u"), atMs: 0)
      let epoch = UInt64.max - 5
      let high: UInt64 = 1 << 63
      let seqs: [UInt64] = [1, high - 2, high - 1, high, high + 1, UInt64.max]
      var records = seqs.map { reading($0) }
      records[0].time.sinceBootMs = UInt64.max - 1
      _ = try await store.ingest(
        [IngestBatch(deviceID: box.id, epoch: epoch, records: records)], receivedAtMs: 1)
      let stored = try await store.events(EventQuery(device: "box-u"))
      #expect(Set(stored.map(\.record.seq)) == Set(seqs))
      #expect(stored.allSatisfy { $0.epoch == epoch })
      #expect(stored.first { $0.record.seq == 1 }?.record.time.sinceBootMs == UInt64.max - 1)
      #expect(Set(stored.map(\.record)) == Set(records))
      #expect(try await store.summary("box-u")?.epoch == epoch)
      // Unsigned order: the range through 2^63 is one range.
      #expect(
        try await store.storedRanges(deviceID: box.id, epoch: epoch, from: 0, limit: 10)
          == [1...1, (high - 2)...(high + 1), UInt64.max...UInt64.max])
      #expect(
        try await store.storedRanges(deviceID: box.id, epoch: epoch, from: high, limit: 10)
          == [high...(high + 1), UInt64.max...UInt64.max])
      #expect(
        try await store.storedRanges(deviceID: box.id, epoch: epoch, from: 2, limit: 1)
          == [(high - 2)...(high + 1)])
    }
  }

  @Test("stored ranges skip gaps, start at from, and stop at the limit", arguments: Backend.tested)
  func storedRanges(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-r"), atMs: 0)
      let seqs: [UInt64] = [1, 2, 3, 4, 5, 8, 10, 11, 12]
      _ = try await store.ingest(
        [IngestBatch(deviceID: box.id, epoch: 3, records: seqs.map { reading($0) })],
        receivedAtMs: 1)
      _ = try await store.ingest(
        [IngestBatch(deviceID: box.id, epoch: 4, records: [reading(6)])], receivedAtMs: 2)
      func ranges(from: UInt64, limit: Int = 10) async throws -> [ClosedRange<UInt64>] {
        try await store.storedRanges(deviceID: box.id, epoch: 3, from: from, limit: limit)
      }
      #expect(try await ranges(from: 0) == [1...5, 8...8, 10...12])
      #expect(try await ranges(from: 0, limit: 2) == [1...5, 8...8])
      #expect(try await ranges(from: 3) == [3...5, 8...8, 10...12])
      #expect(try await ranges(from: 9) == [10...12])
      #expect(try await ranges(from: 13).isEmpty)
      #expect(try await ranges(from: 0, limit: 0).isEmpty)
      #expect(
        try await store.storedRanges(deviceID: box.id, epoch: 4, from: 0, limit: 10) == [6...6])
      #expect(
        try await store.storedRanges(deviceID: box.id, epoch: 5, from: 0, limit: 10).isEmpty)
    }
  }

  @Test("an SOS opens an incident, presses join it, a cancel marks it", arguments: Backend.tested)
  func sosLifecycle(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-s"), atMs: 0)
      func send(_ records: [Record], at ms: Int64) async throws -> [StoreEvent] {
        try await store.ingest(
          [IngestBatch(deviceID: box.id, epoch: 9, records: records)], receivedAtMs: ms)
      }
      let opened = try await send(
        [record(10, .sos(presses: 1, position: steppe), at: 500)], at: 600)
      #expect(opened.map(\.name) == ["opened"])
      let incident = try #require(opened.first?.incident)
      #expect(incident.kind == .sos && incident.state == .open)
      #expect(incident.presses == 1 && incident.position == steppe)
      #expect(incident.epoch == 9 && incident.seq == 10)
      #expect(incident.openedAtMs == 500 && incident.receivedAtMs == 600)
      #expect(incident.device == "box-s" && incident.household == "household of box-s")

      let joined = try await send([record(11, .sos(presses: 3, position: river), at: 700)], at: 710)
      #expect(joined.map(\.name) == ["joined"])
      #expect(joined.first?.incident?.id == incident.id)
      #expect(joined.first?.incident?.presses == 3)
      #expect(joined.first?.incident?.position == river)
      // Fewer presses and no fix: the incident keeps the most presses and the last fix.
      let again = try await send([record(12, .sos(presses: 2, position: nil), at: 800)], at: 810)
      #expect(again.first?.incident?.presses == 3)
      #expect(again.first?.incident?.position == river)

      let cancelled = try await send([record(13, .sosCancel, at: 900)], at: 910)
      #expect(cancelled.map(\.name) == ["cancelled"])
      #expect(cancelled.first?.incident?.state == .cancelled)
      #expect(try await store.incident(id: incident.id)?.state == .cancelled)
      // Cancelled is not closed: it stays in the open list until an officer closes it.
      #expect(try await store.incidents(openOnly: true, limit: 10).map(\.id) == [incident.id])

      // A cancel with nothing running changes nothing; the next SOS is a new incident.
      #expect(try await send([record(14, .sosCancel, at: 950)], at: 960).isEmpty)
      let next = try await send([record(15, .sos(presses: 1, position: nil), at: 1000)], at: 1010)
      #expect(next.map(\.name) == ["opened"])
      #expect(next.first?.incident?.id != incident.id)

      let audit = try await store.audit(limit: 10).reversed().map { "\($0.actor) \($0.action)" }
      #expect(audit == ["box-s incident-open", "box-s incident-cancel", "box-s incident-open"])
      #expect(try await store.audit(limit: 10).last?.incidentID == incident.id)
    }
  }

  @Test(
    "SOS and cancel records make the journal's incidents in whatever order they arrive",
    arguments: Backend.tested)
  func sosOutOfOrder(_ backend: Backend) async throws {
    // The journal: incident 10 (two presses) cancelled at 12; incident 13 cancelled at 15;
    // incident 16 (three presses) still running. Telemetry in between.
    let journal: [Record] = [
      record(10, .sos(presses: 1, position: steppe), at: 100),
      reading(11, at: 110),
      record(12, .sos(presses: 2, position: nil), at: 120),
      record(13, .sosCancel, at: 130),
      record(14, .sos(presses: 1, position: nil), at: 140),
      record(15, .sosCancel, at: 150),
      record(16, .sos(presses: 1, position: nil), at: 160),
      reading(17, at: 170),
      record(18, .sos(presses: 3, position: river), at: 180),
    ]
    let expected = [
      Placed(seq: 10, state: .cancelled, presses: 2, openedAtMs: 100),
      Placed(seq: 14, state: .cancelled, presses: 1, openedAtMs: 140),
      Placed(seq: 16, state: .open, presses: 3, openedAtMs: 160),
    ]
    var random = SeededRandom(seed: 0x5057_0AD3)
    try await withStore(backend) { store in
      for round in 0..<64 {
        let box = try await store.addDevice(registration("box-order-\(round)"), atMs: 0)
        // Round 0 sends in journal order; the others shuffle, cut into batches of 1–3 and
        // now and then send a batch twice (a resend after a lost ack).
        let order = round == 0 ? journal : journal.shuffled(using: &random)
        var index = 0
        while index < order.count {
          let count = min(order.count - index, Int.random(in: 1...3, using: &random))
          let batch = IngestBatch(
            deviceID: box.id, epoch: 7, records: Array(order[index..<index + count]))
          _ = try await store.ingest([batch], receivedAtMs: 1_000 + Int64(index))
          if Int.random(in: 0..<4, using: &random) == 0 {
            #expect(try await store.ingest([batch], receivedAtMs: 2_000).isEmpty)
          }
          index += count
        }
        let placed = try await store.incidents(openOnly: false, limit: 1000)
          .filter { $0.device == box.name }
          .map {
            Placed(
              seq: $0.seq ?? 0, state: $0.state, presses: $0.presses, openedAtMs: $0.openedAtMs)
          }
          .sorted { $0.seq < $1.seq }
        #expect(
          placed == expected,
          "arrival order \(order.map(\.seq)) gave \(placed)")
        if let running = try await store.incidents(openOnly: true, limit: 1000)
          .first(where: { $0.device == box.name && $0.state == .open })
        {
          #expect(running.position == river)
        }
      }
    }
  }

  @Test(
    "a recreated journal's presses join the incident still running from the old one",
    arguments: Backend.tested)
  func sosAcrossEpochs(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-epochs"), atMs: 0)
      let first = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 1, records: [record(5, .sos(presses: 1, position: nil))])
        ],
        receivedAtMs: 10)
      #expect(first.map(\.name) == ["opened"])
      let again = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 2, records: [record(1, .sos(presses: 1, position: nil))])
        ],
        receivedAtMs: 20)
      #expect(again.map(\.name) == ["joined"])
      #expect(again.first?.incident?.id == first.first?.incident?.id)
      let cancel = try await store.ingest(
        [IngestBatch(deviceID: box.id, epoch: 2, records: [record(2, .sosCancel)])],
        receivedAtMs: 30)
      #expect(cancel.map(\.name) == ["cancelled"])
      #expect(try await store.incident(id: first.first!.incident!.id)?.state == .cancelled)
    }
  }

  @Test("one call's events come in record order", arguments: Backend.tested)
  func eventOrder(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let a = try await store.addDevice(registration("box-1", checkInIntervalMs: 10), atMs: 0)
      let b = try await store.addDevice(registration("box-2"), atMs: 0)
      _ = try await store.raiseOverdueCheckIns(nowMs: 100)
      let events = try await store.ingest(
        [
          IngestBatch(
            deviceID: b.id, epoch: 1,
            records: [reading(1), record(2, .sos(presses: 1, position: nil))]),
          IngestBatch(
            deviceID: a.id, epoch: 1,
            records: [
              record(1, .checkIn(who: "card 42", position: nil), at: 150),
              record(2, .sos(presses: 1, position: nil)),
            ]),
          IngestBatch(
            deviceID: b.id, epoch: 1, records: [record(3, .sos(presses: 2, position: nil))]),
        ], receivedAtMs: 200)
      #expect(events.map(\.name) == ["opened", "check-in", "cleared", "opened", "joined"])
      #expect(events[1] == .checkIn(device: "box-1", who: "card 42", atMs: 150))
      #expect(events[0].incident?.device == "box-2")
      #expect(events[3].incident?.device == "box-1")
    }
  }

  @Test("sensor alarms open one incident per alarm and sensor", arguments: Backend.tested)
  func sensorAlarms(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-f"), atMs: 0)
      func alarm(_ seq: UInt64, _ kind: SensorAlarmKind, _ sensor: String, raised: Bool = true)
        -> Record
      {
        record(seq, .sensorAlarm(sensor: sensor, alarm: kind, milliValue: 80_000, raised: raised))
      }
      let events = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 1,
            records: [
              alarm(1, .fire, "temp1"), alarm(2, .fire, "temp1"), alarm(3, .flood, "level1"),
              alarm(4, .fire, "temp1", raised: false),
            ])
        ], receivedAtMs: 5)
      #expect(events.map(\.name) == ["opened", "opened"])
      #expect(events.compactMap(\.incident?.detail) == ["fire temp1", "flood level1"])
      #expect(events.allSatisfy { $0.incident?.kind == .sensorAlarm })
      #expect(try await store.summary("box-f")?.records == 4)
    }
  }

  @Test(
    "an update of a forwarded incident names the incident its record opened, once",
    arguments: Backend.tested)
  func forwardedIncidentUpdates(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let post = try await store.addDevice(registration("post-9"), atMs: 0)
      let forwarded = ForwardedIncident(
        incident: 31, kind: "sos", device: "yurt-1", household: nil, detail: nil, presses: 1,
        openedAtMs: 10, position: nil)
      func update(_ seq: UInt64, of forwardedSeq: UInt64, epoch: UInt64 = 0xFFFF_0000_0000_0001)
        -> Record
      {
        record(
          seq,
          .incidentUpdate(
            IncidentUpdate(
              forwardedEpoch: epoch, forwardedSeq: forwardedSeq, incident: 31,
              state: .acknowledged, officer: "Dorj", note: nil, atMs: 20)))
      }
      let opened = try await store.ingest(
        [
          IngestBatch(
            deviceID: post.id, epoch: 0xFFFF_0000_0000_0001,
            records: [record(5, .forwardedIncident(forwarded))])
        ], receivedAtMs: 5)
      let incident = try #require(opened.first?.incident)
      #expect(incident.kind == .forwarded)
      let events = try await store.ingest(
        [
          IngestBatch(
            deviceID: post.id, epoch: 0xFFFF_0000_0000_0001,
            records: [update(6, of: 5), update(7, of: 4), update(8, of: 5, epoch: 2)])
        ], receivedAtMs: 6)
      #expect(
        events == [
          .forwardedIncidentUpdated(
            station: "post-9", incidentID: incident.id,
            update: IncidentUpdate(
              forwardedEpoch: 0xFFFF_0000_0000_0001, forwardedSeq: 5, incident: 31,
              state: .acknowledged, officer: "Dorj", note: nil, atMs: 20)),
          .forwardedIncidentUpdated(
            station: "post-9", incidentID: nil,
            update: IncidentUpdate(
              forwardedEpoch: 0xFFFF_0000_0000_0001, forwardedSeq: 4, incident: 31,
              state: .acknowledged, officer: "Dorj", note: nil, atMs: 20)),
          .forwardedIncidentUpdated(
            station: "post-9", incidentID: nil,
            update: IncidentUpdate(
              forwardedEpoch: 2, forwardedSeq: 5, incident: 31, state: .acknowledged,
              officer: "Dorj", note: nil, atMs: 20)),
        ])
      // A resend changes nothing and reports nothing.
      let again = try await store.ingest(
        [IngestBatch(deviceID: post.id, epoch: 0xFFFF_0000_0000_0001, records: [update(6, of: 5)])],
        receivedAtMs: 7)
      #expect(again.isEmpty)
    }
  }

  @Test("officers acknowledge and resolve; closed incidents refuse", arguments: Backend.tested)
  func acknowledgeAndResolve(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-k"), atMs: 0)
      let opened = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 1, records: [record(1, .sos(presses: 1, position: nil))])
        ],
        receivedAtMs: 5)
      let id = try #require(opened.first?.incident?.id)

      let acked = try await store.acknowledgeIncident(
        id: id, by: "officer Bat", note: "on my way", atMs: 10)
      #expect(acked.state == .acknowledged)
      #expect(acked.acknowledgedBy == "officer Bat" && acked.acknowledgedAtMs == 10)
      #expect(acked.note == "on my way")
      let again = try await store.acknowledgeIncident(
        id: id, by: "officer Dorj", note: nil, atMs: 20)
      #expect(again == acked)

      let resolved = try await store.resolveIncident(
        id: id, by: "officer Bat", outcome: .falseAlarm, note: "child pressed it", atMs: 30)
      #expect(resolved.state == .falseAlarm)
      #expect(resolved.closedBy == "officer Bat" && resolved.closedAtMs == 30)
      #expect(resolved.note == "child pressed it")
      #expect(try await store.incidents(openOnly: true, limit: 10).isEmpty)
      #expect(try await store.incidents(openOnly: false, limit: 10).map(\.id) == [id])

      await #expect(throws: StoreError.incidentClosed(id, state: .falseAlarm)) {
        try await store.acknowledgeIncident(id: id, by: "officer Dorj", note: nil, atMs: 40)
      }
      await #expect(throws: StoreError.incidentClosed(id, state: .falseAlarm)) {
        try await store.resolveIncident(id: id, by: "x", outcome: .resolved, note: nil, atMs: 40)
      }
      await #expect(throws: StoreError.unknownIncident(id + 100)) {
        try await store.acknowledgeIncident(id: id + 100, by: "x", note: nil, atMs: 40)
      }

      // A cancelled incident can be closed by an officer.
      _ = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 1,
            records: [record(2, .sos(presses: 1, position: nil)), record(3, .sosCancel)])
        ], receivedAtMs: 50)
      let cancelled = try #require(try await store.incidents(openOnly: true, limit: 1).first)
      #expect(cancelled.state == .cancelled)
      let closed = try await store.resolveIncident(
        id: cancelled.id, by: "officer Bat", outcome: .resolved, note: nil, atMs: 60)
      #expect(closed.state == .resolved)

      let audit = try await store.audit(limit: 20).reversed()
      #expect(
        audit.map { "\($0.actor) \($0.action)" } == [
          "box-k incident-open", "officer Bat incident-ack", "officer Bat incident-resolve",
          "box-k incident-open", "box-k incident-cancel", "officer Bat incident-resolve",
        ])
      #expect(audit.allSatisfy { $0.device == "box-k" && $0.incidentID != nil })
    }
  }

  @Test("a missed check-in raises one alert; a check-in clears it", arguments: Backend.tested)
  func overdueCheckIn(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-c", checkInIntervalMs: 1_000), atMs: 0)
      _ = try await store.addDevice(registration("box-no-timer"), atMs: 0)
      #expect(try await store.raiseOverdueCheckIns(nowMs: 900).isEmpty)
      let raised = try await store.raiseOverdueCheckIns(nowMs: 2_000)
      #expect(raised.map(\.name) == ["raised"])
      let alert = try #require(raised.first?.incident)
      #expect(alert.kind == .checkInOverdue && alert.state == .open && alert.device == "box-c")
      #expect(alert.openedAtMs == 2_000)
      #expect(try await store.raiseOverdueCheckIns(nowMs: 3_000).isEmpty)

      let events = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 1,
            records: [record(1, .checkIn(who: nil, position: steppe), at: 2_500)])
        ], receivedAtMs: 2_600)
      #expect(events.map(\.name) == ["check-in", "cleared"])
      #expect(events.last?.incident?.id == alert.id)
      #expect(events.last?.incident?.state == .cleared)
      #expect(events.last?.incident?.closedAtMs == 2_600)
      let summary = try #require(try await store.summary("box-c"))
      #expect(summary.lastCheckInMs == 2_500)
      #expect(
        summary.lastPosition
          == Coordinate(latitudeE7: steppe.latitudeE7, longitudeE7: steppe.longitudeE7))

      #expect(try await store.raiseOverdueCheckIns(nowMs: 3_400).isEmpty)
      let second = try await store.raiseOverdueCheckIns(nowMs: 3_600)
      #expect(second.count == 1 && second.first?.incident?.id != alert.id)
      // Handled by an officer: not raised again until the household checks in and misses again.
      _ = try await store.resolveIncident(
        id: second[0].incident!.id, by: "officer", outcome: .resolved, note: "called", atMs: 3_700)
      #expect(try await store.raiseOverdueCheckIns(nowMs: 9_000).isEmpty)

      let audit = try await store.audit(limit: 10).reversed().map { "\($0.actor) \($0.action)" }
      #expect(
        audit == [
          "station alert-raise", "box-c alert-clear", "station alert-raise",
          "officer incident-resolve",
        ])
    }
  }

  @Test("a silent box raises offline; coming back clears it", arguments: Backend.tested)
  func offline(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-o"), atMs: 0)
      let patient = try await store.addDevice(
        registration("box-p", offlineLimitMs: 10_000), atMs: 0)
      #expect(try await store.raiseOffline(nowMs: 900, defaultLimitMs: 1_000).isEmpty)
      let raised = try await store.raiseOffline(nowMs: 2_000, defaultLimitMs: 1_000)
      #expect(raised.map { $0.incident?.device } == ["box-o"])
      #expect(raised.first?.incident?.kind == .offline)
      #expect(try await store.raiseOffline(nowMs: 2_500, defaultLimitMs: 1_000).isEmpty)

      let back = try await store.setLink(deviceID: box.id, up: true, station: "post-1", atMs: 2_600)
      #expect(back.map(\.name) == ["cleared"])
      #expect(back.first?.incident?.state == .cleared)
      var summary = try #require(try await store.summary("box-o"))
      #expect(summary.linkUp && summary.station == "post-1" && summary.lastSeenMs == 2_600)

      #expect(
        try await store.setLink(deviceID: box.id, up: false, station: "post-1", atMs: 2_700).isEmpty
      )
      summary = try #require(try await store.summary("box-o"))
      #expect(!summary.linkUp && summary.station == nil && summary.lastSeenMs == 2_700)
      #expect(try await store.raiseOffline(nowMs: 3_600, defaultLimitMs: 1_000).isEmpty)
      let again = try await store.raiseOffline(nowMs: 3_800, defaultLimitMs: 1_000)
      #expect(again.map { $0.incident?.device } == ["box-o"])

      // Records from the box clear it too.
      let events = try await store.ingest(
        [IngestBatch(deviceID: box.id, epoch: 1, records: [reading(1)])], receivedAtMs: 3_900)
      #expect(events.map(\.name) == ["cleared"])

      let late = try await store.raiseOffline(nowMs: 10_001, defaultLimitMs: 1_000)
      #expect(late.map { $0.incident?.device } == ["box-o", "box-p"])
      #expect(late.last?.incident?.deviceID == patient.id)
      await #expect(throws: StoreError.self) {
        try await store.setLink(deviceID: 9_999, up: true, station: "post-1", atMs: 1)
      }
      let actions = try await store.audit(limit: 3).map(\.action)
      #expect(actions == ["alert-raise", "alert-raise", "alert-clear"])
    }
  }

  @Test("the box is told of acknowledgements and outcomes once each", arguments: Backend.tested)
  func boxNotification(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-n"), atMs: 0)
      let opened = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 1, records: [record(1, .sos(presses: 1, position: nil))])
        ],
        receivedAtMs: 5)
      let id = try #require(opened.first?.incident?.id)
      let offline = try #require(
        try await store.raiseOffline(nowMs: 1_000_000_000, defaultLimitMs: 1).first?.incident)
      #expect(try await store.incidentsToNotify(deviceID: box.id).isEmpty)

      _ = try await store.acknowledgeIncident(id: id, by: "officer", note: nil, atMs: 10)
      _ = try await store.acknowledgeIncident(id: offline.id, by: "officer", note: nil, atMs: 10)
      let toTell = try await store.incidentsToNotify(deviceID: box.id)
      #expect(toTell.map(\.id) == [id])
      #expect(toTell.first?.boxNotifiedState == nil)
      try await store.markBoxNotified(incidentID: id, state: .acknowledged)
      #expect(try await store.incidentsToNotify(deviceID: box.id).isEmpty)
      #expect(try await store.incident(id: id)?.boxNotifiedState == .acknowledged)

      _ = try await store.resolveIncident(
        id: id, by: "officer", outcome: .resolved, note: nil, atMs: 20)
      #expect(try await store.incidentsToNotify(deviceID: box.id).map(\.id) == [id])
      try await store.markBoxNotified(incidentID: id, state: .resolved)
      // A late mark of an earlier state does not move it back.
      try await store.markBoxNotified(incidentID: id, state: .acknowledged)
      #expect(try await store.incident(id: id)?.boxNotifiedState == .resolved)
      #expect(try await store.incidentsToNotify(deviceID: box.id).isEmpty)
      await #expect(throws: StoreError.unknownIncident(id + 100)) {
        try await store.markBoxNotified(incidentID: id + 100, state: .resolved)
      }
    }
  }

  @Test("open incidents escalate once per level", arguments: Backend.tested)
  func escalation(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-e"), atMs: 0)
      let opened = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 1,
            records: [record(1, .sos(presses: 1, position: nil), at: 100)])
        ],
        receivedAtMs: 110)
      let id = try #require(opened.first?.incident?.id)
      #expect(try await store.incidentsToEscalate(openedBeforeMs: 99, level: 1).isEmpty)
      #expect(try await store.incidentsToEscalate(openedBeforeMs: 100, level: 1).map(\.id) == [id])
      try await store.markEscalated(id: id, level: 1, detail: "hook ran", atMs: 200)
      #expect(try await store.incidentsToEscalate(openedBeforeMs: 1_000, level: 1).isEmpty)
      #expect(
        try await store.incidentsToEscalate(openedBeforeMs: 1_000, level: 2).map(\.id) == [id])
      #expect(try await store.incident(id: id)?.escalationLevel == 1)
      _ = try await store.acknowledgeIncident(id: id, by: "officer", note: nil, atMs: 300)
      #expect(try await store.incidentsToEscalate(openedBeforeMs: 1_000, level: 2).isEmpty)
      let entry = try #require(try await store.audit(limit: 2).last)
      #expect(entry.action == "incident-escalate" && entry.actor == "station")
      #expect(entry.detail.contains("hook ran"))
    }
  }

  @Test("devices are numbered, revoked and enrolled again", arguments: Backend.tested)
  func deviceRegistry(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let a = try await store.addDevice(registration("box-a"), atMs: 1)
      let b = try await store.addDevice(registration("box-b"), atMs: 2)
      #expect(a.number == 1 && b.number == 2)
      #expect(a.registration == registration("box-a") && a.createdAtMs == 1 && !a.isRevoked)
      await #expect(throws: StoreError.deviceExists("box-a")) {
        try await store.addDevice(registration("box-a"), atMs: 3)
      }
      let revoked = try await store.revokeDevice(named: "box-a", by: "admin", atMs: 4)
      #expect(revoked.id == a.id && revoked.revokedAtMs == 4)
      #expect(try await store.device(named: "box-a") == revoked)
      let again = try await store.addDevice(registration("box-a"), atMs: 5)
      #expect(again.number == 3 && again.id != a.id)
      #expect(try await store.device(named: "box-a") == again)
      #expect(try await store.device(named: "box-z") == nil)
      await #expect(throws: StoreError.unknownDevice("box-z")) {
        try await store.revokeDevice(named: "box-z", by: "admin", atMs: 6)
      }
      let all = try await store.devices()
      #expect(all.map(\.device.number) == [1, 3, 2])
      #expect(all.allSatisfy { $0.records == 0 && !$0.linkUp && $0.lastSeenMs == nil })
      let entry = try #require(try await store.audit(limit: 1).first)
      #expect(entry.action == "device-revoke" && entry.actor == "admin" && entry.device == "box-a")

      let c = try await store.addDevice(registration("box-c"), atMs: 7)
      try await store.setNeighbours(of: "box-a", to: ["box-b", "box-c", "box-a"])
      #expect(try await store.neighbours(ofDeviceID: again.id).map(\.name) == ["box-b", "box-c"])
      try await store.setNeighbours(of: "box-a", to: ["box-c"])
      #expect(try await store.neighbours(ofDeviceID: again.id).map(\.id) == [c.id])
      await #expect(throws: StoreError.unknownDevice("box-q")) {
        try await store.setNeighbours(of: "box-a", to: ["box-q"])
      }

      try await store.addAudit(
        actor: "admin", action: "device-add", incidentID: nil, device: "box-c", detail: "by CLI",
        atMs: 8)
      #expect(try await store.audit(limit: 1).first?.detail == "by CLI")
    }
  }

  @Test("positions, health and check-ins keep the newest by record time", arguments: Backend.tested)
  func deviceState(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(registration("box-g"), atMs: 0)
      func at(_ p: Position) -> Coordinate {
        Coordinate(latitudeE7: p.latitudeE7, longitudeE7: p.longitudeE7)
      }
      let track = (1...50).map { i in
        record(
          UInt64(i),
          .position(Position(latitudeE7: 470_000_000 + Int32(i), longitudeE7: 1_060_000_000)),
          at: Int64(1_000 + i))
      }
      let health = BoxHealth(
        supplyMillivolts: 12_400, batteryPercent: 87, uptimeSeconds: 60, journalFillPermille: 3,
        link: .up)
      let events = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 1,
            records: track + [record(51, .boxHealth(health), at: 1_100)])
        ], receivedAtMs: 2_000)
      #expect(events.isEmpty)
      var summary = try #require(try await store.summary("box-g"))
      #expect(
        summary.lastPosition == Coordinate(latitudeE7: 470_000_050, longitudeE7: 1_060_000_000))
      #expect(summary.lastPositionMs == 1_050)
      #expect(summary.batteryPercent == 87 && summary.supplyMillivolts == 12_400)
      #expect(summary.records == 51)

      // Older records arriving later (a backlog) do not move the newest state back.
      let older = BoxHealth(uptimeSeconds: 1, journalFillPermille: 1, link: .down)
      _ = try await store.ingest(
        [
          IngestBatch(
            deviceID: box.id, epoch: 1,
            records: [
              record(60, .position(river), at: 900), record(61, .boxHealth(older), at: 900),
              record(
                62, .report(category: .poaching, note: "two trucks", position: steppe), at: 1_200),
            ])
        ], receivedAtMs: 2_100)
      summary = try #require(try await store.summary("box-g"))
      #expect(summary.lastPosition == at(steppe) && summary.lastPositionMs == 1_200)
      #expect(summary.batteryPercent == 87)
      #expect(summary.records == 54 && summary.lastSeenMs == 2_100)

      let newest = try await store.events(EventQuery(device: "box-g", limit: 2))
      #expect(newest.map(\.record.seq) == [62, 51])
      #expect(
        try await store.events(EventQuery(sinceMs: 1_049)).map(\.record.seq) == [62, 51, 50, 49])
    }
  }

  @Test("a failing transaction stores nothing of the call", arguments: Backend.tested)
  func failedTransaction(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let a = try await store.addDevice(registration("box-a"), atMs: 0)
      let b = try await store.addDevice(registration("box-b"), atMs: 0)
      _ = try await store.ingest(
        [IngestBatch(deviceID: a.id, epoch: 1, records: [reading(1)])], receivedAtMs: 10)
      let before = try await store.devices()
      let call = [
        IngestBatch(deviceID: a.id, epoch: 1, records: (2...300).map { reading($0) }),
        IngestBatch(
          deviceID: b.id, epoch: 1, records: [record(1, .sos(presses: 1, position: steppe))]),
      ]

      // The records are in when the incident insert fails: all must go.
      for sql in backend.breakIncidentsSQL { try await store.executeForTesting(sql) }
      let error = await #expect(throws: StoreError.self) {
        try await store.ingest(call, receivedAtMs: 20)
      }
      guard case .unavailable(let why)? = error else {
        Issue.record("expected unavailable, got \(String(describing: error))")
        return
      }
      #expect(why.contains("simulated write failure"))
      #expect(try await store.devices() == before)
      #expect(try await store.events(EventQuery()).count == 1)
      #expect(try await store.incidents(openOnly: false, limit: 10).isEmpty)

      // An unknown device anywhere in the call refuses all of it.
      try await store.executeForTesting(backend.repairIncidentsSQL)
      await #expect(throws: StoreError.unknownDevice("#\(b.id + 100)")) {
        try await store.ingest(
          call + [IngestBatch(deviceID: b.id + 100, epoch: 1, records: [reading(1)])],
          receivedAtMs: 20)
      }
      #expect(try await store.devices() == before)

      // Repaired, the same call goes through whole.
      let events = try await store.ingest(call, receivedAtMs: 30)
      #expect(events.map(\.name) == ["opened"])
      #expect(try await store.summary("box-a")?.records == 300)
    }
  }

  @Test(
    "many boxes, many batches in one call (a sanity check, not a timing)", arguments: Backend.tested
  )
  func bulkIngest(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      var ids: [Int64] = []
      for i in 0..<200 {
        ids.append(try await store.addDevice(registration("bulk-\(i)"), atMs: 0).id)
      }
      let clock = ContinuousClock()
      let started = clock.now
      var total = 0
      for round in 0..<4 {
        let batches = ids.map { id in
          IngestBatch(
            deviceID: id, epoch: 77,
            records: (0..<64).map { i in
              let seq = UInt64(round * 64 + i)
              return i == 63
                ? record(seq, .position(steppe), at: Int64(seq))
                : reading(seq, at: Int64(seq))
            })
        }
        total += batches.count * 64
        #expect(try await store.ingest(batches, receivedAtMs: Int64(round)).isEmpty)
      }
      let elapsed = clock.now - started
      print("\(backend): \(total) records from \(ids.count) boxes in \(elapsed)")
      let summaries = try await store.devices()
      #expect(summaries.count == 200)
      #expect(
        summaries.allSatisfy { $0.records == 256 && $0.epoch == 77 && $0.lastPositionMs == 255 })
      #expect(
        try await store.storedRanges(deviceID: ids[17], epoch: 77, from: 0, limit: 5) == [0...255])
    }
  }
}

/// An incident as the ordering test compares it.
private struct Placed: Hashable, CustomStringConvertible {
  var seq: UInt64
  var state: IncidentState
  var presses: UInt32
  var openedAtMs: Int64
  var description: String { "\(seq) \(state.rawValue) ×\(presses) at \(openedAtMs)" }
}
