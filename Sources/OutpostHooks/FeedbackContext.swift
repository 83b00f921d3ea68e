/// The alarm a hook runs for, as hooks see it: in environment variables for a command, in
/// placeholders for a file's contents.
public struct FeedbackContext: Sendable, Hashable {
  /// The moment in the alarm's life.
  public var moment: FeedbackMoment
  /// The record kind's name, e.g. "sos" or "sos-cancel".
  public var kind: String
  /// The record's journal sequence number.
  public var seq: UInt64
  /// How many presses were joined into the alarm, for an SOS.
  public var presses: UInt32?
  /// The sighting category's name, for a report.
  public var category: String?
  /// The incident the alarm belongs to.
  public var incident: String

  /// A context with these fields.
  public init(
    moment: FeedbackMoment, kind: String, seq: UInt64, presses: UInt32? = nil,
    category: String? = nil, incident: String
  ) {
    self.moment = moment
    self.kind = kind
    self.seq = seq
    self.presses = presses
    self.category = category
    self.incident = incident
  }

  /// The variables a command hook gets besides `PATH`: `OUTPOST_MOMENT`, `OUTPOST_KIND`,
  /// `OUTPOST_SEQ` and `OUTPOST_INCIDENT` always, `OUTPOST_PRESSES` and `OUTPOST_CATEGORY` when
  /// the alarm has them.
  public var environment: [String: String] {
    var variables = [
      "OUTPOST_MOMENT": moment.rawValue,
      "OUTPOST_KIND": kind,
      "OUTPOST_SEQ": String(seq),
      "OUTPOST_INCIDENT": incident,
    ]
    if let presses { variables["OUTPOST_PRESSES"] = String(presses) }
    if let category { variables["OUTPOST_CATEGORY"] = category }
    return variables
  }

  /// `template` with `{moment}`, `{kind}`, `{seq}` and `{incident}` replaced by this alarm's
  /// values, in one pass (a value that itself contains a placeholder is not expanded again).
  /// Any other text in braces is kept as it is.
  public func substitute(in template: String) -> String {
    let values = [
      "moment": moment.rawValue, "kind": kind, "seq": String(seq), "incident": incident,
    ]
    var result = ""
    var rest = template[...]
    while let open = rest.firstIndex(of: "{") {
      let afterOpen = rest.index(after: open)
      guard let close = rest[afterOpen...].firstIndex(of: "}") else { break }
      result += rest[..<open]
      if let value = values[String(rest[afterOpen..<close])] {
        result += value
        rest = rest[rest.index(after: close)...]
      } else {
        result += "{"
        rest = rest[afterOpen...]
      }
    }
    return result + rest
  }
}
