import CFuzzerDriver
import NIOCore
import OutpostWire

/// The process's entry point. SwiftPM links `main` as `FuzzStreamDecoder_main`, which hides
/// libFuzzer's own `main`, so this hands the arguments to libFuzzer's driver.
@_cdecl("FuzzStreamDecoder_main")
public func runFuzzer(
  _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> CInt {
  fuzzer_driver_main(argc, argv)
}

/// libFuzzer's entry point: the input is everything a peer sends on one stream connection.
///
/// A thrown ``WireError`` is the decoder doing its job; a trap is a bug. On top of "never
/// traps", four properties are checked:
///
/// 1. Single-step contract: `decode(from:session:)` consumes exactly one frame when it returns
///    a message, and nothing when it returns nil; on nil or a throw the session is unchanged.
/// 2. Chunking does not matter: feeding the bytes one at a time through ``StreamFrameDecoder``
///    gives the same messages, the same final error and the same session as decoding them all
///    at once.
/// 3. The encoder agrees with the decoder: the decoded messages (less skipped optional ones),
///    encoded in order on one connection, decode back to equal messages.
/// 4. The two ends stay in step: after every frame of that re-encoded stream, the sender's
///    ``WireSession`` equals the receiver's.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let input = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
  let whole = decodeAll(input)
  checkRoundTrip(whole.messages)
  let dripped = decodeDripFed(input)
  guard dripped.messages == whole.messages, dripped.error == whole.error,
    dripped.session == whole.session
  else {
    fatalError(
      """
      decoding byte by byte disagrees with decoding at once:
        at once:      \(whole)
        byte by byte: \(dripped)
      """)
  }
  return 0
}

/// What a receiver made of a byte stream: the messages, the error that stopped it if any, and
/// its session at the end.
private struct Outcome: CustomStringConvertible {
  var messages: [WireMessage] = []
  var error: WireError?
  var session = WireSession()

  var description: String {
    "\(messages) then \(error.map { "\($0)" } ?? "need more"), session \(session)"
  }
}

/// Decodes frames from `input` on one connection until the decoder needs more bytes or throws.
private func decodeAll(_ input: ByteBuffer) -> Outcome {
  var buffer = input
  var outcome = Outcome()
  while true {
    let before = buffer.readerIndex
    let sessionBefore = outcome.session
    do {
      guard let message = try StreamFrame.decode(from: &buffer, session: &outcome.session) else {
        guard buffer.readerIndex == before, outcome.session == sessionBefore else {
          fatalError("decode returned nil but consumed bytes or moved the session")
        }
        return outcome
      }
      guard buffer.readerIndex > before else {
        fatalError("decode returned \(message) without consuming a byte")
      }
      outcome.messages.append(message)
    } catch {
      guard outcome.session == sessionBefore else {
        fatalError("decode threw \(error) but moved the session")
      }
      outcome.error = error
      return outcome
    }
  }
}

/// Feeds `input` one byte at a time through ``StreamFrameDecoder``, asking for every message
/// after each byte, as `ByteToMessageHandler` does; at the end, as the connection closes.
private func decodeDripFed(_ input: ByteBuffer) -> Outcome {
  var decoder = StreamFrameDecoder()
  var buffer = ByteBufferAllocator().buffer(capacity: input.readableBytes)
  var outcome = Outcome()
  do {
    for byte in input.readableBytesView {
      buffer.writeInteger(byte)
      while let message = try decoder.decode(buffer: &buffer) {
        outcome.messages.append(message)
      }
    }
    let remaining = buffer.readableBytes
    if let message = try decoder.decodeLast(buffer: &buffer, seenEOF: true) {
      fatalError("decodeLast found \(message), which decode did not")
    }
    guard remaining == 0 else {
      fatalError("decodeLast accepted \(remaining) bytes left when the connection closed")
    }
  } catch let error as WireError {
    // Closing inside a frame is the one error only a decoder that sees the close can report.
    if buffer.readableBytes > 0, case .truncated = error.reason, error.offset == 0 {
      outcome.session = decoder.session
      return outcome
    }
    outcome.error = error
  } catch {
    fatalError("StreamFrameDecoder threw \(error), which is not a WireError")
  }
  outcome.session = decoder.session
  return outcome
}

/// Encodes `messages` in order on one connection and decodes each frame as it is written,
/// trapping unless every message comes back equal and both ends' sessions agree after it.
private func checkRoundTrip(_ messages: [WireMessage]) {
  var sender = WireSession()
  var receiver = WireSession()
  var stream = ByteBufferAllocator().buffer(capacity: 256)
  for message in messages {
    // A skipped optional message cannot be encoded, and leaves the session as it is.
    if case .skipped = message { continue }
    let senderBefore = sender
    do {
      try StreamFrame.write(message, into: &stream, session: &sender)
    } catch {
      guard sender == senderBefore else { fatalError("write threw \(error) but moved the session") }
      // Re-encoding can outgrow the frame: a record body that arrived as journal bytes may go
      // out in its (longer) wire form. Not a disagreement, but the rest of the stream depends
      // on this frame, so stop here.
      if case .frameTooLong = error { return }
      fatalError("decoded \(message), which the encoder refuses: \(error)")
    }
    let frame = stream.readableBytesView
    let decoded: WireMessage?
    do {
      decoded = try StreamFrame.decode(from: &stream, session: &receiver)
    } catch {
      fatalError("encoded \(message) as \(hex(frame)), which the decoder rejects: \(error)")
    }
    guard let decoded, stream.readableBytes == 0 else {
      fatalError("encoded \(message) as \(hex(frame)), which does not decode as one frame")
    }
    guard decoded == message else {
      fatalError("encoded \(message) as \(hex(frame)), which decodes as \(decoded)")
    }
    guard sender == receiver else {
      fatalError(
        """
        after \(message) (\(hex(frame))) the two ends disagree:
          sender's session:   \(sender)
          receiver's session: \(receiver)
        """)
    }
    stream.discardReadBytes()
  }
}

private func hex(_ bytes: ByteBufferView) -> String {
  bytes.map { byte in
    let digits = String(byte, radix: 16)
    return digits.count < 2 ? "0" + digits : digits
  }.joined()
}
