import Glibc
import Logging
import NIOCore
import NIOSSL
import OutpostCore
import OutpostEnrollment
import OutpostJournal
import OutpostStore
import OutpostUplink
import OutpostWire
import ServiceLifecycle
import Synchronization

/// The link up the chain (post → township → banner command): incidents nobody acknowledged in
/// time are written to a forwarding journal of their own and sent to the higher station over the
/// same protocol and with the same guarantees as a box's records — this station is a box there,
/// enrolled with a bundle the higher station issued. What the higher station's officers do with
/// a forwarded incident comes back down and is applied to the incident here, and from here to
/// the box.
final class Upstream: Service {
  let core: StationCore
  let settings: StationConfiguration.UpstreamSettings
  let writer: JournalWriter
  let uplink: Uplink
  let bundle: EnrollmentBundle
  private let logger: Logger

  /// Opens (or creates) the forwarding journal and reads the bundle.
  ///
  /// - Throws: ``StationError`` saying which file cannot be used and why.
  init(core: StationCore, eventLoops: any EventLoopGroup) throws {
    guard let settings = core.configuration.upstream else {
      throw StationError("no [upstream] configured")
    }
    self.core = core
    self.settings = settings
    var logger = core.logger
    logger[metadataKey: "component"] = "upstream"
    self.logger = logger
    let path = core.configuration.statePath(settings.bundle)
    do {
      bundle = try EnrollmentBundle.load(path: path)
    } catch {
      throw StationError("[upstream] \(error)")
    }
    let tls: NIOSSLContext
    do {
      tls = try UplinkTLS.clientContext(bundle: bundle)
    } catch {
      throw StationError("[upstream] bundle \(path): \(error)")
    }
    let journalPath = core.configuration.statePath("upstream.journal")
    let ring: RingJournal
    do {
      ring = try RingJournal.openOrCreate(
        path: journalPath, size: settings.journalSize, logger: logger)
    } catch {
      throw StationError("[upstream] journal \(journalPath): \(error)")
    }
    writer = JournalWriter(journal: ring, groupCommitDelay: .milliseconds(20))
    var stations = settings.stations
    if stations.isEmpty { stations = bundle.stations.compactMap(StationAddress.init) }
    let link = UpstreamLink(core: core, logger: logger)
    uplink = Uplink(
      settings: UplinkSettings(device: bundle.device, stations: stations),
      tls: tls, writer: writer, delegate: link, eventLoops: eventLoops, logger: logger)
    core.upstream.withLock { $0 = WeakUpstream(self) }
    logger.info(
      "forwarding unacknowledged incidents as \(bundle.device) to \(stations.map(\.description).joined(separator: ", "))"
    )
  }

  func run() async throws {
    await cancelWhenGracefulShutdown { await self.uplink.run() }
    // Closed as the agent closes its journal, so the unused sequence lease is given back.
    do {
      try await writer.flush()
      try await writer.withJournal { try $0.close() }
    } catch {
      logger.error("could not close the forwarding journal: \(error)")
    }
  }

  /// Writes `incident` to the forwarding journal, durably; the uplink sends it from there.
  ///
  /// - Returns: the record's sequence number.
  func forward(_ incident: Incident) async throws -> UInt64 {
    typealias Body = ForwardedIncident
    let body = Body(
      incident: UInt64(incident.id),
      kind: incident.kind.rawValue.clipped(toUTF8Bytes: Body.maxKindBytes),
      device: incident.device.clipped(toUTF8Bytes: Body.maxDeviceBytes),
      household: incident.household?.clipped(toUTF8Bytes: Body.maxHouseholdBytes),
      detail: incident.detail?.clipped(toUTF8Bytes: Body.maxDetailBytes),
      presses: incident.presses, openedAtMs: incident.openedAtMs, position: incident.position)
    let time = RecordTime(
      wallMs: wallClockMs(), clockTrusted: false, boot: 0, sinceBootMs: monotonicClockMs())
    return try await writer.append(JournalEntry(.forwardedIncident(body), time: time))
  }

  /// Sends up what happened to `incident` here, if it was forwarded and the higher station has
  /// not been told this state: an officer of this station acknowledged or closed it, or the box
  /// cancelled it. What the higher station's own officers did came from there and is not sent
  /// back.
  func report(_ incident: Incident) async {
    typealias Update = IncidentUpdate
    let state: Update.State
    let officer: String?
    let atMs: Int64?
    switch incident.state {
    case .acknowledged:
      (state, officer, atMs) = (.acknowledged, incident.acknowledgedBy, incident.acknowledgedAtMs)
    case .cancelled: (state, officer, atMs) = (.cancelled, nil, nil)
    case .resolved: (state, officer, atMs) = (.resolved, incident.closedBy, incident.closedAtMs)
    case .falseAlarm:
      (state, officer, atMs) = (.falseAlarm, incident.closedBy, incident.closedAtMs)
    case .open, .cleared: return
    }
    if let officer, officer.hasSuffix(Self.fromAbove) { return }
    do {
      let found = try await writer.withJournal { journal -> (UInt64, UInt64)? in
        var forwarded: UInt64?
        var told = false
        try journal.forEachRecord { record in
          switch try? record.decodedBody() {
          case .forwardedIncident(let body)? where body.incident == UInt64(incident.id):
            forwarded = record.seq
          case .incidentUpdate(let update)?
          where update.incident == UInt64(incident.id) && update.state == state:
            told = true
          default: break
          }
          return true
        }
        guard let forwarded, !told else { return nil }
        return (journal.epoch, forwarded)
      }
      guard let (epoch, seq) = found else { return }
      let update = Update(
        forwardedEpoch: epoch, forwardedSeq: seq, incident: UInt64(incident.id), state: state,
        officer: (officer ?? "").clipped(toUTF8Bytes: Update.maxOfficerBytes),
        note: state == .cancelled ? nil : incident.note?.clipped(toUTF8Bytes: Update.maxNoteBytes),
        atMs: atMs ?? wallClockMs())
      let time = RecordTime(
        wallMs: wallClockMs(), clockTrusted: false, boot: 0, sinceBootMs: monotonicClockMs())
      let written = try await writer.append(JournalEntry(.incidentUpdate(update), time: time))
      logger.notice(
        "incident \(incident.id) \(state) here: sent up as record \(written)",
        metadata: ["outpost_incident": "\(incident.id)"])
    } catch {
      logger.error("could not send up what happened to incident \(incident.id): \(error)")
    }
  }

  /// Appended to the name of an officer of the higher station.
  static let fromAbove = " (upstream)"

  /// What the higher station's officers did with the incident forwarded as record `seq`.
  func received(_ message: WireMessage) async {
    let (epoch, seq): (UInt64, UInt64)
    switch message {
    case .incidentAcknowledged(let ack): (epoch, seq) = (ack.epoch, ack.seq)
    case .incidentHandled(let handled): (epoch, seq) = (handled.epoch, handled.seq)
    default: return
    }
    guard let forwarded = await forwardedIncident(epoch: epoch, seq: seq) else {
      logger.warning("the higher station answered record \(seq), which this station no longer has")
      return
    }
    let id = Int64(forwarded.incident)
    let now = wallClockMs()
    do {
      let incident: Incident
      switch message {
      case .incidentAcknowledged(let ack):
        incident = try await core.store.acknowledgeIncident(
          id: id, by: "\(ack.officer)\(Self.fromAbove)", note: ack.note.isEmpty ? nil : ack.note,
          atMs: now)
        logger.notice(
          "incident \(id) acknowledged upstream by \(ack.officer)",
          metadata: ["outpost_incident": "\(id)"])
      case .incidentHandled(let handled):
        incident = try await core.store.resolveIncident(
          id: id, by: "\(handled.officer)\(Self.fromAbove)",
          outcome: handled.outcome == .resolved ? .resolved : .falseAlarm,
          note: handled.note.isEmpty ? nil : handled.note, atMs: now)
        logger.notice(
          "incident \(id) closed upstream by \(handled.officer): \(handled.outcome)",
          metadata: ["outpost_incident": "\(id)"])
      default:
        return
      }
      await core.notifyBox(incident.deviceID)
    } catch StoreError.incidentClosed(let id, let state) {
      logger.info(
        "incident \(id) was already \(state.rawValue) here; the higher station's word is noted only"
      )
    } catch {
      logger.error("could not apply the higher station's answer to incident \(id): \(error)")
    }
  }

  private func forwardedIncident(epoch: UInt64, seq: UInt64) async -> ForwardedIncident? {
    try? await writer.withJournal { journal in
      guard journal.epoch == epoch else { return nil }
      var found: ForwardedIncident?
      try journal.forEachRecord(from: seq) { record in
        guard record.seq == seq else { return true }
        if case .forwardedIncident(let body)? = try? record.decodedBody() { found = body }
        return false
      }
      return found
    }
  }
}

/// The uplink's delegate for a forwarding station: answers go to ``Upstream``.
private final class UpstreamLink: UplinkDelegate {
  /// Where the ``Upstream`` the answers go to is registered (made before it exists).
  let core: StationCore
  let logger: Logger

  init(core: StationCore, logger: Logger) {
    self.core = core
    self.logger = logger
  }

  func uplinkLink(up: Bool, station: String?) async {
    if up {
      logger.info("link to the higher station up: \(station ?? "")")
    } else {
      logger.notice("link to the higher station down")
    }
  }

  func uplinkStored(_ ranges: [ClosedRange<UInt64>], newly: Int?, receivedAtMicros: UInt64)
    async
  {}

  func uplinkReceived(_ message: WireMessage) async {
    await core.upstream.withLock { $0.upstream }?.received(message)
  }

  func uplinkClock() async -> (boot: UInt32, wallMs: Int64, anchor: TimeAnchor?) {
    (0, wallClockMs(), nil)
  }
}

struct WeakUpstream: Sendable {
  weak var upstream: Upstream?
  init(_ upstream: Upstream?) { self.upstream = upstream }
}
