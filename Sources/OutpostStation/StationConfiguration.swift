import OutpostConfig
import OutpostEnrollment

/// The station's settings: `/etc/outpost/station.toml` (sample: `Config/station.toml`), with
/// `--state-dir`, `--run-dir` and `--listen` overriding it.
public struct StationConfiguration: Sendable {
  /// This station's name, in logs, link state and audit lines.
  public var name = "outpost-station"
  public var stateDirectory = "/var/lib/outpost-station"
  public var runDirectory = "/run/outpost-station"
  /// Where boxes connect (TLS 1.3, mutual certificates).
  public var listen: [StationAddress] = [StationAddress(host: "0.0.0.0", port: 7410)]
  /// Addresses written into enrollment bundles (what boxes dial); default: `listen`, with
  /// wildcard hosts replaced by this machine's loopback.
  public var advertise: [StationAddress] = []
  public var store = StoreSettings.sqlite(path: "station.db")
  public var link = LinkSettings()
  /// The datagram form: UDP, sealed with the devices' datagram keys.
  public var datagram = DatagramSettings()
  public var timers = TimerSettings()
  public var escalation = EscalationSettings()
  /// A higher station this one forwards unacknowledged incidents to (post → township →
  /// banner), with the enrollment bundle the higher station issued for this one.
  public var upstream: UpstreamSettings?

  public init() {}

  public enum StoreSettings: Sendable, Hashable {
    /// A SQLite file, relative to the state directory unless absolute.
    case sqlite(path: String)
    /// A PostgreSQL server, several stations may share it.
    case postgresql(host: String, port: Int, user: String, password: String?, database: String)
  }

  public struct LinkSettings: Sendable, Hashable {
    /// Batches a box may have unacknowledged in flight.
    public var window = 8
    public var recordsPerBatch = 256
    /// Seconds between pings on an idle link (the box pings; the station drops a box silent
    /// for two and a half of these).
    public var pingIntervalSeconds = 300
    /// How long a new connection has for its TLS handshake and hello.
    public var helloTimeoutSeconds = 10
    /// Connections at once; more are refused at once.
    public var maxConnections = 20_000
  }

  public struct DatagramSettings: Sendable, Hashable {
    /// Whether the station receives datagrams at all.
    public var enabled = true
    /// Where datagrams are received (UDP). Empty: the addresses and ports the TLS listener
    /// bound (UDP and TCP have separate port spaces, so both share one number).
    public var listen: [StationAddress] = []
  }

  public struct TimerSettings: Sendable, Hashable {
    /// How often the check-in, offline and escalation timers are looked at.
    public var checkIntervalSeconds = 30
    /// A box silent this long raises "box offline" (a device may have its own limit).
    public var offlineAfterSeconds = 6 * 3600
  }

  public struct EscalationSettings: Sendable, Hashable {
    /// An incident not acknowledged this long after it opened is escalated (0: never).
    public var afterSeconds = 300
    /// Commands run with the incident in OUTPOST_* environment variables.
    public var commands: [[String]] = []
    /// URLs (http://) that get the incident as a JSON POST.
    public var webhooks: [String] = []
  }

  public struct UpstreamSettings: Sendable, Hashable {
    /// The bundle (`outpost-station device add … --bundle` at the higher station).
    public var bundle: String
    /// Overrides the bundle's station addresses.
    public var stations: [StationAddress]
    /// The forwarding journal's size in bytes.
    public var journalSize: UInt64 = 16 << 20
  }

  /// Makes a relative path absolute under the state directory.
  public func statePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : "\(stateDirectory)/\(path)"
  }

  public var controlSocketPath: String { "\(runDirectory)/control.sock" }
  public var caDirectory: String { statePath("ca") }

  /// Where enrollment bundles tell boxes to connect.
  public var advertised: [StationAddress] {
    if !advertise.isEmpty { return advertise }
    return listen.map { address in
      switch address.host {
      case "0.0.0.0", "": StationAddress(host: "127.0.0.1", port: address.port)
      case "::": StationAddress(host: "::1", port: address.port)
      default: address
      }
    }
  }
}

extension StationConfiguration {
  /// Reads a configuration document; absent keys keep their defaults, unknown keys are errors.
  ///
  /// - Throws: ``ConfigError`` naming the key, its line and what would be valid.
  public static func parse(_ text: String) throws(ConfigError) -> StationConfiguration {
    let document: TOMLTable
    do {
      document = try TOML.parse(text)
    } catch {
      throw ConfigError(error)
    }
    let root = ConfigTable(document)
    var c = StationConfiguration()
    if let station = try root.optionalTable("station") {
      c.name = try station.string("name", default: c.name)
      guard !c.name.isEmpty, c.name.utf8.count <= 64 else {
        throw station.error("name", "must be 1 to 64 bytes")
      }
      c.stateDirectory = try station.string("state_dir", default: c.stateDirectory)
      c.runDirectory = try station.string("run_dir", default: c.runDirectory)
      if let listen = try station.optionalStrings("listen") {
        c.listen = try addresses(listen, key: "listen", in: station)
        guard !c.listen.isEmpty else { throw station.error("listen", "needs an address") }
      }
      if let advertise = try station.optionalStrings("advertise") {
        c.advertise = try addresses(advertise, key: "advertise", in: station)
      }
      try station.finish()
    }
    if let store = try root.optionalTable("store") {
      let kind = try store.choice(
        "kind", [("sqlite", "sqlite"), ("postgresql", "postgresql")], default: "sqlite")
      if kind == "sqlite" {
        c.store = .sqlite(path: try store.string("path", default: "station.db"))
      } else {
        let port = try store.integer("port", default: 5432, in: 1...65535)
        c.store = .postgresql(
          host: try store.string("host", default: "127.0.0.1"), port: Int(port),
          user: try store.string("user", default: "outpost"),
          password: try store.optionalString("password", allowEmpty: true),
          database: try store.string("database", default: "outpost"))
      }
      try store.finish()
    }
    if let link = try root.optionalTable("link") {
      c.link.window = Int(try link.integer("window", default: 8, in: 1...64))
      c.link.recordsPerBatch = Int(
        try link.integer("records_per_batch", default: 256, in: 1...256))
      c.link.pingIntervalSeconds = Int(
        try link.integer("ping_interval_s", default: 300, in: 5...86_400, unit: "seconds"))
      c.link.helloTimeoutSeconds = Int(
        try link.integer("hello_timeout_s", default: 10, in: 1...300, unit: "seconds"))
      c.link.maxConnections = Int(
        try link.integer("max_connections", default: 20_000, in: 1...1_000_000))
      try link.finish()
    }
    if let datagram = try root.optionalTable("datagram") {
      c.datagram.enabled = try datagram.bool("enabled", default: true)
      if let listen = try datagram.optionalStrings("listen") {
        c.datagram.listen = try addresses(listen, key: "listen", in: datagram)
      }
      try datagram.finish()
    }
    if let timers = try root.optionalTable("timers") {
      c.timers.checkIntervalSeconds = Int(
        try timers.integer("check_interval_s", default: 30, in: 1...3600, unit: "seconds"))
      c.timers.offlineAfterSeconds = Int(
        try timers.integer(
          "offline_after_s", default: 6 * 3600, in: 60...(30 * 86_400), unit: "seconds"))
      try timers.finish()
    }
    if let escalation = try root.optionalTable("escalation") {
      c.escalation.afterSeconds = Int(
        try escalation.integer("after_s", default: 300, in: 0...86_400, unit: "seconds"))
      if let command = try escalation.optionalStrings("command"), !command.isEmpty {
        c.escalation.commands = [command]
      }
      if let webhooks = try escalation.optionalStrings("webhooks") {
        for url in webhooks where !url.hasPrefix("http://") {
          throw escalation.error("webhooks", "\"\(url)\" must start with http://")
        }
        c.escalation.webhooks = webhooks
      }
      try escalation.finish()
    }
    if let upstream = try root.optionalTable("upstream") {
      let bundle = try upstream.requiredString("bundle", "the enrollment bundle for this station")
      let stations = try addresses(
        try upstream.optionalStrings("stations") ?? [], key: "stations", in: upstream)
      var settings = UpstreamSettings(bundle: bundle, stations: stations)
      settings.journalSize = UInt64(
        try upstream.integer(
          "journal_size", default: 16 << 20, in: (1 << 20)...(1 << 36), unit: "bytes"))
      c.upstream = settings
      try upstream.finish()
    }
    try root.finish()
    return c
  }

  private static func addresses(_ texts: [String], key: String, in table: ConfigTable)
    throws(ConfigError) -> [StationAddress]
  {
    var result: [StationAddress] = []
    for text in texts {
      guard let address = StationAddress(text) else {
        throw table.error(key, "\"\(text)\" is not HOST:PORT (port 0 to 65535)")
      }
      result.append(address)
    }
    return result
  }
}
