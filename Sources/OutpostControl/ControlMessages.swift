import FoundationEssentials

/// One request on the control socket: a single JSON line from `outpostctl` to `outpostd`.
///
/// The daemon answers with one or more ``ControlReply`` lines and then closes the connection.
/// Commands: `sos`, `checkin` (`who`), `cancel`, `report` (`category`), `status`,
/// `journal-stat`, `journal-dump`, `journal-verify`. Trigger commands may name a progress to
/// `wait` for (`delivered`, `acknowledged`) with `timeout_ms`; the daemon then sends a reply
/// each time the record gets further, until it gets there or the time is up.
public struct ControlRequest: Codable, Sendable, Hashable {
  public var command: String
  /// `checkin`: the card or person id (absent: the household).
  public var who: String?
  /// `report`: the sighting category.
  public var category: String?
  /// Trigger commands: the progress to wait for.
  public var wait: String?
  /// How long to wait for it, in ms.
  public var timeoutMs: Int?
  /// `journal-stat`, `journal-dump`: JSON lines instead of readable text.
  public var json: Bool?

  public init(
    command: String, who: String? = nil, category: String? = nil, wait: String? = nil,
    timeoutMs: Int? = nil, json: Bool? = nil
  ) {
    self.command = command
    self.who = who
    self.category = category
    self.wait = wait
    self.timeoutMs = timeoutMs
    self.json = json
  }

  enum CodingKeys: String, CodingKey {
    case command, who, category, wait, json
    case timeoutMs = "timeout_ms"
  }

  /// The longest request line the daemon reads.
  public static let maxLineBytes = 4096

  /// The request as one line of JSON, without the newline.
  public func line() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    // Encoding plain strings, integers and booleans cannot fail.
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
  }

  /// Parses one request line.
  ///
  /// - Throws: ``ControlProtocolError`` saying what is wrong with it.
  public static func parse(_ line: some Collection<UInt8>) throws(ControlProtocolError)
    -> ControlRequest
  {
    do {
      return try JSONDecoder().decode(ControlRequest.self, from: Data(line))
    } catch {
      throw ControlProtocolError("request is not a valid JSON request object: \(error)")
    }
  }
}

/// One reply line from the daemon.
///
/// `event` says what it is: `recorded`, `delivered`, `acknowledged`, `cancelled` (a trigger's
/// progress, with its record), `joined` (a help press joined an open incident), `timeout` (the
/// progress waited for did not come), `status` (with `status`), `line` (a line of journal
/// output, in `text`), `exit` (the status `outpostctl` exits with, in `code`) or `error` (in
/// `message`).
///
/// A `delivered` reply also carries `acked_at_us`: when the station's ack reached the box, in µs
/// of the box's `CLOCK_MONOTONIC`. The box sends an alarm while its journal syncs it, so the ack
/// can come before the alarm is durable here; *delivered* is still reported after *recorded*,
/// and this says when the ack itself arrived (for measuring the trip to the station and back).
public struct ControlReply: Codable, Sendable, Hashable {
  public var event: String
  public var seq: UInt64?
  public var kind: String?
  public var incident: UInt64?
  public var presses: UInt32?
  public var progress: String?
  public var text: String?
  public var message: String?
  public var code: Int32?
  /// The `status` object as JSON text (its keys are documented at `outpostctl status`).
  public var status: String?
  public var ackedAtMicros: UInt64?

  enum CodingKeys: String, CodingKey {
    case event, seq, kind, incident, presses, progress, text, message, code, status
    case ackedAtMicros = "acked_at_us"
  }

  public init(
    event: String, seq: UInt64? = nil, kind: String? = nil, incident: UInt64? = nil,
    presses: UInt32? = nil, progress: String? = nil, text: String? = nil,
    message: String? = nil, code: Int32? = nil, status: String? = nil,
    ackedAtMicros: UInt64? = nil
  ) {
    self.event = event
    self.seq = seq
    self.kind = kind
    self.incident = incident
    self.presses = presses
    self.progress = progress
    self.text = text
    self.message = message
    self.code = code
    self.status = status
    self.ackedAtMicros = ackedAtMicros
  }

  /// An `error` reply.
  public static func error(_ message: String) -> ControlReply {
    ControlReply(event: "error", message: message)
  }

  /// The reply as one line of JSON, without the newline.
  public func line() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
  }

  /// Parses one reply line.
  public static func parse(_ line: some Collection<UInt8>) throws(ControlProtocolError)
    -> ControlReply
  {
    do {
      return try JSONDecoder().decode(ControlReply.self, from: Data(line))
    } catch {
      throw ControlProtocolError("reply is not a valid JSON reply object: \(error)")
    }
  }
}

/// A control-socket line that does not parse.
public struct ControlProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
  public var description: String

  public init(_ description: String) {
    self.description = description
  }
}
