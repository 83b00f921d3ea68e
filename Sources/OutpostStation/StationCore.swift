import Logging
import OutpostCore
import OutpostStore
import OutpostWire
import Synchronization

/// What every part of a running station shares: settings, the store, the ingest queue, the
/// live links, and what to do when the store reports a change.
final class StationCore: Sendable {
  let configuration: StationConfiguration
  let store: any StationStore
  let links = LiveLinks()
  let logger: Logger
  let ingestor: Ingestor
  /// The link up the chain, when `[upstream]` is configured; set once it is made.
  let upstream = Mutex(WeakUpstream(nil))

  init(configuration: StationConfiguration, store: any StationStore, logger: Logger) {
    self.configuration = configuration
    self.store = store
    self.logger = logger
    let events = EventSink()
    ingestor = Ingestor(store: store, logger: logger) { await events.deliver($0) }
    events.core.withLock { $0 = WeakCore(self) }
  }

  /// A box's link went up or down.
  func linkChanged(device: Device, up: Bool) async {
    do {
      let events = try await store.setLink(
        deviceID: device.id, up: up, station: configuration.name, atMs: wallClockMs())
      await handle(events)
    } catch {
      logger.error("could not record the link of \(device.name): \(error)")
    }
  }

  /// Sends a box the acknowledgements and outcomes of its incidents it has not been sent.
  func notifyBox(_ deviceID: Int64) async {
    guard await links.isConnected(deviceID) else { return }
    do {
      for incident in try await store.incidentsToNotify(deviceID: deviceID) {
        guard let message = Self.downlink(for: incident) else { continue }
        await links.send(message, to: deviceID)
      }
    } catch {
      logger.error("could not read incidents to send to a box: \(error)")
    }
  }

  /// The message that tells a box where its incident stands, if it is one the box knows.
  static func downlink(for incident: Incident) -> WireMessage? {
    guard incident.kind.fromBox, let epoch = incident.epoch, let seq = incident.seq else {
      return nil
    }
    switch incident.state {
    case .acknowledged:
      return .incidentAcknowledged(
        IncidentAcknowledged(
          epoch: epoch, seq: seq,
          officer: (incident.acknowledgedBy ?? "").clipped(toUTF8Bytes: WireLimits.maxOfficerName),
          note: (incident.note ?? "").clipped(toUTF8Bytes: WireLimits.maxNote),
          timeMs: incident.acknowledgedAtMs ?? wallClockMs()))
    case .resolved, .falseAlarm:
      return .incidentHandled(
        IncidentHandled(
          epoch: epoch, seq: seq, outcome: incident.state == .resolved ? .resolved : .falseAlarm,
          officer: (incident.closedBy ?? "").clipped(toUTF8Bytes: WireLimits.maxOfficerName),
          note: (incident.note ?? "").clipped(toUTF8Bytes: WireLimits.maxNote),
          timeMs: incident.closedAtMs ?? wallClockMs()))
    default:
      return nil
    }
  }

  /// A downlink message reached the socket: incident messages are marked sent.
  func downlinkWritten(_ message: WireMessage, deviceID: Int64) async {
    let state: IncidentState
    let epoch: UInt64
    let seq: UInt64
    switch message {
    case .incidentAcknowledged(let m):
      (state, epoch, seq) = (.acknowledged, m.epoch, m.seq)
    case .incidentHandled(let m):
      (state, epoch, seq) = (m.outcome == .resolved ? .resolved : .falseAlarm, m.epoch, m.seq)
    default:
      return
    }
    do {
      let incidents = try await store.incidentsToNotify(deviceID: deviceID)
      for incident in incidents where incident.epoch == epoch && incident.seq == seq {
        try await store.markBoxNotified(incidentID: incident.id, state: state)
        logger.info(
          "incident \(incident.id) \(state.rawValue) sent to box \(incident.device)",
          metadata: ["incident": "\(incident.id)"])
      }
    } catch {
      logger.error("could not mark an incident as sent to its box: \(error)")
    }
  }

  /// What the store reported: log it, fan an SOS out to the neighbours.
  func handle(_ events: [StoreEvent]) async {
    for event in events {
      switch event {
      case .incidentOpened(let incident):
        logger.critical(
          "\(Self.title(incident)) opened incident \(incident.id)",
          metadata: Self.metadata(incident, messageID: StationMessageID.incidentOpened))
        if incident.kind == .sos { await fanOut(incident) }
      case .incidentJoined(let incident):
        logger.warning(
          "\(Self.title(incident)) pressed again: incident \(incident.id), \(incident.presses) presses",
          metadata: Self.metadata(incident, messageID: nil))
      case .incidentCancelled(let incident):
        logger.warning(
          "\(Self.title(incident)) cancelled incident \(incident.id)",
          metadata: Self.metadata(incident, messageID: StationMessageID.incidentCancelled))
        await reportUpstream(incident)
      case .alertRaised(let incident):
        logger.warning(
          "\(Self.title(incident)): incident \(incident.id)",
          metadata: Self.metadata(incident, messageID: StationMessageID.alertRaised))
      case .alertCleared(let incident):
        logger.notice(
          "\(Self.title(incident)) cleared: incident \(incident.id)",
          metadata: Self.metadata(incident, messageID: nil))
      case .checkIn(let device, let who, _):
        logger.info("check-in from \(device)\(who.map { " by \($0)" } ?? "")")
      case .forwardedIncidentUpdated(let station, let id, let update):
        await apply(update, from: station, to: id)
      }
    }
  }

  /// An incident changed here (an officer's action, or the box's cancel): a forwarded one is
  /// followed by an update to the higher station.
  func reportUpstream(_ incident: Incident) async {
    await upstream.withLock { $0.upstream }?.report(incident)
  }

  /// Applies what a lower station reported about an incident it forwarded to the incident its
  /// record opened here (`id`), as an officer's action named after that station's officer.
  /// The lower station is not sent its own news back; the station above this one is.
  private func apply(_ update: IncidentUpdate, from station: String, to id: Int64?) async {
    let what = "incident \(update.incident) of \(station)"
    guard let id else {
      logger.warning(
        "\(station) reported \(what) \(update.state), but no incident here came from its record \(String(update.forwardedEpoch, radix: 16))/\(update.forwardedSeq)"
      )
      return
    }
    let by = update.officer.isEmpty ? station : "\(update.officer) (\(station))"
    do {
      let incident: Incident
      switch update.state {
      case .acknowledged:
        incident = try await store.acknowledgeIncident(
          id: id, by: by, note: update.note, atMs: update.atMs)
        if let earlier = incident.acknowledgedBy, earlier != by {
          logger.info(
            "incident \(id) was already acknowledged here by \(earlier); \(station)'s word (acknowledged by \(by)) is noted only"
          )
          return
        }
      case .resolved, .falseAlarm:
        incident = try await store.resolveIncident(
          id: id, by: by, outcome: update.state == .resolved ? .resolved : .falseAlarm,
          note: update.note, atMs: update.atMs)
      case .cancelled:
        try await store.addAudit(
          actor: station, action: "incident-cancel", incidentID: id, device: station,
          detail: "\(what) was cancelled on the box", atMs: update.atMs)
        logger.warning(
          "\(what), forwarded here as incident \(id), was cancelled on the box",
          metadata: ["outpost_incident": "\(id)"])
        return
      }
      try await store.markBoxNotified(incidentID: id, state: incident.state)
      logger.notice(
        "incident \(id) (\(what)) \(update.state) by \(by)",
        metadata: ["outpost_incident": "\(id)"])
      await reportUpstream(incident)
    } catch StoreError.incidentClosed(let id, let state) {
      logger.info(
        "incident \(id) was already \(state.rawValue) here; \(station)'s word (\(update.state) by \(by)) is noted only"
      )
    } catch {
      logger.error("could not apply \(station)'s update of \(what) to incident \(id): \(error)")
    }
  }

  private func fanOut(_ incident: Incident) async {
    do {
      let neighbours = try await store.neighbours(ofDeviceID: incident.deviceID)
      for neighbour in neighbours {
        let alert = WireMessage.neighbourAlert(
          NeighbourAlert(
            household: String((incident.household ?? incident.device).prefix(64)), kind: .sos,
            position: incident.position, timeMs: incident.openedAtMs))
        let sent = await links.send(alert, to: neighbour.id)
        logger.notice(
          "neighbour alert for incident \(incident.id) to \(neighbour.name): \(sent ? "sent" : "not connected")"
        )
      }
    } catch {
      logger.error("could not fan incident \(incident.id) out to neighbours: \(error)")
    }
  }

  static func title(_ incident: Incident) -> String {
    let who = incident.household.map { "\(incident.device) (\($0))" } ?? incident.device
    switch incident.kind {
    case .sos: return "SOS from \(who)"
    case .sensorAlarm: return "sensor alarm \(incident.detail ?? "") at \(who)"
    case .checkInOverdue: return "check-in overdue at \(who)"
    case .offline: return "box \(who) offline"
    case .forwarded: return "forwarded by \(incident.device): \(incident.detail ?? "")"
    }
  }

  static func metadata(_ incident: Incident, messageID: String?) -> Logger.Metadata {
    var metadata: Logger.Metadata = [
      "outpost_incident": "\(incident.id)", "outpost_device": "\(incident.device)",
      "outpost_kind": "\(incident.kind.rawValue)",
    ]
    if let messageID { metadata["message_id"] = "\(messageID)" }
    return metadata
  }
}

/// Fixed journald `MESSAGE_ID`s of the station's incident log lines.
enum StationMessageID {
  static let incidentOpened = "5b0c7e7e9a1d4d8e8f5b3c2a61d04a11"
  static let incidentCancelled = "5b0c7e7e9a1d4d8e8f5b3c2a61d04a12"
  static let alertRaised = "5b0c7e7e9a1d4d8e8f5b3c2a61d04a13"
  static let escalated = "5b0c7e7e9a1d4d8e8f5b3c2a61d04a14"
}

/// Lets the ingest queue, made before the core, reach it without a retain cycle.
final class EventSink: Sendable {
  let core = Mutex<WeakCore?>(nil)

  func deliver(_ events: [StoreEvent]) async {
    guard let core = core.withLock({ $0?.core }) else { return }
    await core.handle(events)
  }
}

struct WeakCore: @unchecked Sendable {
  weak var core: StationCore?
  init(_ core: StationCore) { self.core = core }
}
