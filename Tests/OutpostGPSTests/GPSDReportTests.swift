import OutpostCore
import OutpostGPS
import Testing

/// The captured session as gpsd sent it on the socket: each line ended by CRLF.
private var capturedBytes: [UInt8] {
  Array(capturedSession.split(separator: "\n").map { $0 + "\r\n" }.joined().utf8)
}

/// 2034-10-11T07:41:56.799Z: gpsd's time for the log's 2015-02-25T07:41:56.799Z.
private let secondEpochMs: Int64 = 2_044_165_316_799

private func decode(_ line: String) throws -> GPSDReport { try GPSDReport(line: line) }

private func tpv(_ line: String) throws -> GPSDTPV {
  guard case .tpv(let value) = try decode(line) else { throw Unexpected(line: line) }
  return value
}

private struct Unexpected: Error, CustomStringConvertible {
  var line: String
  var description: String { "not the report expected: \(line)" }
}

@Suite("gpsd JSON protocol")
struct GPSDReportTests {
  @Test("The watch command is the one gpsd documents, newline-terminated")
  func watchCommand() {
    #expect(GPSDCommand.watch == "?WATCH={\"enable\":true,\"json\":true};\n")
    #expect(GPSDCommand.watchBytes == Array(GPSDCommand.watch.utf8))
  }

  @Test("Every line of a real gpsd session decodes, by class")
  func realSessionDecodes() throws {
    var splitter = LineSplitter(maxLineBytes: LineSplitter.gpsdMaxLineBytes)
    let lines = splitter.feed(capturedBytes)
    #expect(splitter.pendingByteCount == 0)
    let reports = try lines.map(decode)
    #expect(reports.count == 26)
    guard case .version(let version) = reports[0] else {
      Issue.record("the session starts with \(reports[0])")
      return
    }
    #expect(version.release == "3.22")
    #expect(version.protocolMajor == 3)
    #expect(version.protocolMinor == 14)
    #expect(reports[1] == .devices([]))
    guard case .watch(let watch) = reports[2], case .device(let opened) = reports[3],
      case .device(let identified) = reports[4], case .device(let closed) = reports[25]
    else {
      Issue.record("WATCH and DEVICE reports expected: \(reports[2...4]), \(reports[25])")
      return
    }
    #expect(watch.enable == true && watch.json == true)
    #expect(opened.path == "/dev/pts/1" && opened.activated == true && opened.driver == nil)
    #expect(identified.driver == "NMEA0183" && identified.activated == true)
    #expect(closed.path == "/dev/pts/1" && closed.activated == false)
    let classes = reports.map { report -> String in
      switch report {
      case .tpv(let value): value.hasFix ? "fix" : "nofix"
      case .sky: "SKY"
      default: "-"
      }
    }
    #expect(classes.filter { $0 == "nofix" }.count == 9)
    #expect(classes.filter { $0 == "fix" }.count == 9)
    #expect(classes.filter { $0 == "SKY" }.count == 2)
  }

  @Test("A TPV's members come out in integer units, exact from gpsd's digits")
  func tpvUnits() throws {
    let lines = capturedSession.split(separator: "\n").map(String.init)
    // The second TPV of 07:41:56.799, completed with course and speed.
    let value = try tpv(lines[18])
    #expect(value.device == "/dev/pts/1")
    #expect(value.mode == 3)
    #expect(value.timeMs == secondEpochMs)
    #expect(value.latitudeE7 == 312_482_500)  // 31.248250000
    #expect(value.longitudeE7 == 1_215_874_033)  // 121.587403333
    #expect(value.altitudeDm == 1907)  // altMSL 190.7000
    #expect(value.speedCmPerS == 13)  // 0.134 m/s
    #expect(value.trackCdeg == 494)  // 4.9400°
    #expect(value.ephCm == 6494)  // 64.940 m
    #expect(value.epxCm == 1373)  // 13.727 m
    #expect(value.epyCm == 2428)  // 24.275 m: half a centimetre, away from zero
    #expect(value.status == nil)
    // Its first TPV: gpsd's own speed from the positions, no course yet.
    let first = try tpv(lines[17])
    #expect(first.speedCmPerS == 3343 && first.trackCdeg == nil)
    // The first fix has no time; mode 2 has no altitude; no-fix TPVs have no position.
    #expect(try tpv(lines[14]).timeMs == nil)
    let flat = try tpv(capturedMode2TPV)
    #expect(flat.mode == 2 && flat.hasFix && flat.altitudeDm == nil)
    #expect(flat.latitudeE7 == 312_479_500 && flat.speedCmPerS == 15)
    let searching = try tpv(capturedNoFixTPV)
    #expect(searching.mode == 1 && !searching.hasFix)
    #expect(searching.timeMs == 2_044_165_311_799)
  }

  @Test("A SKY gives HDOP and the satellites used, counted from the list when uSat is absent")
  func skyReports() throws {
    let lines = capturedSession.split(separator: "\n").map(String.init)
    guard case .sky(let sky) = try decode(lines[16]) else {
      Issue.record("line 16 is not a SKY")
      return
    }
    #expect(sky.device == "/dev/pts/1")
    #expect(sky.hdopCenti == 130 && sky.pdopCenti == 510)
    #expect(sky.satellitesUsed == 5 && sky.satellitesVisible == 32)
    guard case .sky(let before) = try decode(capturedSkyBeforeFix) else {
      Issue.record("not a SKY")
      return
    }
    #expect(before.hdopCenti == nil && before.satellitesUsed == 0)
    #expect(before.satellitesVisible == 8)
    let counted = try decode(
      #"{"class":"SKY","hdop":0.95,"satellites":[{"PRN":1,"used":true},"#
        + #"{"PRN":2,"used":false},{"PRN":3,"used":true},{"PRN":4}]}"#)
    guard case .sky(let listed) = counted else {
      Issue.record("not a SKY")
      return
    }
    #expect(listed.satellitesUsed == 2 && listed.satellitesVisible == 4)
    #expect(listed.hdopCenti == 95)
  }

  @Test("ERROR, DEVICES and classes the agent does not use")
  func otherClasses() throws {
    #expect(
      try decode(capturedError)
        == .error(
          message: "Unrecognized request '?FOO;\n?WATCH={\"enable\":true,\"json\":true};\n'"))
    guard case .devices(let devices) = try decode(capturedDevices) else {
      Issue.record("not DEVICES")
      return
    }
    #expect(devices.map(\.path) == ["/dev/pts/3"])
    #expect(
      try decode(#"{"class":"PPS","device":"/dev/pps0","real_sec":1}"#) == .other(class: "PPS"))
    #expect(try decode(#" {"class":"TOFF"} "#) == .other(class: "TOFF"))
    #expect(try decode(#"{"class":"POLL","tpv":[],"sky":[]}"#) == .other(class: "POLL"))
  }

  @Test("Malformed lines are typed errors naming the byte and what was wrong")
  func malformedLines() {
    let cases: [(String, GPSDReportError)] = [
      (#"{"class":"TPV","mode":3,"lat":}"#, .malformedJSON(offset: 30, reason: "expected a value")),
      (
        #"{"class":"TPV" "mode":3}"#,
        .malformedJSON(offset: 15, reason: "expected ',' or '}' after the member \"class\"")
      ),
      (
        #"{"class":"TPV","mode":3"#,
        .malformedJSON(offset: 23, reason: "expected ',' or '}' after the member \"mode\"")
      ),
      (#"{"class":"TP"#, .malformedJSON(offset: 12, reason: "the line ends inside a string")),
      (
        #"{"class":"TPV"}x"#,
        .malformedJSON(offset: 15, reason: "unexpected bytes after the JSON value")
      ),
      (
        #"{"class":"TPV","mode":03}"#,
        .malformedJSON(offset: 23, reason: "expected ',' or '}' after the member \"mode\"")
      ),
      (#"{"class":"TPV","lat":1.}"#, .malformedJSON(offset: 23, reason: "expected a digit")),
      (#"{"class":"X","a":tru}"#, .malformedJSON(offset: 17, reason: "expected true")),
      (#"{"class":"X","a":"\q"}"#, .malformedJSON(offset: 19, reason: "invalid escape")),
      (#"{"class":"X","a":"\ud800"}"#, .malformedJSON(offset: 18, reason: "unpaired surrogate")),
      (
        #"{"class":"X","class":"Y"}"#, .malformedJSON(offset: 13, reason: "duplicate key \"class\"")
      ),
      (
        "{\"class\":\"X\",\"a\":\"\u{01}\"}",
        .malformedJSON(offset: 18, reason: "control character in a string")
      ),
      ("", .malformedJSON(offset: 0, reason: "the line ends where a value should start")),
      (
        String(repeating: "[", count: 40),
        .malformedJSON(offset: 32, reason: "nested deeper than 32 levels")
      ),
      (#"[{"class":"TPV"}]"#, .notAnObject),
      (#"{"mode":3}"#, .missingClass),
      (#"{"class":3}"#, .missingClass),
      (#"{"class":"TPV"}"#, .missingField(class: "TPV", field: "mode")),
      (#"{"class":"VERSION","proto_major":3}"#, .missingField(class: "VERSION", field: "release")),
      (#"{"class":"ERROR"}"#, .missingField(class: "ERROR", field: "message")),
      (#"{"class":"TPV","mode":7}"#, .invalidField(class: "TPV", field: "mode", value: "7")),
      (#"{"class":"TPV","mode":"3"}"#, .invalidField(class: "TPV", field: "mode", value: "\"3\"")),
      (
        #"{"class":"TPV","mode":3,"lat":90.5}"#,
        .invalidField(class: "TPV", field: "lat", value: "90.5")
      ),
      (
        #"{"class":"TPV","mode":3,"lon":-180.0000001}"#,
        .invalidField(class: "TPV", field: "lon", value: "-180.0000001")
      ),
      (
        #"{"class":"TPV","mode":3,"speed":-1.5}"#,
        .invalidField(class: "TPV", field: "speed", value: "-1.5")
      ),
      (
        #"{"class":"TPV","mode":3,"alt":1e9}"#,
        .invalidField(class: "TPV", field: "alt", value: "1e9")
      ),
      (
        #"{"class":"TPV","mode":3,"time":1424850115.8}"#,
        .invalidField(class: "TPV", field: "time", value: "1424850115.8")
      ),
      (
        #"{"class":"TPV","mode":3,"time":"2015-02-30T07:41:55.799Z"}"#,
        .invalidField(class: "TPV", field: "time", value: "\"2015-02-30T07:41:55.799Z\"")
      ),
      (
        #"{"class":"TPV","mode":3,"time":"2015-02-25T07:41:55.799"}"#,
        .invalidField(class: "TPV", field: "time", value: "\"2015-02-25T07:41:55.799\"")
      ),
      (
        #"{"class":"SKY","satellites":{}}"#,
        .invalidField(class: "SKY", field: "satellites", value: "{…}")
      ),
      (
        #"{"class":"DEVICES","devices":[1]}"#,
        .invalidField(class: "DEVICES", field: "devices", value: "[…]")
      ),
      (#"{"class":"DEVICES"}"#, .missingField(class: "DEVICES", field: "devices")),
      (
        #"{"class":"DEVICE","activated":true}"#,
        .invalidField(class: "DEVICE", field: "activated", value: "true")
      ),
    ]
    for (line, expected) in cases {
      #expect(throws: expected, "\(line)") { try GPSDReport(line: line) }
    }
    let error = GPSDReportError.malformedJSON(offset: 30, reason: "expected a value")
    #expect(error.description == "gpsd sent a line that is not JSON: at byte 30, expected a value")
    #expect(
      GPSDReportError.invalidField(class: "TPV", field: "lat", value: "90.5").description
        == "gpsd sent a TPV report whose \"lat\" holds 90.5, which is not a valid value")
  }

  @Test("Numbers are exact decimals: exponents, trailing digits, rounding half away from zero")
  func exactNumbers() throws {
    func latitude(_ text: String) throws -> Int32? {
      try tpv(#"{"class":"TPV","mode":2,"lat":\#(text),"lon":0}"#).latitudeE7
    }
    #expect(try latitude("31.247950000") == 312_479_500)
    #expect(try latitude("3.1247950e1") == 312_479_500)
    #expect(try latitude("3124795000E-8") == 312_479_500)
    #expect(try latitude("-31.24795005") == -312_479_501)
    #expect(try latitude("-31.247950049999") == -312_479_500)
    #expect(try latitude("0.00000005") == 1)
    #expect(try latitude("-0.00000005") == -1)
    #expect(try latitude("90") == 900_000_000)
    #expect(try latitude("1e-40") == 0)
    #expect(try tpv(#"{"class":"TPV","mode":3,"track":359.996}"#).trackCdeg == 0)
    #expect(try tpv(#"{"class":"TPV","mode":3,"alt":-12.35}"#).altitudeDm == -124)
    #expect(try tpv(#"{"class":"TPV","mode":3,"alt":1,"altMSL":2}"#).altitudeDm == 20)
  }

  @Test("ISO-8601 times become ms since the epoch by our own calendar arithmetic")
  func isoTimes() throws {
    func time(_ text: String) throws -> Int64? {
      try tpv(#"{"class":"TPV","mode":1,"time":"\#(text)"}"#).timeMs
    }
    #expect(try time("2024-05-01T03:12:45.000Z") == 1_714_533_165_000)
    #expect(try time("2024-05-01T03:12:45Z") == 1_714_533_165_000)
    #expect(try time("2024-05-01T03:12:45.0005Z") == 1_714_533_165_001)
    #expect(try time("2034-10-11T07:41:56.799Z") == secondEpochMs)
    #expect(try time("1970-01-01T00:00:00.000Z") == 0)
    #expect(try time("2024-02-29T23:59:59.999Z") == 1_709_251_199_999)
    #expect(try time("2016-12-31T23:59:60.500Z") == 1_483_228_800_500)  // a leap second
    #expect(throws: GPSDReportError.self) { try time("2023-02-29T00:00:00.000Z") }
    #expect(throws: GPSDReportError.self) { try time("2024-13-01T00:00:00.000Z") }
    #expect(throws: GPSDReportError.self) { try time("2024-05-01T24:00:00.000Z") }
    #expect(throws: GPSDReportError.self) { try time("2024-05-01 03:12:45.000Z") }
    #expect(throws: GPSDReportError.self) { try time("2024-05-01T03:12:4x.000Z") }
  }

  @Test("Splitting: byte by byte, all at once and CRLF give the same lines, nothing left over")
  func splitting() {
    var whole = LineSplitter(maxLineBytes: LineSplitter.gpsdMaxLineBytes)
    let expected = whole.feed(capturedBytes)
    #expect(expected == capturedSession.split(separator: "\n").map(String.init))
    var dripped = LineSplitter(maxLineBytes: LineSplitter.gpsdMaxLineBytes)
    var lines: [String] = []
    for byte in capturedBytes { lines += dripped.feed([byte]) }
    #expect(lines == expected)
    #expect(dripped.pendingByteCount == 0 && dripped.overlongLines == 0)
    var unfinished = LineSplitter(maxLineBytes: LineSplitter.gpsdMaxLineBytes)
    #expect(unfinished.feed(Array(#"{"class":"TOFF"}"#.utf8)).isEmpty)
    #expect(unfinished.pendingByteCount == 16)
    #expect(unfinished.feed([0x0A]) == [#"{"class":"TOFF"}"#])
  }

  @Test("A line longer than the limit is dropped whole and counted, never buffered")
  func overlongLine() throws {
    var splitter = LineSplitter(maxLineBytes: LineSplitter.gpsdMaxLineBytes)
    #expect(splitter.maxLineBytes == 10_240)
    let junk = #"{"class":"SKY","satellites":["# + String(repeating: "{\"PRN\":1},", count: 2000)
    var lines = splitter.feed(Array(junk.utf8))
    #expect(splitter.pendingByteCount <= splitter.maxLineBytes)
    #expect(splitter.overlongLines == 1)
    lines += splitter.feed(Array("]}\r\n".utf8) + capturedBytes.prefix(84))
    #expect(lines.count == 1)
    #expect(try decode(lines[0]) != .other(class: "SKY"))
    guard case .version = try decode(lines[0]) else {
      Issue.record("the VERSION after the long line was lost: \(lines)")
      return
    }
    #expect(splitter.overlongLines == 1)
    // Exactly at the limit is kept.
    var exact = LineSplitter(maxLineBytes: 8)
    #expect(exact.feed(Array("12345678\n123456789\n".utf8)) == ["12345678"])
    #expect(exact.overlongLines == 1)
  }

  @Test("The real session gives its five fixes, one per epoch, SKY attached")
  func sessionFixes() throws {
    var reader = GPSDReader()
    var fixes = reader.feed(capturedBytes)
    #expect(reader.finish() == nil, "the DEVICE closing already ended the last epoch")
    #expect(reader.rejectedLines == 0)
    #expect(reader.version?.release == "3.22")
    #expect(reader.reportsWithoutFix == 9)
    #expect(fixes.count == 5)
    guard fixes.count == 5 else { return }
    // The first: no time from gpsd; the SKY that followed it gives HDOP and satellites.
    #expect(
      fixes[0].position
        == Position(
          latitudeE7: 312_479_500, longitudeE7: 1_215_874_383, altitudeDm: 1569,
          hdopCenti: 130, satellites: 5))
    #expect(fixes[0].timeMs == nil)
    // The two TPVs of each later epoch merged: RMC's speed and course replace gpsd's estimate.
    #expect(
      fixes[1].position
        == Position(
          latitudeE7: 312_482_500, longitudeE7: 1_215_874_033, altitudeDm: 1907, speedCmPerS: 13,
          headingCdeg: 494, hdopCenti: 130, satellites: 5, fixTimeMs: secondEpochMs))
    fixes.removeFirst()
    #expect(fixes.map(\.timeMs) == (0..<4).map { secondEpochMs + Int64($0) * 1000 })
    #expect(
      fixes.map(\.position.latitudeE7) == [312_482_500, 312_481_700, 312_482_550, 312_482_383])
    #expect(
      fixes.map(\.position.longitudeE7)
        == [1_215_874_033, 1_215_874_050, 1_215_873_983, 1_215_874_067])
    #expect(fixes.map(\.position.altitudeDm) == [1907, 1929, 1985, 1964])
    #expect(fixes.map(\.position.speedCmPerS) == [13, 17, 13, 12])
  }

  @Test("Fed in random pieces, the session gives the same fixes")
  func sessionInPieces() {
    var whole = GPSDReader()
    let expected = whole.feed(capturedBytes)
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<20 {
      var reader = GPSDReader()
      var fixes: [GPSFix] = []
      var start = 0
      while start < capturedBytes.count {
        let end = min(capturedBytes.count, start + Int.random(in: 1...300, using: &generator))
        fixes += reader.feed(capturedBytes[start..<end])
        start = end
      }
      #expect(fixes == expected)
    }
  }

  @Test("Epochs: no-fix TPVs end them, other devices and times start new ones, stale SKY fades")
  func epochs() throws {
    var tracker = GPSDFixTracker()
    func add(_ line: String) throws -> GPSFix? { tracker.add(try decode(line)) }
    let a = #"{"class":"TPV","device":"/dev/a","mode":3,"time":"2024-05-01T03:12:45.000Z","#
    #expect(try add(a + #""lat":1.5,"lon":2.5}"#) == nil)
    #expect(try add(a + #""lat":1.5,"lon":2.5,"speed":1.005}"#) == nil)
    // A SKY with no satellites used yet says nothing about this fix's count.
    #expect(try add(#"{"class":"SKY","device":"/dev/a","hdop":2.5,"uSat":0}"#) == nil)
    let first = try #require(try add(#"{"class":"TPV","device":"/dev/a","mode":1}"#))
    #expect(first.position.speedCmPerS == 101)
    #expect(first.position.hdopCenti == 250)
    #expect(first.position.satellites == nil)
    #expect(first.timeMs == 1_714_533_165_000)
    #expect(tracker.reportsWithoutFix == 1)
    // Another device's TPV of the same time is another epoch; a SKY of another device is not
    // attached.
    let b = #"{"class":"TPV","device":"/dev/b","mode":2,"time":"2024-05-01T03:12:45.000Z","#
    #expect(try add(#"{"class":"SKY","device":"/dev/b","hdop":0.8,"uSat":9}"#) == nil)
    #expect(try add(a + #""lat":1.5,"lon":2.5}"#) == nil)
    let fromA = try #require(try add(b + #""lat":-1.5,"lon":-2.5}"#))
    #expect(fromA.position.latitudeE7 == 15_000_000 && fromA.position.hdopCenti == 250)
    // The closing of another device does not end b's epoch; b's closing does.
    #expect(try add(#"{"class":"DEVICE","path":"/dev/a","activated":0}"#) == nil)
    let fromB = try #require(try add(#"{"class":"DEVICE","path":"/dev/b","activated":0}"#))
    #expect(fromB.position.latitudeE7 == -15_000_000)
    #expect(fromB.position.satellites == 9 && fromB.position.hdopCenti == 80)
    // The closing forgot the SKY; TPVs without a time are epochs of their own.
    let untimed = #"{"class":"TPV","device":"/dev/b","mode":3,"lat":3,"lon":4}"#
    #expect(try add(untimed) == nil)
    let alone = try #require(try add(untimed))
    #expect(alone.position.hdopCenti == nil && alone.timeMs == nil)
    #expect(tracker.finish() != nil)
    #expect(tracker.finish() == nil)
  }

  @Test("A reader counts bad lines and remembers why, and keeps going")
  func readerCounts() {
    var reader = GPSDReader(maxLineBytes: 64)
    var input = Array("not json\r\n".utf8)
    input += Array(#"{"class":"ERROR","message":"Unrecognized request"}"#.utf8) + [0x0A]
    input += Array(String(repeating: "x", count: 100).utf8) + [0x0A]
    input += Array(#"{"class":"TPV","mode":3,"lat":1,"lon":2}"#.utf8) + [0x0A]
    #expect(reader.feed(input).isEmpty)
    #expect(reader.rejectedLines == 1)
    #expect(reader.lastRejection == .malformedJSON(offset: 0, reason: "expected a value"))
    #expect(reader.lastErrorMessage == "Unrecognized request")
    #expect(reader.overlongLines == 1)
    #expect(reader.finish()?.position.longitudeE7 == 20_000_000)
  }
}
