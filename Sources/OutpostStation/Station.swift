import Glibc
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OutpostCA
import OutpostStore
import OutpostSystemd
import ServiceLifecycle

/// The station daemon, assembled from its configuration: one `ServiceGroup` of the box
/// listener, the datagram listener, the control socket, the timers and the systemd
/// integration, over one store.
public enum Station {
  /// Opens the store the configuration names (migrating its schema), or throws saying why.
  public static func openStore(_ configuration: StationConfiguration, logger: Logger) async throws
    -> any StationStore
  {
    switch configuration.store {
    case .sqlite(let path):
      try makeDirectory(configuration.stateDirectory, mode: 0o750)
      return try SQLiteStationStore(path: configuration.statePath(path), logger: logger)
    case .postgresql(let host, let port, let user, let password, let database):
      let store = PostgresStationStore(
        configuration: .init(
          host: host, port: port, username: user, password: password, database: database),
        logger: logger)
      Task { await store.run() }
      return store
    }
  }

  /// Runs until SIGTERM or SIGINT.
  ///
  /// - Throws: ``StationError`` when the CA, the store or a listening address cannot be used.
  public static func run(
    _ configuration: StationConfiguration, logger: Logger,
    notifier: SystemdNotifier = SystemdNotifier(),
    listening: @escaping @Sendable ([String]) -> Void = { _ in }
  ) async throws {
    try makeDirectory(configuration.stateDirectory, mode: 0o750)
    try makeDirectory(configuration.runDirectory, mode: 0o750)
    OpenFilesLimit.raise(forConnections: configuration.link.maxConnections, logger: logger)
    let ca: CertificateAuthority
    do {
      ca = try CertificateAuthority.load(directory: configuration.caDirectory)
    } catch {
      throw StationError("\(error)")
    }
    let tls = try StationTLS.serverContext(ca: ca)
    let store = try await openStore(configuration, logger: logger)
    do {
      try await store.migrate()
    } catch {
      throw StationError("store: \(error)")
    }
    let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    let core = StationCore(configuration: configuration, store: store, logger: logger)
    let sockets = try SocketActivation.passedSockets()
    let ready = ReadySignal(
      notifier: notifier, logger: logger, core: core,
      expectsDatagrams: configuration.datagram.enabled)
    let datagrams =
      configuration.datagram.enabled
      ? DatagramListener(
        core: core, eventLoops: eventLoops, inheritedSockets: sockets.datagram,
        addresses: configuration.datagram.listen
      ) { bound in
        ready.receivingDatagrams(bound)
      } : nil
    let listener = Listener(
      core: core, tls: tls, eventLoops: eventLoops, inheritedSockets: sockets.stream,
      addresses: configuration.listen
    ) { bound in
      let names = bound.map { "\($0)" }
      ready.listening(names)
      datagrams?.follow(bound)
      listening(names)
    }
    let control = StationControl(
      core: core, path: configuration.controlSocketPath, eventLoops: eventLoops)
    let upstream = try configuration.upstream.map { _ in
      try Upstream(core: core, eventLoops: eventLoops)
    }
    let timers = Timers(
      core: core,
      escalation: Escalation(core: core, eventLoops: eventLoops, upstream: upstream))
    var services: [any Service] = [control, listener]
    if let datagrams { services.append(datagrams) }
    services += [timers, ready] as [any Service]
    if let upstream { services.append(upstream) }
    let group = ServiceGroup(
      configuration: .init(
        services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    do {
      try await group.run()
    } catch {
      try? await store.close()
      try? await eventLoops.shutdownGracefully()
      throw error
    }
    _ = try? notifier.stopping()
    try? await store.close()
    try? await eventLoops.shutdownGracefully()
    logger.info("stopped")
  }

  /// Creates `path` and its parents when missing.
  public static func makeDirectory(_ path: String, mode: mode_t) throws {
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
      current += "/" + part
      if mkdir(current, mode) != 0 && errno != EEXIST {
        throw StationError("cannot create \(current): \(String(cString: strerror(errno)))")
      }
    }
  }
}

/// Tells systemd the station is ready once it listens (for datagrams too, unless they are off),
/// keeps `STATUS=` current (boxes connected, open incidents) and pings the watchdog while the
/// event loops and the store answer.
final class ReadySignal: Service {
  let notifier: SystemdNotifier
  let logger: Logger
  let core: StationCore
  let expectsDatagrams: Bool
  private enum Bound {
    case stream([String])
    case datagram([String])
  }
  private let bound = AsyncStream<Bound>.makeStream()

  init(notifier: SystemdNotifier, logger: Logger, core: StationCore, expectsDatagrams: Bool) {
    self.notifier = notifier
    self.logger = logger
    self.core = core
    self.expectsDatagrams = expectsDatagrams
  }

  /// The TLS listener bound `addresses`.
  func listening(_ addresses: [String]) {
    bound.continuation.yield(.stream(addresses))
  }

  /// The datagram listener bound `addresses`.
  func receivingDatagrams(_ addresses: [String]) {
    bound.continuation.yield(.datagram(addresses))
  }

  func run() async throws {
    var stream: [String]?
    var datagram: [String]?
    for await event in bound.stream {
      switch event {
      case .stream(let addresses): stream = addresses
      case .datagram(let addresses): datagram = addresses
      }
      if stream != nil, datagram != nil || !expectsDatagrams { break }
    }
    guard let stream else { return }
    let addresses =
      stream.joined(separator: ", ")
      + (datagram.map { "; datagrams on \($0.joined(separator: ", "))" } ?? "")
    _ = try? notifier.ready(status: await status(addresses))
    let watchdog = try? notifier.watchdogInterval()
    let period = watchdog ?? .seconds(30)
    try? await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        try await Task.sleep(for: period)
        let text = await self.status(addresses)
        _ = try? self.notifier.status(text)
        if watchdog != nil {
          // The store answering is the station making progress.
          if (try? await self.core.store.incidents(openOnly: true, limit: 1)) != nil {
            _ = try? self.notifier.watchdog()
          }
        }
      }
    }
    _ = try? notifier.stopping()
  }

  private func status(_ addresses: String) async -> String {
    let boxes = await core.links.count
    let open = (try? await core.store.incidents(openOnly: true, limit: 1000).count) ?? 0
    return "listening on \(addresses); \(boxes) boxes connected; "
      + "\(open) open incidents"
  }
}
