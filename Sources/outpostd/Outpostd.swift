import ArgumentParser
import Glibc
import Logging
import OutpostAgent
import OutpostConfig
import OutpostEnrollment
import OutpostSystemd

/// `outpostd`, the field agent. Its flags are a contract: the systemd unit and administrators'
/// scripts use them.
@main
struct Outpostd: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "outpostd",
    abstract: "The Outpost field agent: records presses, check-ins, readings and fixes.",
    discussion: """
      Reads its configuration from --config (default /etc/outpost/agent.toml; a missing \
      default file means built-in defaults). Logs go to journald when started by systemd, \
      else to standard error as plain text. Exit status: 0 after SIGTERM or SIGINT; 78 \
      (EX_CONFIG) for a configuration error; 1 when the journal or the state directory \
      cannot be used.
      """
  )

  @Option(help: "The configuration file.")
  var config = "/etc/outpost/agent.toml"

  @Flag(help: "Check the configuration, print what is wrong or a summary, and exit.")
  var checkConfig = false

  @Option(help: "The state directory (journal, boot counter), overriding agent.state_dir.")
  var stateDir: String?

  @Option(help: "The run directory (control socket), overriding agent.run_dir.")
  var runDir: String?

  @Option(
    help:
      "A station to connect to, HOST:PORT (repeatable); overrides uplink.stations and the enrollment's."
  )
  var station: [String] = []

  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
  var logLevel = "info"

  mutating func run() async throws {
    CodePages.adviseRandomAccess()
    var configuration: AgentConfiguration
    do {
      configuration = try Self.load(path: config, explicit: Self.configGivenExplicitly())
    } catch {
      Self.printError("outpostd: configuration error: \(error)")
      throw ExitCode(78)
    }
    if let stateDir { configuration.stateDirectory = stateDir }
    if let runDir { configuration.runDirectory = runDir }
    if !station.isEmpty {
      for text in station where (StationAddress(text)?.port ?? 0) == 0 {
        Self.printError("outpostd: --station \(text): not HOST:PORT (port 1 to 65535)")
        throw ExitCode(64)
      }
      configuration.uplink.stations = station
    }
    if checkConfig {
      print("\(config): OK")
      print(ConfigSummary.text(configuration))
      return
    }
    guard let level = Logger.Level(rawValue: logLevel) else {
      Self.printError(
        "outpostd: --log-level must be one of trace, debug, info, notice, warning, error, critical")
      throw ExitCode(64)
    }
    let toJournal = JournaldLogHandler.bootstrapDaemon(identifier: "outpostd", level: level)
    let logger = Logger(label: "outpostd")
    do {
      try await Agent.run(configuration, logger: logger)
    } catch {
      logger.critical("outpostd cannot run: \(error)")
      if !toJournal { Self.printError("outpostd: \(error)") }
      throw ExitCode(1)
    }
  }

  /// Whether `--config` was on the command line (a missing explicit file is an error; a
  /// missing default file means defaults).
  static func configGivenExplicitly() -> Bool {
    CommandLine.arguments.contains { $0 == "--config" || $0.hasPrefix("--config=") }
  }

  static func load(path: String, explicit: Bool) throws -> AgentConfiguration {
    let text: String
    do {
      text = try ConfigFile.read(path)
    } catch let error as ConfigFile.Missing where !explicit {
      _ = error
      return AgentConfiguration()
    }
    do {
      return try AgentConfiguration.parse(text)
    } catch {
      throw error.inFile(path)
    }
  }

  static func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
  }
}
