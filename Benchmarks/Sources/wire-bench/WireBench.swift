import BenchSupport
import OutpostCore
import OutpostWire
import WireWorkload

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// `wire-bench`: the wire protocol's sizes against the product brief's bars (SOS datagram
/// ≤ 64 bytes; batched track ≤ 12 bytes a point), beside Teltonika Codec 8 and JT/T 808 for the
/// same records, and the codec's speed. Every figure is computed by this run; nothing here knows
/// an expected value.
@main
enum WireBench {
  static let sosBar = 64
  static let trackBar = 12.0
  static let defaultNmea = "../shared/testdata/nmea/beidou-bd.log"

  static func main() {
    let options: Options
    do {
      options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
    } catch {
      if error.description.isEmpty {
        print(Options.usage)
        exit(0)
      }
      printError("wire-bench: \(error)\n\n\(Options.usage)")
      exit(2)
    }
    do {
      if options.allocationsOnly {
        try allocations()
        exit(0)
      }
      let passed = try sizes(options)
      if options.speed { try speed(options) }
      exit(options.check && !passed ? 1 : 0)
    } catch {
      printError("wire-bench: \(error)")
      exit(1)
    }
  }

  // MARK: - Sizes

  /// Prints the size tables; returns whether every bar passed.
  static func sizes(_ options: Options) throws(BenchError) -> Bool {
    try selfTest()
    print("# wire-bench: sizes\n")
    print(header())
    print(
      "- protocol version \(ProtocolVersion.current); device number \(Workloads.deviceNumber), "
        + "datagram counter \(grouped(Int(Workloads.datagramCounter))), first sequence number "
        + "\(grouped(Int(Workloads.firstSeq))), trusted clock (no monotonic stamps)")

    // The SOS: a household box's latest fix, pressed 0.8 s after the fix.
    let sosTime = CivilTime.milliseconds(
      year: 2026, month: 7, day: 14, hour: 3, minute: 12, second: 45, millisecond: 318)
    let fix = Position(
      latitudeE7: 479_184_312, longitudeE7: 1_069_175_421, altitudeDm: 13_512, hdopCenti: 90,
      satellites: 9)
    var fixWithTime = fix
    fixWithTime.fixTimeMs = sosTime - 800
    var moving = fixWithTime
    moving.speedCmPerS = 1_194
    moving.headingCdeg = 21_750
    let sos = try SOSSizes(
      label: "SOS, fix with lat/lon, altitude, HDOP, satellites", position: fix, timeMs: sosTime)
    let sosVariants = [
      try SOSSizes(
        label: "same, plus the fix time (0.8 s before the press)", position: fixWithTime,
        timeMs: sosTime),
      try SOSSizes(
        label: "same, plus speed and course (a vehicle at 43 km/h)", position: moving,
        timeMs: sosTime),
      try SOSSizes(label: "SOS without a fix", position: nil, timeMs: sosTime),
    ]

    // The real track.
    var nmeaNote: String
    var tracks: [TrackSizes] = []
    var nmeaSummary = ""
    if let path = options.nmeaPath ?? locateDefaultNmea() {
      let log = NmeaTrack(bytes: try readFile(path))
      let shown = options.nmeaPath ?? defaultNmea
      nmeaNote = "`\(shown.split(separator: "/").last ?? "")`"
      nmeaSummary =
        "- `\(shown)`, read by the agent's NMEA reader (`OutpostGPS`): \(log.lines) lines, "
        + "\(log.comments) comments, \(log.rejected) rejected (not a sentence or a bad "
        + "checksum), \(log.malformed) malformed, \(log.ignored) sentences of other types "
        + "(GSV, proprietary…), \(log.epochsWithoutFix) epochs without a fix, \(log.undated) "
        + "fixes before the first date; \(fixes(log.points)): \(describe(log.points))"
      guard !log.points.isEmpty else { throw BenchError("\(path): no valid fix") }
      tracks.append(
        try TrackSizes(name: "\(nmeaNote), \(fixes(log.points))", points: log.points))
    } else {
      nmeaNote = ""
      nmeaSummary = "- `\(defaultNmea)` not found: the real track is left out (use --nmea PATH)"
    }
    let synthetic = SyntheticTrack.generate(count: options.points, seed: options.seed)
    let syntheticSummary = describe(synthetic)
    tracks.append(
      try TrackSizes(
        name: "synthetic steppe track, \(fixes(synthetic))", points: synthetic))

    var passed = true
    func verdict(_ ok: Bool) -> String {
      passed = passed && ok
      return ok ? "PASS" : "FAIL"
    }

    print(
      "\n## Outpost against the bars\n\n"
        + "| records | form | records | frames | bytes | bytes per record | bar | result |\n"
        + "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
    print(
      "| \(sos.label) | datagram, epoch sent (`Datagram.seal`, tag included) | 1 | 1 | "
        + "\(sos.datagram) | \(sos.datagram) | ≤ \(sosBar) | \(verdict(sos.datagram <= sosBar)) |")
    print(
      "| \(sos.label) | datagram, epoch implied (bound into the tag) | 1 | 1 | \(sos.implied) | "
        + "\(sos.implied) | ≤ \(sosBar) | \(verdict(sos.implied <= sosBar)) |")
    print(
      "| \(sos.label) | stream frame (inside TLS, no session) | 1 | 1 | \(sos.stream) | "
        + "\(sos.stream) | | |")
    for variant in sosVariants {
      print(
        "| \(variant.label) | datagram, epoch sent / implied | 1 | 1 | "
          + "\(variant.datagram) / \(variant.implied) | \(variant.datagram) / \(variant.implied) | "
          + "(≤ \(sosBar)) | \(variant.datagram <= sosBar ? "within" : "over") / "
          + "\(variant.implied <= sosBar ? "within" : "over") |")
    }
    for track in tracks {
      let perPoint = track.perPoint(track.streamFrames)
      print(
        "| \(track.name) | stream frames on a connection, ≤ 256 records a batch | "
          + "\(track.points) | \(track.streamFrames.count) | "
          + "\(grouped(track.streamFrames.reduce(0, +))) | \(fixed(perPoint, 2)) | "
          + "≤ \(fixed(trackBar, 0)) | \(verdict(perPoint <= trackBar)) |")
      print(
        "| \(track.name) | stream frames on a connection, one fix a batch (live) | "
          + "\(track.points) | \(track.liveFrames.count) | "
          + "\(grouped(track.liveFrames.reduce(0, +))) | "
          + "\(fixed(track.perPoint(track.liveFrames), 2)) | | |")
      print(
        "| \(track.name) | stream frames, each batch on a connection of its own | "
          + "\(track.points) | \(track.standaloneFrames.count) | "
          + "\(grouped(track.standaloneFrames.reduce(0, +))) | "
          + "\(fixed(track.perPoint(track.standaloneFrames), 2)) | | |")
      print(
        "| \(track.name) | datagrams of ≤ 1,200 bytes, tag included | \(track.points) | "
          + "\(track.datagrams.count) | \(grouped(track.datagrams.reduce(0, +))) | "
          + "\(fixed(track.perPoint(track.datagrams), 2)) | | |")
    }
    print("\n\(passed ? "Every bar passes." : "At least one bar FAILS.")\n")
    print(nmeaSummary)
    print("- synthetic track (seed 0x\(String(options.seed, radix: 16))): \(syntheticSummary)")
    for track in tracks {
      print(
        "- \(track.name): one more point in the middle of a batch costs "
          + "\(track.marginalStream.isNaN ? "n/a" : fixed(track.marginalStream, 2)) bytes "
          + "(first batch's frame less the frame of its "
          + "first record alone, per added record); stream frames of "
          + "\(track.streamFrames.map { grouped($0) }.joined(separator: ", ")) bytes; datagrams "
          + "of \(summary(track.datagrams)) bytes")
    }
    print(
      "- a connection opens with a hello of \(tracks.first.map { "\($0.helloBytes)" } ?? "?") "
        + "bytes (once per connection, not counted per point): it names the epoch, and each "
        + "record is coded against the one before it, across batches; the box connected 60 s "
        + "before the track's first fix")
    print("- every frame and datagram above was decoded (datagrams opened) again and compared")

    print(
      "\n## Beside Teltonika Codec 8 and JT/T 808 (bytes per record; same records, same values)\n\n"
        + "| records | Outpost stream | Outpost datagram | Codec 8 TCP | Codec 8 UDP | "
        + "JT/T 808 0x0200 each | JT/T 808 0x0704 batched |\n"
        + "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for s in [sos] + sosVariants {
      print(
        "| \(s.label) | \(s.stream) | \(s.datagram) | \(s.codec8TCP) | \(s.codec8UDP) | "
          + "\(s.jt808) | — |")
    }
    for track in tracks {
      print(
        "| \(track.name) | \(fixed(track.perPoint(track.streamFrames), 2)) | "
          + "\(fixed(track.perPoint(track.datagrams), 2)) | \(fixed(track.perPoint(track.codec8TCP), 2)) | "
          + "\(fixed(track.perPoint(track.codec8UDP), 2)) | \(fixed(track.perPoint(track.jt808Single), 2)) | "
          + "\(fixed(track.perPoint(track.jt808Bulk), 2)) |")
    }
    print("")
    for track in tracks {
      print(
        "- \(track.name): Codec 8 TCP with the HDOP as IO element 182: "
          + "\(fixed(track.perPoint(track.codec8TCPWithHDOP), 2)) bytes a point; JT/T 808 0x0704 "
          + "with the satellite count as item 0x31: "
          + "\(fixed(track.perPoint(track.jt808BulkWithSatellites), 2)) bytes a point "
          + "(Codec 8 TCP packets: \(track.codec8TCP.count); 0x0704 frames: "
          + "\(track.jt808Bulk.count))")
    }
    print(
      "- Codec 8: one packet per SOS (priority 2 = panic, event IO 1 = digital input 1, value 1),"
        + " up to 255 records per track packet, no IO elements on track records; UDP: channel "
        + "header + AVL packet ID + 15-digit IMEI, no CRC. JT/T 808-2013: 0x0200 with alarm bit 0 "
        + "(emergency) for the SOS, 12-byte header, 6-byte BCD phone number, XOR checksum, 0x7E "
        + "flags, escaping counted from the real bytes; 0x0704: up to 34 reports per frame "
        + "(1,023-byte body). Units rounded to theirs: Codec 8 m, °, km/h; JT/T 808 1e-6°, m, "
        + "0.1 km/h, °. Neither is authenticated; Outpost's datagram carries a 16-byte tag.")
    if options.hex {
      func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
      }
      print("\nThe first SOS, byte by byte:\n")
      print("- Outpost datagram: `\(hex(sos.datagramBytes))`")
      print("- Outpost stream frame: `\(hex(sos.streamBytes))`")
      print("- Codec 8 TCP: `\(hex(sos.codec8TCPBytes))`")
      print("- Codec 8 UDP: `\(hex(sos.codec8UDPBytes))`")
      print("- JT/T 808 0x0200: `\(hex(sos.jt808Bytes))`")
    }
    return passed
  }

  /// Checks the comparison encoders against a published example: the Codec 8 packet on
  /// Teltonika's wiki, whose CRC-16 is 0xC7CF.
  static func selfTest() throws(BenchError) {
    let hex =
      "08010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E000000000000000001"
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
      let next = hex.index(index, offsetBy: 2)
      bytes.append(UInt8(hex[index..<next], radix: 16)!)
      index = next
    }
    guard Codec8.crc16IBM(bytes) == 0xC7CF else {
      throw BenchError("CRC-16/IBM self-test failed on the wiki's Codec 8 example")
    }
  }

  static func locateDefaultNmea() -> String? {
    // <repository>/Benchmarks/Sources/wire-bench/WireBench.swift
    let parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    let repository = parts.dropLast(4).joined(separator: "/")
    // The shared test data beside the repository, else the tests' copy inside it.
    let candidates = [
      repository + "/" + defaultNmea, defaultNmea, "../" + defaultNmea,
      repository + "/Tests/OutpostGPSTests/Data/beidou-bd.log",
    ]
    return candidates.first(where: fileExists)
  }

  /// "5 fixes at 1 s": the count and the median interval.
  static func fixes(_ track: [TrackPoint]) -> String {
    let count = "\(grouped(track.count)) fix\(track.count == 1 ? "" : "es")"
    guard track.count > 1 else { return count }
    let steps = zip(track, track.dropFirst()).map { Double($1.timeMs - $0.timeMs) / 1000 }
    return count
      + " at \(fixed(medianOf(steps), steps.allSatisfy { $0 == $0.rounded() } ? 0 : 1)) s"
  }

  /// What a track is like: its span, and the ranges of what the receiver reported.
  static func describe(_ track: [TrackPoint]) -> String {
    var metres = 0.0
    for (a, b) in zip(track, track.dropFirst()) {
      let latitude = Double(a.position.latitudeE7) * 1e-7 * .pi / 180
      let north = Double(b.position.latitudeE7 - a.position.latitudeE7) * 1e-7 * 111_200
      let east =
        Double(b.position.longitudeE7 - a.position.longitudeE7) * 1e-7 * 111_320 * cos(latitude)
      metres += (north * north + east * east).squareRoot()
    }
    func range<T: Comparable>(_ values: [T]) -> (T, T) { (values.min()!, values.max()!) }
    let speeds = range(track.map { Double($0.position.speedCmPerS ?? 0) * 0.036 })
    let altitudes = range(track.map { Double($0.position.altitudeDm ?? 0) / 10 })
    let hdops = range(track.map { Double($0.position.hdopCenti ?? 0) / 100 })
    let satellites = range(track.map { Int($0.position.satellites ?? 0) })
    let seconds = Double(track.last!.timeMs - track.first!.timeMs) / 1000
    let span = seconds < 120 ? "\(fixed(seconds, 0)) s" : "\(fixed(seconds / 60, 1)) min"
    return "\(span), \(fixed(metres / 1000, 1)) km between the reported fixes, "
      + "speed \(fixed(speeds.0, 1))–\(fixed(speeds.1, 1)) km/h, altitude "
      + "\(fixed(altitudes.0, 1))–\(fixed(altitudes.1, 1)) m, HDOP \(fixed(hdops.0, 1))–"
      + "\(fixed(hdops.1, 1)), \(satellites.0)–\(satellites.1) satellites; first fix "
      + "\(fixed(Double(track[0].position.latitudeE7.magnitude) * 1e-7, 5))° "
      + "\(track[0].position.latitudeE7 < 0 ? "S" : "N") "
      + "\(fixed(Double(track[0].position.longitudeE7.magnitude) * 1e-7, 5))° "
      + "\(track[0].position.longitudeE7 < 0 ? "W" : "E")"
  }

  static func summary(_ sizes: [Int]) -> String {
    guard let first = sizes.first else { return "none" }
    let last = sizes.last!
    if sizes.count <= 3 { return sizes.map { grouped($0) }.joined(separator: ", ") }
    return "\(grouped(first)), \(grouped(sizes[1])) … \(grouped(last)) (\(sizes.count))"
  }

  // MARK: - Speed

  static func speed(_ options: Options) throws(BenchError) {
    var workload = try CodecWorkload()
    print("\n# wire-bench: speed\n")
    print(header())
    print(
      "- batch: \(workload.count) records (\(workload.mix)), consecutive sequence numbers, "
        + "one stream frame of \(grouped(workload.frame.readableBytes)) bytes "
        + "(\(fixed(Double(workload.frame.readableBytes) / Double(workload.count), 2)) bytes a record); "
        + "journal bodies \(grouped(workload.bodies.reduce(0) { $0 + $1.encoded().count })) bytes")
    print(
      "- \(options.runs) timed runs per operation of about \(Int(options.runSeconds * 1000)) ms "
        + "each (`ContinuousClock`), after a 50 ms warm-up; the median run is shown, with the "
        + "slowest and fastest; one thread")
    let results = Speed.measure(&workload, runs: options.runs, runSeconds: options.runSeconds)
    print(
      "\n| operation | records/s (median) | slowest run | fastest run | ns per record | batches per run |\n"
        + "| --- | ---: | ---: | ---: | ---: | ---: |")
    for result in results {
      let rates = result.recordsPerSecond
      print(
        "| \(result.operation.label) | \(grouped(Int(result.median.rounded()))) | "
          + "\(grouped(Int(rates.min()!.rounded()))) | \(grouped(Int(rates.max()!.rounded()))) | "
          + "\(fixed(1e9 / result.median, 1)) | \(grouped(result.batchesPerRun)) |")
    }
    let byOperation = Dictionary(
      uniqueKeysWithValues: results.map { ("\($0.operation)", $0.median) })
    if let encode = byOperation["wireEncode"], let body = byOperation["bodyEncode"],
      let decode = byOperation["wireDecode"], let bodyDecode = byOperation["bodyDecode"]
    {
      print(
        "\nWire encode runs at \(fixed(encode / body, 2))× the journal body encoding's records/s, "
          + "wire decode at \(fixed(decode / bodyDecode, 2))× the journal body decoding's (same "
          + "process, same records).")
    }
  }

  // MARK: - Allocations

  static func allocations() throws(BenchError) {
    guard let counter = MallocCounter() else {
      throw BenchError(
        "--allocations needs ordo-one's malloc interposer preloaded: "
          + "LD_PRELOAD=Benchmarks/.build/release/libMallocInterposerSwift.so (make wire-bench)")
    }
    var workload = try CodecWorkload()
    let probe = counter.count { consume([UInt8](repeating: 1, count: 100)) }
    guard probe.mallocs >= 1 else {
      throw BenchError("the malloc interposer is loaded but counted no allocation of a new array")
    }
    let batches = 100
    print("# wire-bench: allocations\n")
    print(header())
    print(
      "- counted by ordo-one's malloc interposer (preloaded), over \(batches) batches of "
        + "\(workload.count) records after 10 uncounted ones; mallocs = malloc + calloc + "
        + "growing realloc + aligned allocations")
    print(
      "\n| operation | mallocs per batch | mallocs per record | bytes requested per batch |\n"
        + "| --- | ---: | ---: | ---: |")
    for operation in CodecWorkload.Operation.allCases {
      for _ in 0..<10 { workload.run(operation) }
      let counted = counter.count {
        for _ in 0..<batches { workload.run(operation) }
      }
      let perBatch = Double(counted.mallocs) / Double(batches)
      print(
        "| \(operation.label) | \(fixed(perBatch, 2)) | "
          + "\(fixed(perBatch / Double(workload.count), 2)) | "
          + "\(grouped(counted.bytes / batches)) |")
    }
  }

  // MARK: - Report header

  static func header() -> String {
    "- date: \(MeasuredOn.dateUTC())\n- machine: \(MeasuredOn.cores()) cores, \(MeasuredOn.kernel())"
  }

}
