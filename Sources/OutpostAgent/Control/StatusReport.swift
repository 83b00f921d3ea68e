import OutpostControl
import OutpostCore

/// `outpostctl status --json`: the agent's state as one JSON object. Its keys are a contract:
///
/// `device`, `status_line`, `pending`, `oldest_pending_seq`, `oldest_pending_age_s`, `link`,
/// `clock_trusted`, `position` (`{lat, lon}` in degrees as strings, or null), `last_alarm` and
/// `last_recorded` (each `{seq, kind, incident, presses, detail, progress, time,
/// acknowledged_by, note}` or null), `sources` (name → state), `journal` (the object
/// `outpostctl journal stat --json` prints).
public enum StatusReport {
  /// The status as JSON text.
  public static func json(_ status: AgentStatus, device: String) -> String {
    var object = JSONObject()
    object.add("device", device)
    object.add("status_line", status.statusLine)
    object.add("pending", status.pendingRecords)
    object.add("oldest_pending_seq", status.oldestPendingSeq)
    object.add("oldest_pending_age_s", status.oldestPendingAgeSeconds.map { UInt64(max(0, $0)) })
    object.add("link", status.link.description)
    object.add("enrolled", !status.waitingForEnrollment)
    object.add("clock_trusted", status.clockTrusted)
    if let position = status.position {
      var place = JSONObject()
      place.add("lat", degrees(position.latitudeE7))
      place.add("lon", degrees(position.longitudeE7))
      object.add("position", place)
    } else {
      object.add("position", nil as JSONObject?)
    }
    object.add("last_alarm", status.lastAlarm.map(alarm))
    object.add("last_recorded", status.lastRecorded.map(alarm))
    var sources = JSONObject()
    for (name, state) in status.sources.sorted(by: { $0.key < $1.key }) {
      sources.add(name, state.description)
    }
    object.add("sources", sources)
    object.addRaw("journal", status.journal.map(JournalReport.json) ?? "null")
    return object.json
  }

  /// The status for people, one labelled line per subject.
  public static func readable(_ status: AgentStatus, device: String) -> String {
    var rows: [(String, String)] = [("device", device)]
    var pending = "\(status.pendingRecords) records"
    if let age = status.oldestPendingAgeSeconds, let seq = status.oldestPendingSeq {
      pending += ", oldest seq \(seq), \(AgentStatus.age(age)) old"
    }
    rows.append(("pending", pending))
    rows.append(
      ("link", status.waitingForEnrollment ? "waiting for enrollment" : status.link.description))
    rows.append(("clock", status.clockTrusted ? "trusted" : "untrusted (no GPS or NTP time yet)"))
    rows.append(("last alarm", status.lastAlarm.map(text) ?? "none"))
    if let last = status.lastRecorded, last != status.lastAlarm {
      rows.append(("last recorded", text(last)))
    }
    if let position = status.position {
      rows.append(
        ("position", "\(degrees(position.latitudeE7)), \(degrees(position.longitudeE7))"))
    }
    for (name, state) in status.sources.sorted(by: { $0.key < $1.key }) {
      rows.append(("source \(name)", state.description))
    }
    let width = rows.map(\.0.count).max() ?? 0
    return rows.map { label, value in
      label + String(repeating: " ", count: width - label.count + 2) + value
    }.joined(separator: "\n")
  }

  static func alarm(_ alarm: TrackedAlarm) -> JSONObject {
    var object = JSONObject()
    object.add("seq", alarm.seq)
    object.add("kind", alarm.kind.description)
    object.add("incident", alarm.incident)
    object.add("presses", alarm.presses.map { UInt64($0) })
    object.add("detail", alarm.detail)
    object.add("progress", alarm.progress.rawValue)
    object.add("time", RecordText.timeJSON(alarm.time))
    object.add("acknowledged_by", alarm.acknowledgedBy)
    object.add("note", alarm.note)
    return object
  }

  static func text(_ alarm: TrackedAlarm) -> String {
    var line = "\(alarm.kind) seq \(alarm.seq) \(alarm.progress.rawValue)"
    if let presses = alarm.presses, presses > 1 { line += ", \(presses) presses" }
    if let detail = alarm.detail { line += ", \(detail)" }
    if let officer = alarm.acknowledgedBy { line += ", by \(officer)" }
    if let note = alarm.note { line += ": \(note)" }
    return line + " at " + RecordText.readable(alarm.time)
  }

  /// 1e-7 degrees as a decimal string, exactly.
  static func degrees(_ e7: Int32) -> String {
    let magnitude = Int64(e7).magnitude
    let fraction = String(magnitude % 10_000_000)
    return (e7 < 0 ? "-" : "") + "\(magnitude / 10_000_000)."
      + String(repeating: "0", count: 7 - fraction.count) + fraction
  }
}
