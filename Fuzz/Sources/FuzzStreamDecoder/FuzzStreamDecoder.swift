import NIOCore
import OutpostWire

/// libFuzzer's entry point: the input is what a peer could send on a stream connection.
///
/// A thrown ``WireError`` is the decoder doing its job; a trap is a bug. Three properties are
/// checked on top of "never traps":
///
/// 1. Single-step contract: `decode(from:)` consumes exactly one frame when it returns a message
///    and nothing when it returns nil.
/// 2. Chunking does not matter: feeding the bytes one at a time through ``StreamFrameDecoder``
///    gives the same messages and the same final error as decoding them all at once.
/// 3. The encoder agrees with the decoder: every decoded message (other than a skipped optional
///    one) encodes, decodes back to an equal message, and encodes again to the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let input = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
  let whole = decodeAll(input)
  for message in whole.messages { checkRoundTrip(message) }
  let dripped = decodeDripFed(input)
  guard dripped.messages == whole.messages, dripped.error == whole.error else {
    fatalError(
      """
      decoding byte by byte disagrees with decoding at once:
        at once:      \(whole.messages) then \(whole.error.map { "\($0)" } ?? "need more")
        byte by byte: \(dripped.messages) then \(dripped.error.map { "\($0)" } ?? "need more")
      """)
  }
  return 0
}

/// What a decoder made of a byte stream: the messages, then the error that stopped it, if any.
private struct Outcome {
  var messages: [WireMessage] = []
  var error: WireError?
}

/// Decodes frames from `input` until the decoder needs more bytes or throws.
private func decodeAll(_ input: ByteBuffer) -> Outcome {
  var buffer = input
  var outcome = Outcome()
  while true {
    let before = buffer.readerIndex
    do {
      guard let message = try StreamFrame.decode(from: &buffer) else {
        guard buffer.readerIndex == before else {
          fatalError("decode(from:) returned nil but consumed \(buffer.readerIndex - before) bytes")
        }
        return outcome
      }
      guard buffer.readerIndex > before else {
        fatalError("decode(from:) returned \(message) without consuming a byte")
      }
      outcome.messages.append(message)
    } catch {
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
      fatalError("decodeLast(buffer:seenEOF:) found \(message) that decode(buffer:) did not")
    }
    guard remaining == 0 else {
      fatalError("decodeLast(buffer:seenEOF:) accepted \(remaining) bytes left at the close")
    }
  } catch let error as WireError {
    // The close inside a frame is the one error only the drip-fed decoder can see.
    if buffer.readableBytes > 0, case .truncated = error.reason, error.offset == 0 {
      return outcome
    }
    outcome.error = error
  } catch {
    fatalError("StreamFrameDecoder threw \(error), which is not a WireError")
  }
  return outcome
}

/// Traps unless `message` survives encode → decode → encode unchanged.
private func checkRoundTrip(_ message: WireMessage) {
  if case .skipped = message { return }
  let encoded: ByteBuffer
  do {
    encoded = try StreamFrame.encode(message)
  } catch {
    // A decoded message can outgrow the frame limit when re-encoded: a record body that arrived
    // as journal bytes may go out in its (longer) wire form. That is not a disagreement.
    if case .frameTooLong = error { return }
    fatalError("decoded \(message), which the encoder refuses: \(error)")
  }
  var buffer = encoded
  let decoded: WireMessage?
  do {
    decoded = try StreamFrame.decode(from: &buffer)
  } catch {
    fatalError("encoded \(message) as \(hex(encoded)), which the decoder rejects: \(error)")
  }
  guard let decoded, buffer.readableBytes == 0 else {
    fatalError("encoded \(message) as \(hex(encoded)), which does not decode as one whole frame")
  }
  guard decoded == message else {
    fatalError(
      "encoded \(message) as \(hex(encoded)), which decodes as a different message: \(decoded)")
  }
  guard let again = try? StreamFrame.encode(decoded), again == encoded else {
    fatalError("\(message) does not encode to the same bytes twice")
  }
}

private func hex(_ buffer: ByteBuffer) -> String {
  buffer.readableBytesView.map { byte in
    let digits = String(byte, radix: 16)
    return digits.count < 2 ? "0" + digits : digits
  }.joined()
}
