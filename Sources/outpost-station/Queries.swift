import ArgumentParser
import Foundation
import OutpostCore
import OutpostStation
import OutpostStore

/// JSON lines out of plain dictionaries, keys sorted.
func jsonLine(_ object: [String: Any?]) -> String {
  let compact = object.compactMapValues { $0 }
  let data =
    (try? JSONSerialization.data(withJSONObject: compact, options: [.sortedKeys])) ?? Data()
  return String(decoding: data, as: UTF8.self)
}

func utc(_ ms: Int64?) -> String {
  guard let ms else { return "-" }
  let date = Date(timeIntervalSince1970: Double(ms) / 1000)
  let formatter = ISO8601DateFormatter()
  formatter.formatOptions = [.withInternetDateTime]
  return formatter.string(from: date)
}

func degrees(_ e7: Int32) -> Double { Double(e7) / 1e7 }

func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// `--since`: an RFC 3339 time, ms since the epoch, or an age such as 30m, 2h, 7d.
func parseSince(_ text: String) -> Int64? {
  if let ms = Int64(text) { return ms }
  if let unit = text.last, let amount = Int64(text.dropLast()), amount >= 0 {
    let scale: Int64? =
      switch unit {
      case "s": 1000
      case "m": 60_000
      case "h": 3_600_000
      case "d": 86_400_000
      default: nil
      }
    if let scale { return nowMs() - amount * scale }
  }
  let formatter = ISO8601DateFormatter()
  if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
  return nil
}

struct Devices: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Every box: last seen, link, battery, last check-in, last position.")

  @OptionGroup var common: Common

  @Flag(help: "One JSON object per line.")
  var json = false

  func run() async throws {
    let configuration = try common.load()
    let store = try await common.store(configuration)
    defer { Task { try? await store.close() } }
    let devices = try await store.devices()
    if json {
      for summary in devices {
        let device = summary.device
        // The last reported fix, else the position registered at enrollment.
        let position = summary.lastPosition ?? device.registration.location
        let source = summary.lastPosition != nil ? "gps" : position == nil ? nil : "registered"
        print(
          jsonLine([
            "name": device.name, "number": Int(device.number),
            "household": device.registration.household, "gacha": device.registration.gacha,
            "phone": device.registration.phone, "revoked": device.isRevoked,
            "last_seen": summary.lastSeenMs.map(utc), "last_seen_ms": summary.lastSeenMs,
            "link": summary.linkUp ? "up" : "down", "station": summary.station,
            "battery_percent": summary.batteryPercent.map { Int($0) },
            "supply_mv": summary.supplyMillivolts.map { Int($0) },
            "last_checkin": summary.lastCheckInMs.map(utc),
            "last_checkin_ms": summary.lastCheckInMs,
            "latitude": position.map { degrees($0.latitudeE7) },
            "longitude": position.map { degrees($0.longitudeE7) },
            "position_source": source, "last_position_ms": summary.lastPositionMs,
            "epoch": summary.epoch.map { String($0, radix: 16) }, "records": summary.records,
          ]))
      }
      return
    }
    print(
      "NAME                 LINK  LAST SEEN             BATTERY  LAST CHECK-IN         POSITION")
    for summary in devices {
      let device = summary.device
      let name = device.name + (device.isRevoked ? " (revoked)" : "")
      let position =
        summary.lastPosition.map {
          String(format: "%.5f,%.5f", degrees($0.latitudeE7), degrees($0.longitudeE7))
        }
        ?? device.registration.location.map {
          String(format: "%.5f,%.5f (registered)", degrees($0.latitudeE7), degrees($0.longitudeE7))
        }
      print(
        [
          name.padding(toLength: 20, withPad: " ", startingAt: 0),
          (summary.linkUp ? "up" : "down").padding(toLength: 5, withPad: " ", startingAt: 0),
          utc(summary.lastSeenMs).padding(toLength: 21, withPad: " ", startingAt: 0),
          (summary.batteryPercent.map { "\($0) %" } ?? "-").padding(
            toLength: 8, withPad: " ", startingAt: 0),
          utc(summary.lastCheckInMs).padding(toLength: 21, withPad: " ", startingAt: 0),
          position ?? "-",
        ].joined(separator: " "))
    }
  }
}

struct Events: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Stored records, newest first.")

  @OptionGroup var common: Common

  @Option(help: "Only this device's records.")
  var device: String?

  @Option(
    help: "Only records at or after: RFC 3339 time, ms since the epoch, or an age (30m, 2h, 7d).")
  var since: String?

  @Option(help: "At most this many.")
  var limit = 1000

  @Flag(help: "One JSON object per line.")
  var json = false

  func run() async throws {
    let configuration = try common.load()
    var sinceMs: Int64?
    if let since {
      guard let parsed = parseSince(since) else {
        printError("outpost-station: --since \(since): expected an RFC 3339 time, ms, or 30m/2h/7d")
        throw ExitCode(64)
      }
      sinceMs = parsed
    }
    let store = try await common.store(configuration)
    defer { Task { try? await store.close() } }
    let events = try await store.events(EventQuery(device: device, sinceMs: sinceMs, limit: limit))
    for event in events {
      let record = event.record
      let body = (try? record.decodedBody()).map { "\($0)" } ?? "undecodable body"
      if json {
        print(
          jsonLine([
            "device": event.device, "epoch": String(event.epoch, radix: 16),
            "seq": Int(clamping: record.seq), "kind": "\(record.kind)",
            "priority": "\(record.priority)", "time": utc(record.time.wallMs),
            "time_ms": record.time.wallMs, "clock_trusted": record.time.clockTrusted,
            "received_ms": event.receivedAtMs, "body": body,
          ]))
      } else {
        print(
          "\(utc(record.time.wallMs)) \(event.device) seq \(record.seq) \(record.kind)\(record.time.clockTrusted ? "" : " (clock untrusted)"): \(body)"
        )
      }
    }
  }
}

func incidentObject(_ incident: Incident) -> [String: Any?] {
  [
    "id": incident.id, "device": incident.device, "household": incident.household,
    "kind": incident.kind.rawValue, "detail": incident.detail, "state": incident.state.rawValue,
    "opened": utc(incident.openedAtMs), "opened_ms": incident.openedAtMs,
    "presses": Int(incident.presses),
    "latitude": incident.position.map { degrees($0.latitudeE7) },
    "longitude": incident.position.map { degrees($0.longitudeE7) },
    "acknowledged_by": incident.acknowledgedBy,
    "acknowledged_ms": incident.acknowledgedAtMs, "note": incident.note,
    "closed_by": incident.closedBy, "closed_ms": incident.closedAtMs,
    "escalation_level": incident.escalationLevel,
    "box_told": incident.boxNotifiedState?.rawValue,
    "seq": incident.seq.map { Int(clamping: $0) },
  ]
}

func incidentLine(_ incident: Incident) -> String {
  var line =
    "\(incident.id)\t\(incident.state.rawValue)\t\(incident.kind.rawValue)\t\(incident.device)"
  if let household = incident.household { line += " (\(household))" }
  line += "\t\(utc(incident.openedAtMs))"
  if incident.kind == .sos { line += "\t\(incident.presses) presses" }
  if let detail = incident.detail { line += "\t\(detail)" }
  if let by = incident.acknowledgedBy { line += "\tacknowledged by \(by)" }
  if let by = incident.closedBy { line += "\tclosed by \(by)" }
  return line
}

struct Incidents: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Open incidents and alerts, newest first (--all: closed ones too).")

  @OptionGroup var common: Common

  @Flag(help: "Include resolved, false-alarm and cleared ones.")
  var all = false

  @Flag(help: "One JSON object per line.")
  var json = false

  func run() async throws {
    let configuration = try common.load()
    let store = try await common.store(configuration)
    defer { Task { try? await store.close() } }
    for incident in try await store.incidents(openOnly: !all, limit: 1000) {
      print(json ? jsonLine(incidentObject(incident)) : incidentLine(incident))
    }
  }
}

struct IncidentCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "incident", abstract: "Acknowledge or close an incident.",
    subcommands: [IncidentAck.self, IncidentResolve.self])
}

struct IncidentAck: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ack",
    abstract: "Acknowledge an incident; the box is told (its acknowledged hook runs).")

  @OptionGroup var common: Common

  @Argument(help: "The incident id.")
  var id: Int64

  @Option(help: "The officer's name.")
  var by: String

  @Option(help: "A note for the household (at most 120 bytes reach the box).")
  var note: String?

  @Flag(help: "The incident as JSON.")
  var json = false

  func run() async throws {
    let configuration = try common.load()
    let store = try await common.store(configuration)
    defer { Task { try? await store.close() } }
    let incident: Incident
    do {
      incident = try await store.acknowledgeIncident(id: id, by: by, note: note, atMs: nowMs())
    } catch {
      printError("outpost-station: incident ack \(id): \(error)")
      throw ExitCode(1)
    }
    tellDaemon(configuration, "incident \(id)")
    print(json ? jsonLine(incidentObject(incident)) : incidentLine(incident))
  }
}

struct IncidentResolve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resolve", abstract: "Close an incident as resolved or a false alarm.")

  @OptionGroup var common: Common

  @Argument(help: "The incident id.")
  var id: Int64

  @Option(help: "The officer's name.")
  var by: String

  @Option(help: "resolved or false-alarm.")
  var outcome: String

  @Option(help: "A note.")
  var note: String?

  @Flag(help: "The incident as JSON.")
  var json = false

  func run() async throws {
    guard let outcome = IncidentOutcome(rawValue: outcome) else {
      printError("outpost-station: --outcome must be resolved or false-alarm")
      throw ExitCode(64)
    }
    let configuration = try common.load()
    let store = try await common.store(configuration)
    defer { Task { try? await store.close() } }
    let incident: Incident
    do {
      incident = try await store.resolveIncident(
        id: id, by: by, outcome: outcome, note: note, atMs: nowMs())
    } catch {
      printError("outpost-station: incident resolve \(id): \(error)")
      throw ExitCode(1)
    }
    tellDaemon(configuration, "incident \(id)")
    print(json ? jsonLine(incidentObject(incident)) : incidentLine(incident))
  }
}

struct Audit: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "The audit log, newest first.")

  @OptionGroup var common: Common

  @Option(help: "At most this many.")
  var limit = 200

  @Flag(help: "One JSON object per line.")
  var json = false

  func run() async throws {
    let configuration = try common.load()
    let store = try await common.store(configuration)
    defer { Task { try? await store.close() } }
    for entry in try await store.audit(limit: limit) {
      if json {
        print(
          jsonLine([
            "id": entry.id, "at": utc(entry.atMs), "at_ms": entry.atMs, "actor": entry.actor,
            "action": entry.action, "incident": entry.incidentID, "device": entry.device,
            "detail": entry.detail,
          ]))
      } else {
        print(
          "\(utc(entry.atMs))\t\(entry.actor)\t\(entry.action)\t\(entry.incidentID.map { "incident \($0)" } ?? "-")\t\(entry.device ?? "-")\t\(entry.detail)"
        )
      }
    }
  }
}
