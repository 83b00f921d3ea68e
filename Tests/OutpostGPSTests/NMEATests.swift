import OutpostCore
import OutpostGPS
import OutpostTestKit
import Testing

/// The bytes of the real capture in `Data/` (see its README).
private func beidouLog() throws -> [UInt8] {
  let here = #filePath
  return try FileBytes.read(String(here[..<here.lastIndex(of: "/")!]) + "/Data/beidou-bd.log")
}

/// 2015-02-25T07:41:55.799Z, the first fix of the capture.
private let firstFixMs: Int64 = 1_424_850_115_799

@Suite("NMEA 0183")
struct NMEATests {
  @Test("The BeiDou capture gives its five fixes, with every field in integer units")
  func beidouCapture() throws {
    var reader = NMEAReader()
    var fixes = reader.feed(try beidouLog())
    if let last = reader.finish() { fixes.append(last) }
    #expect(fixes.count == 5)
    #expect(reader.epochsWithoutFix == 5, "five epochs before the first fix (RMC V, GGA 0)")
    #expect(reader.rejectedLines == 0)
    #expect(reader.malformedSentences == 0)
    let first = try #require(fixes.first)
    // 3114.8770 N, 12135.2463 E; 156.9 m; 5 satellites; HDOP 1.3; 0.30 kn; 4.94°.
    #expect(
      first.position
        == Position(
          latitudeE7: 312_479_500, longitudeE7: 1_215_874_383, altitudeDm: 1569,
          speedCmPerS: 15, headingCdeg: 494, hdopCenti: 130, satellites: 5,
          fixTimeMs: firstFixMs))
    #expect(first.timeMs == firstFixMs)
    #expect(fixes.map(\.timeMs) == (0..<5).map { firstFixMs + Int64($0) * 1000 })
    #expect(fixes.map(\.position.altitudeDm) == [1569, 1907, 1929, 1985, 1964])
    #expect(fixes.map(\.position.satellites) == [5, 7, 7, 7, 7])
  }

  @Test("Fed through a serial port in random pieces, the capture gives the same fixes")
  func piecesGiveTheSameFixes() throws {
    let bytes = try beidouLog()
    var whole = NMEAReader()
    var expected = whole.feed(bytes)
    if let last = whole.finish() { expected.append(last) }
    var generator = SeededRandom(seed: 0x4E4D_4541)
    for _ in 0..<20 {
      var reader = NMEAReader()
      var fixes: [GPSFix] = []
      var start = 0
      while start < bytes.count {
        let end = min(bytes.count, start + Int.random(in: 1...40, using: &generator))
        fixes += reader.feed(bytes[start..<end])
        start = end
      }
      if let last = reader.finish() { fixes.append(last) }
      #expect(fixes == expected)
    }
  }

  @Test("Junk, half lines, bad checksums and CRLF are skipped and counted, never a crash")
  func junkIsSkipped() throws {
    let good = "$GNRMC,074155.799,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,,A*76"
    var input: [UInt8] = Array("\u{00}\u{FF}garbage\r\n".utf8)
    input += Array("GNGGA,074150.799,,,,,0,00,,,M,0.0,M,,0000,*64\r\n".utf8)  // lost its $
    input += Array("$GNRMC,074155.799,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,,A*77\r\n".utf8)
    input += Array("$GNRMC,074155.799,A,3114.8770,N,121".utf8)  // the port closed mid-line…
    input += [0x0A]
    input += Array(String(repeating: "x", count: 600).utf8) + [0x0A]  // wrong baud rate
    input += Array("\(good)\r\n".utf8)
    var reader = NMEAReader()
    var fixes = reader.feed(input)
    if let last = reader.finish() { fixes.append(last) }
    #expect(fixes.count == 1)
    #expect(fixes.first?.position.latitudeE7 == 312_479_500)
    #expect(reader.rejectedLines == 4)
    #expect(reader.overlongLines == 1)
  }

  @Test("Sentence checks name what is wrong")
  func sentenceErrors() {
    #expect(throws: NMEAError.notASentence) { try NMEASentence(line: "GPGGA,1*00") }
    #expect(throws: NMEAError.missingChecksum) { try NMEASentence(line: "$GPGGA,1") }
    #expect(throws: NMEAError.malformedChecksum) { try NMEASentence(line: "$GPGGA,1*0") }
    #expect(throws: NMEAError.badChecksum(expected: 0, computed: 0x4B)) {
      try NMEASentence(line: "$GPGGA,1*00")
    }
    #expect(throws: NMEAError.nonPrintable(at: 7)) { try NMEASentence(line: "$GPGGA,\u{07}*00") }
    #expect(throws: NMEAError.tooLong(121)) {
      try NMEASentence(line: "$" + String(repeating: "A", count: 117) + "*00")
    }
    let proprietary = try? NMEASentence(line: "$PSRFEPE,074150.799,V,,,,,*23")
    #expect(proprietary?.talker == "P")
    #expect(proprietary?.type == "SRFEPE")
    // Any talker: BeiDou, combined, GLONASS, lower-case hex digits in the checksum.
    #expect((try? NMEASentence(line: "$BDGSA,A,1,,,,,,,,,,,,,,,,*23"))?.talker == "BD")
    #expect(
      (try? NMEASentence(line: " $GNGGA,074150.799,,,,,0,00,,,M,0.0,M,,0000,*64 "))?.type == "GGA")
  }

  @Test("A known sentence with a bad field is malformed, with the field named")
  func malformedFields() throws {
    func sentence(_ body: String) throws -> NMEASentence {
      var sum: UInt8 = 0
      for byte in body.utf8 { sum ^= byte }
      let hex = String(sum, radix: 16, uppercase: true)
      return try NMEASentence(line: "$\(body)*\(hex.count < 2 ? "0" + hex : hex)")
    }
    #expect(throws: NMEAError.malformedField(type: "GGA", field: 2, value: "31AA.000")) {
      try NMEAReport(try sentence("GPGGA,074155.799,31AA.000,N,12135.2463,E,1,05,1.3,156.9,M,,,,"))
    }
    #expect(throws: NMEAError.malformedField(type: "RMC", field: 1, value: "256155.799")) {
      try NMEAReport(try sentence("GPRMC,256155.799,A,3114.8770,N,12135.2463,E,0.30,4.94,250215,,"))
    }
    #expect(throws: NMEAError.malformedField(type: "RMC", field: 9, value: "251315")) {
      try NMEAReport(try sentence("GPRMC,074155.799,A,3114.8770,N,12135.2463,E,0.30,4.94,251315,,"))
    }
    #expect(throws: NMEAError.malformedField(type: "GGA", field: 8, value: "99999999999999999")) {
      try NMEAReport(
        try sentence("GPGGA,074155.799,3114.8770,N,12135.2463,E,1,05,99999999999999999,1,M,,,,"))
    }
    // South and west are negative; minutes round to the nearest 1e-7 degree.
    guard
      case .gga(let gga)? = try NMEAReport(
        try sentence("GNGGA,000000.00,4755.1234,S,10653.9876,W,1,10,0.9,1350.0,M,,,,"))
    else {
      Issue.record("not a GGA")
      return
    }
    #expect(gga.latitudeE7 == -479_187_233)
    #expect(gga.longitudeE7 == -1_068_997_933)
    #expect(gga.altitudeDm == 13_500)
  }
}
