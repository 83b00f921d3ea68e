import ArgumentParser
import NIOCore
import OutpostControl
import OutpostCore
import OutpostWire
import OutpostWireJSON

#if canImport(Glibc)
  import Glibc
#endif

/// `outpostctl wire`: the wire protocol by hand, for sizing, debugging and second
/// implementations.
struct WireCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "wire",
    abstract: "Encode records and messages to wire frames, or decode frames, as hex.",
    discussion: """
      See docs/protocol.md for the bytes. Both commands read standard input and write one line \
      per frame or message to standard output. Exit status: 0; 1 for input that is not valid \
      (the message says which line or byte); 64 for bad options.
      """,
    subcommands: [WireEncode.self, WireDecode.self]
  )
}

/// Which framing form.
enum WireForm: String, ExpressibleByArgument, CaseIterable {
  case stream
  case datagram
}

/// Which direction a datagram travels.
enum WireDirection: String, ExpressibleByArgument, CaseIterable {
  case uplink
  case downlink

  var direction: DatagramDirection { self == .uplink ? .uplink : .downlink }
}

/// The datagram key options, shared by encode and decode.
struct DatagramKeyOptions: ParsableArguments {
  /// `--key`: the 32-byte datagram secret as 64 hex digits.
  @Option(help: "The device's 32-byte datagram secret, as 64 hex digits (datagram form).")
  var key: String?

  /// `--key-file`: a file holding the secret in hex.
  @Option(help: "A file holding the secret as hex (datagram form).")
  var keyFile: String?

  /// `--direction`: which way the datagrams travel.
  @Option(help: "uplink (box to station) or downlink (station to box).")
  var direction: WireDirection = .uplink

  /// The keys, or a failure that says what is wrong with the options.
  func keys() throws(CommandFailure) -> DatagramKeys {
    var text = key
    if let keyFile {
      guard let contents = readWholeFile(keyFile) else {
        throw CommandFailure(message: "\(keyFile): cannot read the key file", status: 64)
      }
      text = contents
    }
    guard let text else {
      throw CommandFailure(message: "the datagram form needs --key or --key-file", status: 64)
    }
    let trimmed = text.filter { !$0.isWhitespace }
    guard let bytes = Hex.decode(trimmed), bytes.count == WireLimits.datagramKeyLength else {
      throw CommandFailure(message: "the datagram key must be 64 hex digits (32 bytes)", status: 64)
    }
    do {
      return try DatagramKeys(secret: bytes)
    } catch {
      throw CommandFailure(message: "\(error)", status: 64)
    }
  }
}

/// `outpostctl wire encode`.
struct WireEncode: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "encode",
    abstract: "Read records and messages as JSON lines; print each frame as hex.",
    discussion: """
      Each input line is one JSON object. A line with a "type" member is a message, in the \
      form `outpostctl wire decode` prints. Any other line is a record, in the form \
      `outpostctl journal dump --json` prints ("seq", "kind", "priority", "time" with \
      "wall_ms" and "clock_trusted" and, for untrusted times, "boot" and "since_boot_ms", and \
      "body" as hex), or with "content" holding the body's fields instead of "body". As the \
      agent sends them, records with a trusted clock travel without boot and since_boot_ms. \
      Consecutive records go into batches: up to --max-records a batch in the stream form, as \
      many as fit --max-bytes in the datagram form. Output: one frame per line, in hex.
      """
  )

  @Option(help: "stream (inside TLS) or datagram (self-authenticated).")
  var form: WireForm = .stream

  @Option(help: "The journal epoch of the records, 16 hex digits.")
  var epoch: String = "0000000000000001"

  @Option(help: "The most records in one batch.")
  var maxRecords: Int = WireLimits.maxRecordsPerBatch

  @Option(
    help: "Datagram form: the largest datagram, tag included (70 for a satellite short message).")
  var maxBytes: Int = WireLimits.maxDatagramLength

  @Option(help: "Datagram form: the device number.")
  var device: UInt32 = 1

  @Option(help: "Datagram form: the key index (0–127).")
  var keyIndex: UInt8 = 0

  @Flag(help: "Datagram form: leave the epoch out of batches and bind it into the tag instead.")
  var impliedEpoch = false

  @Option(help: "Datagram form: the frame counter of the first datagram; later ones count up.")
  var counter: UInt64 = 1

  @OptionGroup var keyOptions: DatagramKeyOptions

  func validate() throws {
    guard (1...WireLimits.maxRecordsPerBatch).contains(maxRecords) else {
      throw ValidationError("--max-records must be 1–\(WireLimits.maxRecordsPerBatch)")
    }
    guard UInt64(epoch, radix: 16) != nil else {
      throw ValidationError("--epoch must be a 64-bit hex number")
    }
    guard counter > 0 else { throw ValidationError("--counter starts at 1") }
    guard keyIndex < 0x80 else { throw ValidationError("--key-index must be 0–127") }
  }

  /// One parsed input line.
  private enum InputLine {
    case message(WireMessage)
    case record(WireRecord)
  }

  func run() throws {
    try reportingFailure { () throws(CommandFailure) in
      let keys = form == .datagram ? try keyOptions.keys() : nil
      var encoder = FrameOutput(
        command: self, keys: keys, epoch: UInt64(epoch, radix: 16)!, counter: counter)
      var lineNumber = 0
      while let line = readLine(strippingNewline: true) {
        lineNumber += 1
        if line.allSatisfy(\.isWhitespace) { continue }
        let parsed: InputLine
        do throws(JSONInputError) {
          if line.contains("\"type\"") {
            parsed = .message(try WireJSON.parse(MessageJSON.self, from: line).wireMessage())
          } else {
            var record = try WireJSON.parse(RecordJSON.self, from: line).wireRecord()
            // As the agent sends them: a trusted time needs no monotonic stamp.
            if record.clockTrusted { record.monotonic = nil }
            parsed = .record(record)
          }
        } catch {
          throw CommandFailure(message: "wire encode: line \(lineNumber): \(error)")
        }
        switch parsed {
        case .message(let message):
          try encoder.flush(line: lineNumber)
          try encoder.emit(message, line: lineNumber)
        case .record(let record):
          try encoder.add(record, line: lineNumber)
        }
      }
      try encoder.flush(line: lineNumber)
      encoder.output.flush()
    }
  }
}

/// Batches records and writes frames for ``WireEncode``.
private struct FrameOutput {
  let command: WireEncode
  let keys: DatagramKeys?
  let epoch: UInt64
  var counter: UInt64
  var pending: [WireRecord] = []
  var output = LineWriter(.output)
  /// The stream form codes each frame against the ones before it (a hello opens a session).
  var session = WireSession()

  init(command: WireEncode, keys: DatagramKeys?, epoch: UInt64, counter: UInt64) {
    self.command = command
    self.keys = keys
    self.epoch = epoch
    self.counter = counter
  }

  mutating func add(_ record: WireRecord, line: Int) throws(CommandFailure) {
    if let last = pending.last, record.seq <= last.seq { try flush(line: line) }
    pending.append(record)
    if command.form == .stream, pending.count == command.maxRecords { try flush(line: line) }
    if command.form == .datagram {
      if pending.count == command.maxRecords {
        try flushDatagrams(line: line, final: true)
      } else {
        try flushDatagrams(line: line, final: false)
      }
    }
  }

  mutating func flush(line: Int) throws(CommandFailure) {
    guard !pending.isEmpty else { return }
    if command.form == .stream {
      let batch = WireMessage.batch(Batch(epoch: epoch, records: pending))
      pending.removeAll()
      try emit(batch, line: line)
    } else {
      try flushDatagrams(line: line, final: true)
    }
  }

  /// Seals the pending records into datagrams: while the pending records no longer fit one
  /// datagram, the ones that do go out; with `final`, the rest go too.
  private mutating func flushDatagrams(line: Int, final: Bool) throws(CommandFailure) {
    while !pending.isEmpty {
      if !final, try fits(pending.count) { return }
      var count = pending.count
      while count > 0, try !fits(count) { count -= 1 }
      guard count > 0 else {
        throw CommandFailure(
          message:
            "wire encode: line \(line): record \(pending[0].seq) alone does not fit a \(command.maxBytes)-byte datagram"
        )
      }
      let batch = WireMessage.batch(Batch(epoch: epoch, records: Array(pending[..<count])))
      pending.removeFirst(count)
      try emit(batch, line: line)
    }
  }

  private func fits(_ count: Int) throws(CommandFailure) -> Bool {
    let batch = WireMessage.batch(Batch(epoch: epoch, records: Array(pending[..<count])))
    do {
      return try seal(batch).readableBytes <= command.maxBytes
    } catch .frameTooLong {
      return false
    } catch {
      throw CommandFailure(message: "wire encode: \(error)")
    }
  }

  private func seal(_ message: WireMessage) throws(WireEncodingError) -> ByteBuffer {
    let header = DatagramHeader(
      direction: command.keyOptions.direction.direction, device: command.device,
      keyIndex: command.keyIndex, epochImplied: command.impliedEpoch, counter: counter)
    return try Datagram.seal(message, header: header, keys: keys!, epoch: epoch)
  }

  mutating func emit(_ message: WireMessage, line: Int) throws(CommandFailure) {
    do {
      let bytes: ByteBuffer
      if command.form == .stream {
        var frame = ByteBuffer()
        try StreamFrame.write(message, into: &frame, session: &session)
        bytes = frame
      } else {
        bytes = try seal(message)
        counter += 1
      }
      output.line(Hex.encode(bytes.readableBytesView))
    } catch {
      throw CommandFailure(message: "wire encode: line \(line): \(error)")
    }
  }
}

/// `outpostctl wire decode`.
struct WireDecode: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "decode",
    abstract: "Read frames as hex; print each message as one JSON line.",
    discussion: """
      Stream form: the hex on standard input is one byte stream (line breaks and spaces are \
      ignored) holding any number of frames. Datagram form: one datagram per line; a replayed \
      counter is reported like any other error. A datagram's message carries a "datagram" \
      member with its clear header. The first malformed frame stops the command with status 1 \
      and a message naming the frame, the byte and what was wrong.
      """
  )

  @Option(help: "stream or datagram.")
  var form: WireForm = .stream

  @Option(
    help: "Datagram form: the journal epoch known for the device, for implied-epoch datagrams.")
  var epoch: String?

  @OptionGroup var keyOptions: DatagramKeyOptions

  func validate() throws {
    if let epoch, UInt64(epoch, radix: 16) == nil {
      throw ValidationError("--epoch must be a 64-bit hex number")
    }
  }

  func run() throws {
    try reportingFailure { () throws(CommandFailure) in
      var output = LineWriter(.output)
      defer { output.flush() }
      if form == .stream {
        var text = ""
        while let line = readLine(strippingNewline: true) { text += line }
        guard let bytes = Hex.decode(text.filter { !$0.isWhitespace }) else {
          throw CommandFailure(message: "wire decode: the input is not hex")
        }
        var buffer = ByteBuffer(bytes: bytes)
        var session = WireSession()
        var frame = 0
        while buffer.readableBytes > 0 {
          frame += 1
          let start = buffer.readerIndex
          do throws(WireError) {
            guard let message = try StreamFrame.decode(from: &buffer, session: &session) else {
              throw WireError(
                .truncated(field: "frame (input ends inside it)"), at: buffer.readableBytes)
            }
            output.line(WireJSON.line(MessageJSON(message)))
          } catch {
            output.flush()
            throw CommandFailure(
              message: "wire decode: frame \(frame) (input byte \(start)): \(error) [\(error.code)]"
            )
          }
        }
      } else {
        let keys = try keyOptions.keys()
        var windows: [String: ReplayWindow] = [:]
        var lineNumber = 0
        while let line = readLine(strippingNewline: true) {
          lineNumber += 1
          let hex = line.filter { !$0.isWhitespace }
          if hex.isEmpty { continue }
          guard let bytes = Hex.decode(hex) else {
            output.flush()
            throw CommandFailure(message: "wire decode: line \(lineNumber): not hex")
          }
          let datagram = ByteBuffer(bytes: bytes)
          do throws(WireError) {
            let header = try Datagram.readHeader(datagram)
            let name = "\(header.device)/\(header.keyIndex)/\(header.direction)"
            var window = windows[name] ?? ReplayWindow()
            let message = try Datagram.open(
              datagram, header: header, expecting: keyOptions.direction.direction, keys: keys,
              window: &window, epoch: epoch.flatMap { UInt64($0, radix: 16) })
            windows[name] = window
            output.line(DatagramLine(header: header, message: message).json)
          } catch {
            output.flush()
            throw CommandFailure(
              message: "wire decode: line \(lineNumber): \(error) [\(error.code)]")
          }
        }
      }
    }
  }
}

/// A decoded datagram as JSON: its message, plus the clear header.
private struct DatagramLine {
  var header: DatagramHeader
  var message: WireMessage

  var json: String {
    let message = WireJSON.line(MessageJSON(message))
    var header = JSONObject()
    header.add("direction", self.header.direction.description)
    header.add("device", UInt64(self.header.device))
    header.add("key_index", UInt64(self.header.keyIndex))
    header.add("epoch_implied", self.header.epochImplied)
    header.add("counter", self.header.counter)
    // The message object with the header added as its first member.
    return "{\"datagram\":\(header.json)," + message.dropFirst()
  }
}

/// The contents of a small file, or nil when it cannot be read.
private func readWholeFile(_ path: String) -> String? {
  guard let file = fopen(path, "r") else { return nil }
  defer { fclose(file) }
  var bytes: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let n = fread(&chunk, 1, chunk.count, file)
    if n <= 0 { break }
    bytes.append(contentsOf: chunk[..<n])
    if bytes.count > 1 << 16 { return nil }
  }
  return String(decoding: bytes, as: UTF8.self)
}
