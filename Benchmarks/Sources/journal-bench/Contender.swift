import OutpostCore

/// One way of making records durable, set up for one batch size on one file.
protocol Contender: AnyObject {
  /// Writes the next batch and returns once it is on stable storage.
  func writeDurableBatch() throws
  /// Closes and removes the contender's files.
  func finish() throws
}

/// The contenders, in the order of the table's columns.
enum ContenderKind: Int, CaseIterable, CustomStringConvertible {
  case journal
  /// The bar's baseline: the very bytes the journal writes (its frames), raw.
  case raw
  /// For reference: only the 64-byte bodies, raw, without any framing.
  case rawBodies
  case sqlite

  var description: String {
    switch self {
    case .journal: "journal"
    case .raw: "raw"
    case .rawBodies: "raw-bodies"
    case .sqlite: "SQLite"
    }
  }
}

/// The bytes every contender writes: `count` record bodies of `bodyLength` bytes each, the same
/// for every contender.
struct Workload {
  static let bodyLength = 64
  /// The kind, priority and time every record carries.
  static let kind = RecordKind.test
  static let priority = Priority.normal
  static let time = RecordTime(
    wallMs: 1_795_305_600_000, clockTrusted: true, boot: 1, sinceBootMs: 60_000)

  let bodies: [[UInt8]]

  init(batchSize: Int) {
    // A fixed xorshift sequence: incompressible-looking bytes, identical on every run.
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var bodies: [[UInt8]] = []
    for _ in 0..<batchSize {
      var body: [UInt8] = []
      body.reserveCapacity(Self.bodyLength)
      while body.count < Self.bodyLength {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        withUnsafeBytes(of: state.littleEndian) { body.append(contentsOf: $0) }
      }
      bodies.append(Array(body.prefix(Self.bodyLength)))
    }
    self.bodies = bodies
  }

  /// The bodies back to back: what the bodies-only reference writes for one batch.
  var concatenated: [UInt8] { bodies.flatMap { $0 } }

  /// The batch exactly as the journal frames it (sequence numbers, times, checksums and all):
  /// what the raw baseline writes for one batch, so that the comparison is of the same bytes.
  var framed: [UInt8] {
    var offset: UInt64 = 0
    var bytes: [UInt8] = []
    for (i, body) in bodies.enumerated() {
      let record = Record(
        seq: UInt64(i), kind: Self.kind, priority: Self.priority, time: Self.time, body: body)
      let frame = JournalFrame.encode(record, logicalOffset: offset)
      bytes += frame
      offset += UInt64(frame.count)
    }
    return bytes
  }
}

/// A failed system call, with the errno text.
struct SystemCallError: Error, CustomStringConvertible {
  var call: String
  var path: String
  var code: Int32
  var description: String { "\(call) \(path): \(errorText(code))" }
}
