import NIOCore

/// The stream form, carried inside TLS on TCP: `varint length | u8 type | payload`, where the
/// length counts the type byte and the payload and is at most ``WireLimits/maxFrameLength``.
public enum StreamFrame {
  /// Appends `message` as one stream frame.
  ///
  /// - Throws: ``WireEncodingError`` when the message breaks a limit, including the frame
  ///   length; nothing is appended then.
  public static func write(_ message: WireMessage, into buffer: inout ByteBuffer)
    throws(WireEncodingError)
  {
    var session = WireSession()
    try write(message, into: &buffer, session: &session)
  }

  /// Appends `message` as one stream frame of the connection whose sender state is `session`,
  /// and updates the session (see ``WireSession``). On a throw neither changes.
  public static func write(
    _ message: WireMessage, into buffer: inout ByteBuffer, session: inout WireSession
  ) throws(WireEncodingError) {
    var body = ByteBufferAllocator().buffer(capacity: 64)
    var next = session
    try body.writeWireMessage(message, session: &next)
    guard body.readableBytes <= WireLimits.maxFrameLength else {
      throw .frameTooLong(length: body.readableBytes, limit: WireLimits.maxFrameLength)
    }
    buffer.writeWireVarint(UInt64(body.readableBytes))
    buffer.writeBuffer(&body)
    session = next
  }

  /// One stream frame as a new buffer, coded against a fresh session (a batch carries its
  /// epoch).
  public static func encode(_ message: WireMessage) throws(WireEncodingError) -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(capacity: 64)
    try write(message, into: &buffer)
    return buffer
  }

  /// The most bytes a length prefix can take for a frame within the limit.
  static let maxPrefixLength = wireVarintLength(UInt64(WireLimits.maxFrameLength))

  /// Decodes one frame from the front of `buffer`, single-step.
  ///
  /// - Returns: the message, with the frame consumed; or nil, with nothing consumed, when the
  ///   buffer does not yet hold a whole frame.
  /// - Throws: ``WireError`` for a malformed frame. A length over the limit is rejected as soon
  ///   as its prefix shows it, before the frame's bytes arrive; nothing is allocated for it.
  public static func decode(from buffer: inout ByteBuffer) throws(WireError) -> WireMessage? {
    var session = WireSession()
    return try decode(from: &buffer, session: &session)
  }

  /// Decodes one frame of the connection whose receiver state is `session`, and updates the
  /// session; see ``decode(from:)``. On a throw or "need more data" the session is unchanged.
  public static func decode(
    from buffer: inout ByteBuffer, session: inout WireSession
  ) throws(WireError) -> WireMessage? {
    let start = buffer.readerIndex
    var length: UInt64 = 0
    var prefixLength = 0
    while true {
      guard let byte = buffer.getInteger(at: start + prefixLength, as: UInt8.self) else {
        return nil
      }
      length |= UInt64(byte & 0x7F) << (7 * UInt64(prefixLength))
      prefixLength += 1
      if byte & 0x80 == 0 {
        if byte == 0 && prefixLength > 1 {
          throw WireError(.varintNotMinimal(field: "frame length"), at: 0)
        }
        break
      }
      if prefixLength == maxPrefixLength {
        // A minimal varint that needs more bytes than this is past the limit already.
        throw WireError(
          .frameTooLong(
            length: length | (1 << (7 * UInt64(prefixLength))), limit: WireLimits.maxFrameLength),
          at: 0)
      }
    }
    guard length > 0 else { throw WireError(.emptyFrame, at: 0) }
    guard length <= UInt64(WireLimits.maxFrameLength) else {
      throw WireError(.frameTooLong(length: length, limit: WireLimits.maxFrameLength), at: 0)
    }
    guard buffer.readableBytes >= prefixLength + Int(length) else { return nil }
    buffer.moveReaderIndex(forwardBy: prefixLength)
    var frame = buffer.readSlice(length: Int(length))!
    let type = frame.readInteger(as: UInt8.self)!
    var reader = WireReader(frame, base: prefixLength + 1)
    return try reader.readMessage(
      type: type, typeOffset: prefixLength, datagram: false, session: &session)
  }
}

/// A single-step decoder of the stream form for a NIO pipeline
/// (`ByteToMessageHandler(StreamFrameDecoder())`). Stateless; a malformed frame throws
/// ``WireError`` and the connection should be closed, since the stream cannot be resynchronised.
public struct StreamFrameDecoder: NIOSingleStepByteToMessageDecoder {
  /// One decoded message per frame.
  public typealias InboundOut = WireMessage

  /// What the frames received so far established.
  public private(set) var session = WireSession()

  /// A decoder for a new connection (a fresh session).
  public init() {}

  /// One message, or nil with nothing consumed; see ``StreamFrame/decode(from:session:)``.
  /// - Throws: ``WireError``.
  public mutating func decode(buffer: inout ByteBuffer) throws -> WireMessage? {
    try StreamFrame.decode(from: &buffer, session: &session)
  }

  /// As ``decode(buffer:)``; at the end of the stream, bytes of an unfinished frame are a
  /// ``WireError`` (`truncated`): the peer closed inside a frame.
  public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> WireMessage? {
    if let message = try StreamFrame.decode(from: &buffer, session: &session) { return message }
    if seenEOF, buffer.readableBytes > 0 {
      throw WireError(.truncated(field: "frame (the connection closed inside it)"), at: 0)
    }
    return nil
  }
}

/// An encoder of the stream form for a NIO pipeline (`MessageToByteHandler(StreamFrameEncoder())`).
/// It keeps the sender's ``WireSession`` of its connection, so use one per connection, on the
/// connection's event loop.
public final class StreamFrameEncoder: MessageToByteEncoder {
  /// One message per frame.
  public typealias OutboundIn = WireMessage

  /// What the frames sent so far established.
  public private(set) var session = WireSession()

  /// An encoder for a new connection (a fresh session).
  public init() {}

  /// Appends `data` as one frame; see ``StreamFrame/write(_:into:session:)``.
  /// - Throws: ``WireEncodingError``.
  public func encode(data: WireMessage, out: inout ByteBuffer) throws {
    try StreamFrame.write(data, into: &out, session: &session)
  }
}
