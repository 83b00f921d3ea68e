import OutpostCore
import Testing

@Suite struct ChecksumTests {
  @Test func crc32cMatchesTheStandardCheckValues() {
    #expect(CRC32C.checksum("123456789") == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8]()) == 0)
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
  }

  @Test func hardwareAndTablePathsAgree() {
    var state: UInt64 = 42
    for length in 0..<300 {
      let bytes = (0..<length).map { _ -> UInt8 in
        state = state &* 6_364_136_223_846_793_005 &+ 1
        return UInt8(truncatingIfNeeded: state >> 33)
      }
      bytes.withUnsafeBytes { raw in
        #expect(CRC32C.checksum(raw) == CRC32C.portableChecksum(raw), "length \(length)")
        #expect(
          CRC32C.checksum(raw, continuing: 0xDEAD_BEEF)
            == CRC32C.portableChecksum(raw, continuing: 0xDEAD_BEEF))
      }
    }
  }

  @Test func crc32cCanContinueAcrossPieces() {
    let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    let whole = CRC32C.checksum(bytes)
    for cut in [0, 1, 7, 8, 9, 500, 999, 1000] {
      let first = CRC32C.checksum(bytes[0..<cut])
      #expect(CRC32C.checksum(bytes[cut...], continuing: first) == whole)
    }
  }
}

@Suite struct ByteCodingTests {
  @Test func stringsAreClippedToAByteLimitAtACharacterBoundary() {
    #expect("Dorj".clipped(toUTF8Bytes: 32) == "Dorj")
    #expect("abcdef".clipped(toUTF8Bytes: 4) == "abcd")
    // Cyrillic letters are 2 bytes each: 5 fit in 11 bytes, the 6th would split.
    #expect("Батбаяр".clipped(toUTF8Bytes: 11) == "Батба")
    #expect("Батбаяр".clipped(toUTF8Bytes: 11).utf8.count == 10)
    // A flag is one character of 8 bytes: it goes whole or not at all.
    #expect("a🇲🇳".clipped(toUTF8Bytes: 8) == "a")
    #expect("".clipped(toUTF8Bytes: 0) == "")
  }

  @Test func varintsRoundTripAtEveryLength() throws {
    var values: [UInt64] = [0, 1, 127, 128, 16383, 16384, UInt64.max, UInt64.max - 1]
    for shift in 0..<64 { values.append(1 << UInt64(shift)) }
    for value in values {
      var w = ByteWriter()
      w.writeVarint(value)
      var r = ByteReader(w.bytes)
      #expect(try r.readVarint() == value)
      #expect(r.remaining == 0)
    }
    for value: Int64 in [0, -1, 1, -64, 64, Int64.min, Int64.max] {
      var w = ByteWriter()
      w.writeSignedVarint(value)
      var r = ByteReader(w.bytes)
      #expect(try r.readSignedVarint() == value)
    }
  }

  @Test func overlongAndTruncatedVarintsAreErrorsWithOffsets() {
    var r = ByteReader([UInt8](repeating: 0xFF, count: 11))
    #expect(throws: RecordBodyError.varintOverflow(at: 0)) { try r.readVarint() }
    var t = ByteReader([0x80, 0x80])
    #expect(throws: RecordBodyError.truncated(at: 2)) { try t.readVarint() }
    var s = ByteReader([0x05, 0x41])
    #expect(throws: RecordBodyError.truncated(at: 1)) { try s.readString() }
  }
}

@Suite struct RecordBodyTests {
  static let fix = Position(
    latitudeE7: 479_200_000, longitudeE7: 1_069_100_000, altitudeDm: 13_500, speedCmPerS: 420,
    headingCdeg: 27_000, hdopCenti: 90, satellites: 11, fixTimeMs: 1_795_000_000_000)

  static let bodies: [RecordBody] = [
    .sos(presses: 1, position: fix),
    .sos(presses: 3, position: nil),
    .sosCancel,
    .checkIn(who: nil, position: nil),
    .checkIn(who: "card:04A2B9C1", position: Position(latitudeE7: -1, longitudeE7: 2)),
    .report(category: .poaching, note: "two trucks, no plates", position: fix),
    .report(category: .other, note: nil, position: nil),
    .sensorReading(sensor: "hwmon0/temp1", milliValue: -12_500),
    .sensorAlarm(sensor: "iio:flood", alarm: .flood, milliValue: 310_000, raised: true),
    .position(fix),
    .boxHealth(
      BoxHealth(
        supplyMillivolts: 12_400, batteryPercent: 81, uptimeSeconds: 86_400,
        journalFillPermille: 125, link: .up)),
    .boxHealth(BoxHealth(uptimeSeconds: 5, journalFillPermille: 0, link: .down)),
    .journalGap(count: 12, firstSeq: 1000, lastSeq: 1040),
    .forwardedIncident(
      ForwardedIncident(
        incident: 4711, kind: "sos", device: "yurt-12", household: "Оюун", detail: nil,
        presses: 3, openedAtMs: 1_795_316_400_000, position: fix)),
    .forwardedIncident(
      ForwardedIncident(
        incident: 1, kind: "sensor-alarm", device: "ger-3", household: nil, detail: "fire temp1",
        presses: 0, openedAtMs: -5, position: nil)),
    .incidentUpdate(
      IncidentUpdate(
        forwardedEpoch: 0x8f3a_0011_2233_4455, forwardedSeq: 12, incident: 4711,
        state: .acknowledged, officer: "Болд", note: "on our way", atMs: 1_795_316_460_000)),
    .incidentUpdate(
      IncidentUpdate(
        forwardedEpoch: 1, forwardedSeq: 0, incident: 2, state: .cancelled, officer: "",
        note: nil, atMs: -1)),
    .test([1, 2, 3]),
  ]

  @Test(arguments: bodies) func everyBodyRoundTrips(_ body: RecordBody) throws {
    let bytes = body.encoded()
    #expect(try RecordBody(kind: body.kind, bytes: bytes) == body)
  }

  @Test(arguments: bodies) func truncatedBodiesAreErrorsNotCrashes(_ body: RecordBody) {
    let bytes = body.encoded()
    guard body.kind != .test, body.kind != .sosCancel else { return }
    for cut in 0..<bytes.count {
      #expect(throws: RecordBodyError.self) {
        _ = try RecordBody(kind: body.kind, bytes: Array(bytes[0..<cut]))
      }
    }
  }

  @Test func anIncidentUpdateWithAnUnknownStateIsAnErrorAtItsOffset() {
    var bytes = RecordBody.incidentUpdate(
      IncidentUpdate(
        forwardedEpoch: 1, forwardedSeq: 2, incident: 3, state: .resolved, officer: "x",
        note: nil, atMs: 0)
    ).encoded()
    bytes[0] = 9
    #expect(throws: RecordBodyError.invalidValue(field: "state", at: 0)) {
      _ = try RecordBody(kind: .incidentUpdate, bytes: bytes)
    }
  }

  @Test func unknownKindsAreCarriedOpaque() throws {
    let body = try RecordBody(kind: RecordKind(rawValue: 77), bytes: [9, 9])
    #expect(body == .opaque(kind: 77, bytes: [9, 9]))
    #expect(body.encoded() == [9, 9])
    #expect(body.kind.rawValue == 77)
  }

  @Test func kindsKeepTheirWireNumbersAndPriorities() {
    #expect(RecordKind.sos.rawValue == 1 && RecordKind(rawValue: 1) == .sos)
    #expect(RecordKind.journalGap.rawValue == 9)
    #expect(
      RecordKind.forwardedIncident.rawValue == 10 && RecordKind(rawValue: 10) == .forwardedIncident)
    #expect(RecordKind.forwardedIncident.defaultPriority == .alarm)
    #expect(RecordKind.incidentUpdate.rawValue == 11 && RecordKind(rawValue: 11) == .incidentUpdate)
    #expect(RecordKind.incidentUpdate.defaultPriority == .alarm)
    #expect(RecordKind.sos.defaultPriority == .alarm)
    #expect(RecordKind.sensorAlarm.defaultPriority == .alarm)
    #expect(RecordKind.sensorReading.defaultPriority == .bulk)
    #expect(RecordKind.checkIn.defaultPriority == .normal)
    #expect(Priority(name: "bulk") == .bulk && Priority(name: "urgent") == nil)
  }
}

@Suite struct RecordTimeTests {
  @Test func untrustedTimesOfTheSameBootAreCorrectedByAnAnchor() {
    // Box booted with its clock at 1970; 90 s after boot GPS said 2026-11-22T03:00:00Z.
    let anchor = TimeAnchor(boot: 7, sinceBootMs: 90_000, wallMs: 1_795_316_400_000)
    let early = RecordTime(wallMs: 30_000, clockTrusted: false, boot: 7, sinceBootMs: 30_000)
    let fixed = early.corrected(by: anchor)
    #expect(fixed.wallMs == 1_795_316_400_000 - 60_000)
    #expect(fixed.clockTrusted)
    let otherBoot = RecordTime(wallMs: 30_000, clockTrusted: false, boot: 6, sinceBootMs: 30_000)
    #expect(otherBoot.corrected(by: anchor) == otherBoot)
    let trusted = RecordTime(wallMs: 5, clockTrusted: true, boot: 7, sinceBootMs: 1)
    #expect(trusted.corrected(by: anchor) == trusted)
  }
}

@Suite struct JournalFrameTests {
  let record = Record(
    seq: 4242, kind: .sos, priority: .alarm,
    time: RecordTime(wallMs: 1_795_316_400_000, clockTrusted: true, boot: 3, sinceBootMs: 77),
    body: RecordBody.sos(presses: 1, position: RecordBodyTests.fix).encoded())

  @Test func framesRoundTripAndAreAligned() throws {
    let bytes = JournalFrame.encode(record, logicalOffset: 123_456)
    #expect(bytes.count % 8 == 0)
    #expect(bytes.count == JournalFrame.frameLength(bodyLength: record.body.count))
    let decoded = try bytes.withUnsafeBytes {
      try JournalFrame.decode($0, expectedLogicalOffset: 123_456).get()
    }
    #expect(decoded.record == record)
    #expect(!decoded.relocated && !decoded.isPadding)
  }

  @Test func everySingleBitFlipIsDetected() {
    let bytes = JournalFrame.encode(record, logicalOffset: 64)
    for bit in 0..<(bytes.count * 8) {
      var damaged = bytes
      damaged[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
      let result = damaged.withUnsafeBytes {
        JournalFrame.decode($0, expectedLogicalOffset: 64)
      }
      if case .success(let decoded) = result {
        Issue.record("bit \(bit) flipped and the frame still decoded as seq \(decoded.record.seq)")
      }
    }
  }

  @Test func aFrameIsValidOnlyAtItsOwnLogicalOffsetAndWhole() {
    let bytes = JournalFrame.encode(record, logicalOffset: 64)
    let elsewhere = bytes.withUnsafeBytes {
      JournalFrame.decode($0, expectedLogicalOffset: 64 + 1_048_576)
    }
    #expect(elsewhere == .failure(.notAFrame))
    let short = Array(bytes.dropLast(3)).withUnsafeBytes {
      JournalFrame.decode($0, expectedLogicalOffset: 64)
    }
    #expect(short == .failure(.short(needed: bytes.count)))
  }

  @Test func paddingFramesCarryNoRecord() throws {
    var bytes = [UInt8](repeating: 0xAA, count: 200)
    bytes.withUnsafeMutableBytes {
      JournalFrame.encodePadding(length: 200, logicalOffset: 8, into: $0)
    }
    let decoded = try bytes.withUnsafeBytes {
      try JournalFrame.decode($0, expectedLogicalOffset: 8).get()
    }
    #expect(decoded.isPadding && decoded.length == 200)
  }
}
