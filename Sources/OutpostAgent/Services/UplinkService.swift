import Glibc
import Logging
import NIOCore
import NIOSSL
import OutpostCore
import OutpostEnrollment
import OutpostJournal
import OutpostUplink
import OutpostWire
import ServiceLifecycle
import Synchronization

/// The agent's link to its station: waits for an enrollment bundle, then runs the ``Uplink``
/// until shutdown. `outpostctl enroll` installs a bundle and tells the running agent
/// (``enrolled()``), which then starts (or restarts) the link with it.
final class UplinkService: Service {
  let configuration: AgentConfiguration
  let recorder: Recorder
  let writer: JournalWriter
  let eventLoops: any EventLoopGroup
  let logger: Logger
  /// `--station` from the command line: overrides the configuration's and the bundle's.
  let stationOverride: [StationAddress]
  /// Open once the agent's start-up is over (see ``LinkStart``).
  let startup: StartupGate
  private let reloads = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

  init(
    configuration: AgentConfiguration, recorder: Recorder, writer: JournalWriter,
    eventLoops: any EventLoopGroup, stationOverride: [StationAddress], startup: StartupGate,
    logger: Logger
  ) {
    self.configuration = configuration
    self.recorder = recorder
    self.writer = writer
    self.eventLoops = eventLoops
    self.stationOverride = stationOverride
    self.startup = startup
    self.logger = logger
  }

  /// A new bundle was installed: (re)start the link with it.
  func enrolled() {
    reloads.continuation.yield()
  }

  func run() async throws {
    await withGracefulShutdownHandler {
      await withTaskGroup(of: Void.self) { group in
        var running = false
        if let uplink = load() {
          group.addTask { await uplink.run() }
          running = true
        }
        for await _ in reloads.stream {
          guard let uplink = load() else { continue }
          if running {
            group.cancelAll()
            await group.waitForAll()
            await recorder.linkChanged(.down)
          }
          logger.notice("enrollment installed: connecting with it")
          group.addTask { await uplink.run() }
          running = true
        }
        group.cancelAll()
      }
    } onGracefulShutdown: {
      self.reloads.continuation.finish()
    }
  }

  /// The uplink the bundle describes, or nil (logged) when there is no usable bundle.
  private func load() -> Uplink? {
    let path = configuration.enrollmentPath
    guard access(path, F_OK) == 0 else {
      logger.notice(
        "not enrolled: no \(path); recording locally until `outpostctl enroll BUNDLE` installs one"
      )
      Task { await recorder.enrollment(waiting: true) }
      return nil
    }
    do {
      let bundle = try EnrollmentBundle.load(path: path)
      let tls = try UplinkTLS.clientContext(bundle: bundle)
      var stations = stationOverride
      if stations.isEmpty {
        stations = configuration.uplink.stations.compactMap(StationAddress.init)
      }
      if stations.isEmpty { stations = bundle.stations.compactMap(StationAddress.init) }
      let settings = UplinkSettings(
        device: bundle.device, stations: stations,
        capabilities: Self.capabilities(configuration),
        backoffMax: configuration.uplink.backoffMax, pongTimeout: configuration.uplink.pongTimeout,
        backlogShare: Double(configuration.uplink.backlogSharePercent) / 100)
      Task { await recorder.enrollment(waiting: false) }
      logger.info(
        "uplink for \(bundle.device) to \(stations.map(\.description).joined(separator: ", "))")
      return Uplink(
        settings: settings, tls: tls, writer: writer,
        delegate: RecorderLink(
          recorder: recorder, start: LinkStart(startup: startup, logger: logger), logger: logger),
        eventLoops: eventLoops,
        logger: logger)
    } catch {
      logger.error("enrollment \(path) cannot be used: \(error)")
      Task { await recorder.enrollment(waiting: true) }
      return nil
    }
  }

  static func capabilities(_ configuration: AgentConfiguration) -> Capabilities {
    var capabilities: Capabilities = [.neighbourAlerts]
    if configuration.gps != nil { capabilities.insert(.locate) }
    if !configuration.feedback.isEmpty { capabilities.insert(.feedback) }
    return capabilities
  }
}

/// What the uplink reports, turned into the recorder's state (and from there the feedback
/// hooks, `STATUS=` and `outpostctl status`).
struct RecorderLink: UplinkDelegate {
  let recorder: Recorder
  let start: LinkStart
  let logger: Logger

  func uplinkLink(up: Bool, station: String?) async {
    await recorder.linkChanged(up ? .up : .down)
    if up { start.end() }
  }

  func uplinkRetrying(reason: String, after delay: Duration) async {
    start.end()
  }

  func uplinkStored(_ ranges: [ClosedRange<UInt64>], newly: Int?, receivedAtMicros: UInt64)
    async
  {
    await recorder.stationAcknowledged(ranges, newly: newly, receivedAtMicros: receivedAtMicros)
  }

  func uplinkReceived(_ message: WireMessage) async {
    switch message {
    case .incidentAcknowledged(let ack):
      logger.notice(
        "officer \(ack.officer) acknowledged the alarm of seq \(ack.seq)\(ack.note.isEmpty ? "" : ": \(ack.note)")",
        metadata: ["outpost_seq": "\(ack.seq)"])
      await recorder.officerAcknowledged(seq: ack.seq, officer: ack.officer, note: ack.note)
    case .incidentHandled(let handled):
      logger.notice(
        "officer \(handled.officer) closed the incident of seq \(handled.seq): \(handled.outcome)",
        metadata: ["outpost_seq": "\(handled.seq)"])
      await recorder.officerAcknowledged(
        seq: handled.seq, officer: handled.officer, note: handled.note)
    case .neighbourAlert(let alert):
      logger.critical(
        "neighbour alert: \(alert.kind) at \(alert.household)",
        metadata: ["outpost_kind": "neighbour-alert"])
    case .locateNow:
      logger.info("the station asked for a position")
    case .time(let time):
      logger.debug("station time \(time.stationTimeMs) ms (±\(time.uncertaintyMs) ms)")
    default:
      break
    }
  }

  func uplinkClock() async -> (boot: UInt32, wallMs: Int64, anchor: TimeAnchor?) {
    await recorder.uplinkClock()
  }
}

/// The end of a link's start: its TLS context is built and its first round of connection
/// attempts is over, connected or retrying. Building the context and dialling run BoringSSL's
/// set-up, which is not needed again, so the code pages go back then, once (``CodePages``), but
/// not before the agent's own start-up is over: pages given back while it runs come straight
/// back.
final class LinkStart: Sendable {
  private let ended = Atomic<Bool>(false)
  let startup: StartupGate
  let logger: Logger

  init(startup: StartupGate, logger: Logger) {
    self.startup = startup
    self.logger = logger
  }

  /// The first call releases the code pages once the start-up gate is open; later calls do
  /// nothing.
  func end() {
    guard !ended.exchange(true, ordering: .relaxed) else { return }
    let startup = startup
    let logger = logger
    Task {
      await startup.wait()
      CodePages.releaseUnused(logger: logger)
    }
  }
}
