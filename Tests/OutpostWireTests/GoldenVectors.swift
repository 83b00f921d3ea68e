import FoundationEssentials
import NIOCore
import OutpostCore
import OutpostWire
import OutpostWireJSON
import Testing

/// The golden vectors file: `Tests/OutpostWireTests/Vectors/wire-v1.json`, described in
/// `docs/protocol.md`. A second implementation checks itself against the same file.
struct VectorFile: Codable {
  var protocolVersion: Int
  /// The 32-byte datagram secret every datagram vector was sealed with, as hex.
  var datagramSecret: String
  var vectors: [Vector]

  enum CodingKeys: String, CodingKey {
    case protocolVersion = "protocol_version"
    case datagramSecret = "datagram_secret"
    case vectors
  }

  static let path: String = {
    let here = #filePath
    return String(here[..<here.lastIndex(of: "/")!]) + "/Vectors/wire-v1.json"
  }()
}

struct Vector: Codable {
  var name: String
  /// `stream` or `datagram`.
  var form: String
  var note: String
  var hex: String
  /// For datagrams: the clear header.
  var datagram: DatagramJSON?
  /// For datagrams: the receiver's replay window before this one arrives (fresh if absent).
  var window: WindowJSON?
  /// For datagrams whose epoch is implied: the epoch the receiver knows for the device.
  var epoch: String?
  /// The decoded message, for valid vectors of one frame.
  var message: MessageJSON?
  /// The decoded messages, for a stream of several frames decoded in one session.
  var messages: [MessageJSON]?
  /// Whether encoding `message` gives exactly `hex` (false where the bytes carry something the
  /// encoder never writes, such as an extension).
  var canonical: Bool?
  /// The error a decoder must report, for malformed vectors.
  var error: ErrorJSON?
}

struct DatagramJSON: Codable, Hashable {
  var direction: String
  var device: UInt32
  var keyIndex: UInt8
  var epochImplied: Bool
  var counter: UInt64

  init(_ header: DatagramHeader) {
    direction = header.direction.description
    device = header.device
    keyIndex = header.keyIndex
    epochImplied = header.epochImplied
    counter = header.counter
  }

  var header: DatagramHeader {
    DatagramHeader(
      direction: direction == "station-to-box" ? .downlink : .uplink, device: device,
      keyIndex: keyIndex, epochImplied: epochImplied, counter: counter)
  }

  enum CodingKeys: String, CodingKey {
    case direction, device
    case keyIndex = "key_index"
    case epochImplied = "epoch_implied"
    case counter
  }
}

struct WindowJSON: Codable {
  var highest: UInt64
  var seen: UInt64
}

struct ErrorJSON: Codable, Hashable {
  var code: String
  var offset: Int
  var text: String
}

/// The result of decoding a vector's bytes.
enum VectorOutcome {
  case message(MessageJSON, DatagramJSON?)
  case messages([MessageJSON])
  case error(WireError)
}

/// Decodes a vector as a receiver would.
func decodeVector(_ vector: Vector, secret: [UInt8]) -> VectorOutcome {
  let bytes = ByteBuffer(bytes: Hex.decode(vector.hex)!)
  do throws(WireError) {
    if vector.form == "stream" {
      var buffer = bytes
      var session = WireSession()
      var messages: [MessageJSON] = []
      while buffer.readableBytes > 0 {
        guard let message = try StreamFrame.decode(from: &buffer, session: &session) else {
          return .error(WireError(.truncated(field: "frame"), at: 0))
        }
        messages.append(MessageJSON(message))
      }
      return vector.messages == nil ? .message(messages[0], nil) : .messages(messages)
    }
    let header = try Datagram.readHeader(bytes)
    var window =
      vector.window.map { ReplayWindow(highest: $0.highest, seen: $0.seen) } ?? ReplayWindow()
    let expecting = vector.datagram?.header.direction ?? .uplink
    let message = try Datagram.open(
      bytes, header: header, expecting: expecting, keys: try! DatagramKeys(secret: secret),
      window: &window, epoch: vector.epoch.flatMap { UInt64($0, radix: 16) })
    return .message(MessageJSON(message), DatagramJSON(header))
  } catch {
    return .error(error)
  }
}

@Suite("Golden vectors")
struct GoldenVectorTests {
  static func load() throws -> VectorFile {
    let text = try String(contentsOfFile: VectorFile.path, encoding: .utf8)
    return try JSONDecoder().decode(VectorFile.self, from: Data(text.utf8))
  }

  @Test("Every vector decodes to its meaning, or fails with its error at its offset")
  func decodeEveryVector() throws {
    let file = try Self.load()
    let secret = try #require(Hex.decode(file.datagramSecret))
    #expect(file.vectors.count >= 30)
    for vector in file.vectors {
      switch (decodeVector(vector, secret: secret), vector.message, vector.error) {
      case (.message(let got, let header), let expected?, nil):
        #expect(got == expected, "\(vector.name)")
        #expect(header == vector.datagram, "\(vector.name)")
      case (.messages(let got), nil, nil):
        #expect(got == vector.messages, "\(vector.name)")
      case (.error(let got), nil, let expected?):
        #expect(got.code == expected.code, "\(vector.name): \(got)")
        #expect(got.offset == expected.offset, "\(vector.name): \(got)")
        #expect(got.description == expected.text, "\(vector.name)")
      case (let outcome, _, _):
        Issue.record("\(vector.name): unexpected outcome \(outcome)")
      }
    }
  }

  @Test("Every canonical vector's message encodes to exactly its bytes")
  func encodeEveryVector() throws {
    let file = try Self.load()
    let keys = try DatagramKeys(secret: try #require(Hex.decode(file.datagramSecret)))
    for vector in file.vectors where vector.canonical ?? true {
      if let messages = vector.messages {
        var session = WireSession()
        var bytes = ByteBuffer()
        for json in messages {
          try StreamFrame.write(try json.wireMessage(), into: &bytes, session: &session)
        }
        #expect(Hex.encode(bytes.readableBytesView) == vector.hex, "\(vector.name)")
        continue
      }
      guard let json = vector.message else { continue }
      let message = try json.wireMessage()
      let bytes: ByteBuffer
      if let header = vector.datagram {
        bytes = try Datagram.seal(
          message, header: header.header, keys: keys,
          epoch: vector.epoch.flatMap { UInt64($0, radix: 16) })
      } else {
        bytes = try StreamFrame.encode(message)
      }
      #expect(Hex.encode(bytes.readableBytesView) == vector.hex, "\(vector.name)")
    }
  }

  @Test("The vectors file is what the cases produce (set OUTPOST_WRITE_VECTORS=1 to rewrite it)")
  func vectorsFileIsCurrent() throws {
    let generated = try VectorCases.file()
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let text = String(decoding: try encoder.encode(generated), as: UTF8.self) + "\n"
    if ProcessEnvironment.value("OUTPOST_WRITE_VECTORS") == "1" {
      try text.write(toFile: VectorFile.path, atomically: true, encoding: .utf8)
    }
    let stored = try String(contentsOfFile: VectorFile.path, encoding: .utf8)
    #expect(stored == text, "the vectors file differs from the cases; review and regenerate")
  }
}
