import Glibc
import Logging
import NIOCore
import NIOPosix
import OutpostEnrollment
import OutpostHooks
import OutpostJournal
import OutpostSystemd
import ServiceLifecycle

/// The field agent, assembled from its configuration: one `ServiceGroup` of the journal writer,
/// the feedback hooks, the control socket, every source and the systemd integration.
public enum Agent {
  /// Opens (and recovers) the journal, starts every service and runs until SIGTERM or SIGINT,
  /// then stops them in reverse order and closes the journal.
  ///
  /// - Throws: ``AgentError`` or ``JournalError`` when the state directory or the journal
  ///   cannot be used; errors of services that fail.
  public static func run(
    _ configuration: AgentConfiguration, logger: Logger,
    notifier: SystemdNotifier = SystemdNotifier()
  ) async throws {
    try makeDirectory(configuration.stateDirectory, mode: 0o750)
    let boot = try BootCounter.current(stateDirectory: configuration.stateDirectory)
    var journalLogger = logger
    journalLogger[metadataKey: "component"] = "journal"
    let ring: RingJournal
    do {
      ring = try RingJournal.openOrCreate(
        path: configuration.journalPath, size: configuration.journal.size,
        logger: journalLogger)
    } catch {
      throw AgentError("journal \(configuration.journalPath): \(error)")
    }
    logger.info(
      "journal open",
      metadata: [
        "path": "\(configuration.journalPath)", "epoch": "\(String(ring.epoch, radix: 16))",
        "next_seq": "\(ring.nextSequenceNumber)", "ack_floor": "\(ring.ackFloor)",
        "boot": "\(boot)",
      ])
    let writer = JournalWriter(journal: ring, groupCommitDelay: configuration.journal.groupCommit)
    let clock = BoxClock(boot: boot)
    let recorder = try await Recorder(
      writer: writer, clock: clock, settings: configuration.alarm, logger: logger)
    let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
      try await run(
        configuration, recorder: recorder, writer: writer, journalLogger: journalLogger,
        eventLoops: eventLoops, logger: logger, notifier: notifier)
    } catch {
      try? await eventLoops.shutdownGracefully()
      throw error
    }
    try? await eventLoops.shutdownGracefully()
    logger.info("stopped")
  }

  private static func run(
    _ configuration: AgentConfiguration, recorder: Recorder, writer: JournalWriter,
    journalLogger: Logger, eventLoops: MultiThreadedEventLoopGroup, logger: Logger,
    notifier: SystemdNotifier
  ) async throws {

    await recorder.enrollment(waiting: access(configuration.enrollmentPath, F_OK) != 0)
    let sources = Sources.make(
      configuration, recorder: recorder, eventLoops: eventLoops, logger: logger)
    let gate = StartupGate(parties: 1 + sources.count)
    let uplink = UplinkService(
      configuration: configuration, recorder: recorder, writer: writer, eventLoops: eventLoops,
      stationOverride: configuration.uplink.stations.compactMap(StationAddress.init),
      startup: gate, logger: logger)
    let desk = ControlDesk(
      recorder: recorder, device: configuration.device, logger: logger,
      enrolled: { uplink.enrolled() })
    let control = ControlServer(
      path: configuration.controlSocketPath, group: configuration.control.group, desk: desk,
      eventLoops: eventLoops, logger: logger, listening: { gate.arrived() })
    let feedback = FeedbackService(
      recorder: recorder, settings: configuration.feedback, runner: HookRunner(logger: logger),
      logger: logger)
    var watchdog: Watchdog?
    if let period = try notifier.watchdogInterval() {
      let loop = eventLoops.next()
      watchdog = Watchdog(
        period: period,
        probes: [
          .init(name: "event loop") { try? await loop.submit {}.get() },
          .init(name: "journal writer") { await writer.withJournal { _ in } },
          .init(name: "recorder") { _ = await recorder.appends },
        ], logger: logger)
      logger.info("watchdog enabled: pinging every \(period)")
    }
    let systemd = SystemdService(
      recorder: recorder, gate: gate, watchdog: watchdog, notifier: notifier, logger: logger)

    var services: [any Service] = [JournalService(writer: writer, logger: journalLogger)]
    services.append(feedback)
    services.append(control)
    services.append(uplink)
    services += sources.map { source in GatedSource(source: source, gate: gate) as any Service }
    services.append(systemd)
    let group = ServiceGroup(
      configuration: .init(
        services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
  }

  /// Creates `path` (and its parents) when missing; a relative path is taken from the working
  /// directory.
  static func makeDirectory(_ path: String, mode: mode_t) throws(AgentError) {
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
      current += "/" + part
      if mkdir(current, mode) != 0 && errno != EEXIST {
        throw AgentError.system("mkdir", path: current, errno: errno)
      }
    }
  }
}

/// A source that opens the start-up gate once it has made its first attempt.
struct GatedSource: Service {
  let source: any FieldSource
  let gate: StartupGate

  func run() async throws {
    try await source.run(firstAttempt: { gate.arrived() })
  }
}
