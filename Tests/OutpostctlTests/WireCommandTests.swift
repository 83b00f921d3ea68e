import Glibc
import OutpostTestKit
import Testing

/// `outpostctl wire encode|decode`, run as the real binary with input from a file.
@Suite("outpostctl wire")
struct WireCommandTests {
  static let key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
  static let sos =
    #"{"seq":100000,"kind":"sos","time":{"wall_ms":1795316400000,"clock_trusted":true},"content":{"presses":1,"position":{"lat_e7":479180000,"lon_e7":1069170000,"alt_dm":13500,"hdop_centi":90,"satellites":9}}}"#

  /// Runs `outpostctl ARGUMENTS < input` through the shell.
  func run(_ arguments: String, input: String, in directory: TemporaryDirectory) throws
    -> ChildResult
  {
    let file = directory.file("input")
    try FileBytes.write(Array(input.utf8), to: file)
    return try runChild("/bin/sh", ["-c", "'\(try Outpostctl.path())' \(arguments) < '\(file)'"])
  }

  @Test("The SOS with a fix seals into one datagram of at most 64 bytes and reads back")
  func sosDatagram() throws {
    let directory = try TemporaryDirectory("wire-sos")
    defer { directory.remove() }
    let encoded = try run(
      "wire encode --form datagram --key \(Self.key) --device 5000 --counter 100000 --epoch 5eed0f0a7b072026",
      input: Self.sos + "\n", in: directory)
    #expect(encoded.ending == .exited(0), "\(encoded.errorOutput)")
    let hex = try #require(encoded.lines.first)
    #expect(encoded.lines.count == 1)
    #expect(hex.utf8.count / 2 <= 64)
    // The golden vector datagram-sos holds exactly these bytes.
    #expect(hex.hasPrefix("d1882700a08d06"))
    let decoded = try run(
      "wire decode --form datagram --key \(Self.key)", input: hex + "\n", in: directory)
    #expect(decoded.ending == .exited(0), "\(decoded.errorOutput)")
    let line = try #require(decoded.lines.first)
    #expect(line.contains(#""counter":100000"#))
    #expect(line.contains(#""lat_e7":479180000"#))
    #expect(line.contains(#""type":"batch""#))
    // With the epoch implied, eight bytes fewer, and the receiver must know the epoch.
    let implied = try run(
      "wire encode --form datagram --key \(Self.key) --device 5000 --counter 100001 --epoch 5eed0f0a7b072026 --implied-epoch",
      input: Self.sos + "\n", in: directory)
    let impliedHex = try #require(implied.lines.first)
    #expect(impliedHex.utf8.count / 2 == hex.utf8.count / 2 - 8)
    let unknown = try run(
      "wire decode --form datagram --key \(Self.key)", input: impliedHex + "\n", in: directory)
    #expect(unknown.ending == .exited(1))
    #expect(unknown.errorOutput.contains("[epoch-unknown]"))
    let known = try run(
      "wire decode --form datagram --key \(Self.key) --epoch 5eed0f0a7b072026",
      input: impliedHex + "\n",
      in: directory)
    #expect(known.ending == .exited(0), "\(known.errorOutput)")
    #expect(try #require(known.lines.first).contains(#""epoch":"5eed0f0a7b072026""#))
  }

  @Test("Stream form: many records batch, decode prints JSON that encodes back to the same frames")
  func streamRoundTrip() throws {
    let directory = try TemporaryDirectory("wire-stream")
    defer { directory.remove() }
    // A connection: the hello names the epoch, so the batches after it leave it out.
    var input =
      #"{"type":"hello","version_min":1,"version_max":1,"device":"yurt-7","capabilities":2,"epoch":"0000000000000001","ack_floor":0,"next_seq":1,"boot":1,"wall_ms":1795316395000}"#
      + "\n"
    for i in 0..<300 {
      input +=
        #"{"seq":\#(i + 1),"kind":"position","time":{"wall_ms":\#(1_795_316_400_000 + i * 5000),"clock_trusted":true},"content":{"position":{"lat_e7":\#(479_180_000 + i * 700),"lon_e7":\#(1_069_170_000 - i * 300)}}}"#
        + "\n"
    }
    input += #"{"type":"ping","nonce":5}"# + "\n"
    let encoded = try run("wire encode --form stream", input: input, in: directory)
    #expect(encoded.ending == .exited(0), "\(encoded.errorOutput)")
    #expect(encoded.lines.count == 4, "the hello, 256 records, 44 records, then the ping")
    let decoded = try run("wire decode", input: encoded.output, in: directory)
    #expect(decoded.ending == .exited(0), "\(decoded.errorOutput)")
    #expect(decoded.lines.count == 4)
    #expect(decoded.lines.dropFirst().first?.contains(#""epoch":"0000000000000001""#) == true)
    // A frame of a session cannot be read without the frames before it.
    let alone = try run("wire decode", input: encoded.lines[1], in: directory)
    #expect(alone.ending == .exited(1))
    #expect(alone.errorOutput.contains("no hello named one"))
    #expect(decoded.lines.last == #"{"nonce":5,"type":"ping"}"#)
    let again = try run("wire encode --form stream", input: decoded.output, in: directory)
    #expect(again.lines == encoded.lines)
  }

  @Test("Satellite budget: --max-bytes 70 splits a track into datagrams that each fit")
  func datagramBudget() throws {
    let directory = try TemporaryDirectory("wire-budget")
    defer { directory.remove() }
    var input = ""
    for i in 0..<20 {
      input +=
        #"{"seq":\#(i + 1),"kind":"position","time":{"wall_ms":\#(1_795_316_400_000 + i * 5000),"clock_trusted":true},"content":{"position":{"lat_e7":\#(479_180_000 + i * 700),"lon_e7":\#(1_069_170_000 - i * 300)}}}"#
        + "\n"
    }
    let encoded = try run(
      "wire encode --form datagram --key \(Self.key) --max-bytes 70", input: input, in: directory)
    #expect(encoded.ending == .exited(0), "\(encoded.errorOutput)")
    #expect(encoded.lines.count > 1)
    #expect(encoded.lines.allSatisfy { $0.utf8.count / 2 <= 70 })
    let decoded = try run(
      "wire decode --form datagram --key \(Self.key)", input: encoded.output, in: directory)
    #expect(decoded.ending == .exited(0), "\(decoded.errorOutput)")
    let records = decoded.lines.map { line in
      line.utf8.indices.filter { line.utf8[$0...].starts(with: #""seq":"#.utf8) }.count
    }.reduce(0, +)
    #expect(records == 20)
  }

  @Test("Bad input: a clear message naming the line or byte, and a non-zero status")
  func badInput() throws {
    let directory = try TemporaryDirectory("wire-bad")
    defer { directory.remove() }
    let overlong = try run("wire decode", input: "0c05ffffffffffffffffffff01\n", in: directory)
    #expect(overlong.ending == .exited(1))
    #expect(
      overlong.errorOutput.contains(
        "frame 1 (input byte 0): varint nonce does not fit 64 bits at byte 2 [varint-overflow]"))
    let truncated = try run("wire decode", input: "0305\n", in: directory)
    #expect(truncated.ending == .exited(1))
    #expect(truncated.errorOutput.contains("[truncated]"))
    let notHex = try run("wire decode", input: "zz\n", in: directory)
    #expect(notHex.ending == .exited(1))
    let missing = try run(
      "wire encode", input: #"{"seq":1,"kind":"sos","time":{"wall_ms":1}}"# + "\n", in: directory)
    #expect(missing.ending == .exited(1))
    #expect(missing.errorOutput.contains("line 1: time.clock_trusted: missing"))
    let unknownKind = try run(
      "wire encode",
      input: "\n" + #"{"seq":1,"kind":"nope","time":{"wall_ms":1,"clock_trusted":true},"body":""}"#,
      in: directory)
    #expect(unknownKind.errorOutput.contains("line 2: kind: unknown kind \"nope\""))
    let noKey = try run("wire encode --form datagram", input: Self.sos, in: directory)
    #expect(noKey.ending == .exited(64))
    let sealed = try run(
      "wire encode --form datagram --key \(Self.key)", input: Self.sos, in: directory)
    let replay = try run(
      "wire decode --form datagram --key \(Self.key)", input: sealed.output + sealed.output,
      in: directory)
    #expect(replay.ending == .exited(1))
    #expect(replay.lines.count == 1, "the first copy decodes")
    #expect(
      replay.errorOutput.contains(
        "line 2: frame counter 1 was already accepted (replay) at byte 3 [replayed]"))
    var tampered = Array(try #require(sealed.lines.first))
    tampered[tampered.count - 1] = tampered[tampered.count - 1] == "0" ? "1" : "0"
    let forged = try run(
      "wire decode --form datagram --key \(Self.key)", input: String(tampered), in: directory)
    #expect(forged.ending == .exited(1))
    #expect(forged.errorOutput.contains("[authentication-failed]"))
  }
}
