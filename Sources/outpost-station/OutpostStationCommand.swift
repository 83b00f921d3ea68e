import ArgumentParser
import Foundation
import Logging
import OutpostCA
import OutpostConfig
import OutpostCore
import OutpostEnrollment
import OutpostStation
import OutpostStore
import OutpostSystemd

/// `outpost-station`: the police post's daemon and the commands officers and administrators
/// use on it. Subcommand names, flags and output formats are a contract for scripts.
@main
struct OutpostStationCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "outpost-station",
    abstract: "The Outpost station: receives boxes' records, opens incidents, raises alerts.",
    discussion: """
      Without a subcommand it runs the daemon (`run`). Every subcommand reads --config \
      (default /etc/outpost/station.toml; a missing default file means built-in defaults) and \
      takes --state-dir, so it runs without root.
      """,
    subcommands: [
      Run.self, CA.self, DeviceCommand.self, Devices.self, Events.self, Incidents.self,
      IncidentCommand.self, Audit.self,
    ],
    defaultSubcommand: Run.self
  )
}

/// Options every subcommand takes.
struct Common: ParsableArguments {
  @Option(help: "The configuration file.")
  var config = "/etc/outpost/station.toml"

  @Option(help: "The state directory (CA, store), overriding station.state_dir.")
  var stateDir: String?

  @Option(
    help:
      "The run directory (control socket; commands tell the daemon there what they changed), overriding station.run_dir."
  )
  var runDir: String?

  /// The configuration with the command line's overrides; exits 78 on a configuration error.
  func load() throws -> StationConfiguration {
    let explicit = CommandLine.arguments.contains {
      $0 == "--config" || $0.hasPrefix("--config=")
    }
    var configuration = StationConfiguration()
    if explicit || FileManager.default.fileExists(atPath: config) {
      do {
        let text = try String(contentsOfFile: config, encoding: .utf8)
        do {
          configuration = try StationConfiguration.parse(text)
        } catch {
          throw error.inFile(config)
        }
      } catch let error as ConfigError {
        printError("outpost-station: configuration error: \(error)")
        throw ExitCode(78)
      } catch {
        printError("outpost-station: configuration error: \(config): \(error.localizedDescription)")
        throw ExitCode(78)
      }
    }
    if let stateDir { configuration.stateDirectory = stateDir }
    if let runDir { configuration.runDirectory = runDir }
    return configuration
  }

  /// Opens the store for a command; exits 1 saying why when it cannot.
  func store(_ configuration: StationConfiguration) async throws -> any StationStore {
    do {
      let store = try await Station.openStore(configuration, logger: quietLogger())
      try await store.migrate()
      return store
    } catch {
      printError("outpost-station: store: \(error)")
      throw ExitCode(1)
    }
  }
}

func printError(_ text: String) {
  FileHandle.standardError.write(Data((text + "\n").utf8))
}

func quietLogger() -> Logger {
  var logger = Logger(label: "outpost-station") { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
  }
  logger.logLevel = .warning
  return logger
}

/// Tells a running daemon what the command changed; fine when none runs.
func tellDaemon(_ configuration: StationConfiguration, _ line: String) {
  let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { return }
  defer { close(fd) }
  var address = sockaddr_un()
  address.sun_family = sa_family_t(AF_UNIX)
  let path = Array(configuration.controlSocketPath.utf8)
  guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
  withUnsafeMutableBytes(of: &address.sun_path) { bytes in
    for (index, byte) in path.enumerated() { bytes[index] = byte }
  }
  let connected = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
    }
  }
  guard connected == 0 else { return }
  var timeout = timeval(tv_sec: 5, tv_usec: 0)
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
  let bytes = Array((line + "\n").utf8)
  _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  var reply = [UInt8](repeating: 0, count: 512)
  _ = read(fd, &reply, reply.count)
}

// MARK: run

struct Run: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the station daemon (the default).",
    discussion: """
      Logs go to journald when started by systemd, else to standard error. Exit status: 0 \
      after SIGTERM or SIGINT; 78 for a configuration error; 1 when the CA, the store or an \
      address cannot be used.
      """)

  @OptionGroup var common: Common

  @Flag(help: "Check the configuration, print what is wrong or a summary, and exit.")
  var checkConfig = false

  @Option(help: "HOST:PORT to listen on for boxes (repeatable), overriding station.listen.")
  var listen: [String] = []

  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
  var logLevel = "info"

  func run() async throws {
    var configuration = try common.load()
    if !listen.isEmpty {
      configuration.listen = try listen.map { text in
        guard let address = StationAddress(text) else {
          printError("outpost-station: --listen \(text): not HOST:PORT")
          throw ExitCode(64)
        }
        return address
      }
    }
    if checkConfig {
      print("\(common.config): OK")
      print(summary(configuration))
      return
    }
    guard let level = Logger.Level(rawValue: logLevel) else {
      printError("outpost-station: --log-level must be trace, debug, info, notice, warning, …")
      throw ExitCode(64)
    }
    let toJournal = JournaldLogHandler.bootstrapDaemon(identifier: "outpost-station", level: level)
    let logger = Logger(label: "outpost-station")
    do {
      try await Station.run(configuration, logger: logger)
    } catch {
      logger.critical("outpost-station cannot run: \(error)")
      if !toJournal { printError("outpost-station: \(error)") }
      throw ExitCode(1)
    }
  }

  func summary(_ c: StationConfiguration) -> String {
    var lines = [
      "station \(c.name)",
      "state \(c.stateDirectory), run \(c.runDirectory)",
      "listen \(c.listen.map(\.description).joined(separator: ", "))",
      "bundles point boxes at \(c.advertised.map(\.description).joined(separator: ", "))",
    ]
    switch c.store {
    case .sqlite(let path): lines.append("store SQLite \(c.statePath(path))")
    case .postgresql(let host, let port, let user, _, let database):
      lines.append("store PostgreSQL \(user)@\(host):\(port)/\(database)")
    }
    lines.append(
      "link: window \(c.link.window), \(c.link.recordsPerBatch) records a batch, ping every \(c.link.pingIntervalSeconds) s"
    )
    if !c.datagram.enabled {
      lines.append("datagrams: off")
    } else if c.datagram.listen.isEmpty {
      lines.append("datagrams: UDP on the listen addresses")
    } else {
      lines.append(
        "datagrams: UDP on \(c.datagram.listen.map(\.description).joined(separator: ", "))")
    }
    lines.append(
      "timers: every \(c.timers.checkIntervalSeconds) s; offline after \(c.timers.offlineAfterSeconds) s"
    )
    lines.append(
      "escalation: after \(c.escalation.afterSeconds) s, \(c.escalation.commands.count) commands, \(c.escalation.webhooks.count) webhooks"
    )
    if let upstream = c.upstream { lines.append("forwarding upward with \(upstream.bundle)") }
    return lines.joined(separator: "\n")
  }
}

// MARK: ca

struct CA: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ca", abstract: "The station's certificate authority.",
    subcommands: [CAInit.self])
}

struct CAInit: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Create the CA and the station's certificate in STATE/ca (keys owner-only).")

  @OptionGroup var common: Common

  @Option(help: "The CA's name, in its certificate.")
  var name = "Outpost station CA"

  @Option(help: "An extra DNS name or IP address for the station certificate (repeatable).")
  var stationName: [String] = []

  func run() async throws {
    let configuration = try common.load()
    do {
      try Station.makeDirectory(configuration.stateDirectory, mode: 0o750)
      _ = try CertificateAuthority.initialize(
        directory: configuration.caDirectory, name: name, stationNames: stationName)
    } catch {
      printError("outpost-station: ca init: \(error)")
      throw ExitCode(1)
    }
    print("CA created in \(configuration.caDirectory)")
  }
}

// MARK: device

struct DeviceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "device", abstract: "Enroll, link and revoke boxes.",
    subcommands: [DeviceAdd.self, DeviceRevoke.self, DeviceNeighbours.self])
}

struct DeviceAdd: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "add",
    abstract: "Enroll a box: register it and write its enrollment bundle.",
    discussion: """
      The bundle holds the box's private key: it is written owner-only; carry it to the box \
      and install it there with `outpostctl enroll FILE`.
      """)

  @OptionGroup var common: Common

  @Argument(help: "The device name (1 to 64 characters, no spaces).")
  var name: String

  @Option(help: "The household's name.")
  var household: String?

  @Option(help: "The grid (gacha) the household belongs to.")
  var gacha: String?

  @Option(help: "A contact phone number.")
  var phone: String?

  @Option(help: "The registered position, LAT,LON in degrees.")
  var location: String?

  @Option(help: "Hours within which the household must check in (no timer when absent).")
  var checkinEvery: Int?

  @Option(help: "Seconds of silence before \"box offline\" (default: the station's).")
  var offlineAfter: Int?

  @Option(help: "HOST:PORT boxes dial (repeatable; default: station.advertise or listen).")
  var station: [String] = []

  @Option(help: "Where to write the enrollment bundle.")
  var bundle: String

  func run() async throws {
    let configuration = try common.load()
    guard !name.isEmpty, name.utf8.count <= 64, name.allSatisfy({ $0.isASCII && !$0.isWhitespace })
    else {
      printError("outpost-station: device name must be 1 to 64 ASCII characters without spaces")
      throw ExitCode(64)
    }
    var coordinate: Coordinate?
    if let location {
      guard let parsed = parseLocation(location) else {
        printError("outpost-station: --location \(location): expected LAT,LON in degrees")
        throw ExitCode(64)
      }
      coordinate = parsed
    }
    var stations = configuration.advertised
    if !station.isEmpty {
      stations = try station.map { text in
        guard let address = StationAddress(text) else {
          printError("outpost-station: --station \(text): not HOST:PORT")
          throw ExitCode(64)
        }
        return address
      }
    }
    let ca: CertificateAuthority
    do {
      ca = try CertificateAuthority.load(directory: configuration.caDirectory)
    } catch {
      printError("outpost-station: \(error)")
      throw ExitCode(1)
    }
    let store = try await common.store(configuration)
    defer { Task { try? await store.close() } }
    let issued = try ca.issueDevice(name: name)
    // The datagram secret, from the system's CSPRNG (getrandom), stored with the device so that
    // the station can verify its datagrams.
    var generator = SystemRandomNumberGenerator()
    let secret = DatagramSecret(
      index: 0, bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    let device: Device
    do {
      device = try await store.addDevice(
        DeviceRegistration(
          name: name, household: household, gacha: gacha, phone: phone, location: coordinate,
          certificateSerial: issued.serial,
          checkInIntervalMs: checkinEvery.map { Int64($0) * 3_600_000 },
          offlineLimitMs: offlineAfter.map { Int64($0) * 1000 }),
        datagramSecrets: [secret], atMs: Int64(Date().timeIntervalSince1970 * 1000))
    } catch {
      printError("outpost-station: device add \(name): \(error)")
      throw ExitCode(1)
    }
    let enrollment = EnrollmentBundle(
      device: name, deviceNumber: device.number, stations: stations.map(\.description),
      caCertificate: ca.caCertificatePEM, certificate: issued.certificatePEM,
      privateKey: issued.privateKeyPEM,
      datagramKeys: [.init(index: secret.index, secret: secret.bytes)],
      issuedAtMs: Int64(Date().timeIntervalSince1970 * 1000))
    do {
      try writeOwnerOnly(enrollment.encoded(), to: bundle)
    } catch {
      printError("outpost-station: cannot write \(bundle): \(error)")
      throw ExitCode(1)
    }
    print("device \(name) enrolled as number \(device.number); bundle written to \(bundle)")
  }
}

/// Writes a file readable by its owner only (created 0600, never wider).
func writeOwnerOnly(_ bytes: [UInt8], to path: String) throws {
  let temporary = path + ".tmp"
  unlink(temporary)
  let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
  guard fd >= 0 else { throw StationError(String(cString: strerror(errno))) }
  let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  let synced = fsync(fd)
  close(fd)
  guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
    unlink(temporary)
    throw StationError(String(cString: strerror(errno)))
  }
}

func parseLocation(_ text: String) -> Coordinate? {
  let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
  guard parts.count == 2, let lat = Double(parts[0]), let lon = Double(parts[1]),
    (-90...90).contains(lat), (-180...180).contains(lon)
  else { return nil }
  return Coordinate(
    latitudeE7: Int32((lat * 1e7).rounded()), longitudeE7: Int32((lon * 1e7).rounded()))
}

struct DeviceRevoke: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "revoke",
    abstract: "Revoke a box: refused from its next connection on, a live link is cut.")

  @OptionGroup var common: Common

  @Argument(help: "The device name.")
  var name: String

  @Option(help: "Who revokes it, for the audit log.")
  var by = "admin"

  func run() async throws {
    let configuration = try common.load()
    let store = try await common.store(configuration)
    defer { Task { try? await store.close() } }
    do {
      _ = try await store.revokeDevice(
        named: name, by: by, atMs: Int64(Date().timeIntervalSince1970 * 1000))
    } catch {
      printError("outpost-station: device revoke \(name): \(error)")
      throw ExitCode(1)
    }
    tellDaemon(configuration, "device \(name)")
    print("device \(name) revoked")
  }
}

struct DeviceNeighbours: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "neighbours",
    abstract: "Link a household's box to its neighbours' boxes (they get its SOS).")

  @OptionGroup var common: Common

  @Argument(help: "The device name.")
  var name: String

  @Argument(help: "The neighbours' device names (none: unlink all).")
  var neighbours: [String] = []

  func run() async throws {
    let configuration = try common.load()
    let store = try await common.store(configuration)
    defer { Task { try? await store.close() } }
    do {
      try await store.setNeighbours(of: name, to: neighbours)
    } catch {
      printError("outpost-station: device neighbours \(name): \(error)")
      throw ExitCode(1)
    }
    print("\(name): neighbours \(neighbours.isEmpty ? "none" : neighbours.joined(separator: ", "))")
  }
}
