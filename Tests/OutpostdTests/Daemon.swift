import Glibc
import OutpostTestKit

/// A real `outpostd` started by a test: its own state and run directories, its own
/// `NOTIFY_SOCKET`, logs to a file.
final class Daemon: @unchecked Sendable {
  let directory = TemporaryDirectory("outpostd")
  let notify: NotifyListener
  let process: ChildProcess
  /// Every notification received so far, in order.
  private(set) var notifications: [String] = []

  var stateDirectory: String { directory.file("state") }
  var runDirectory: String { directory.file("run") }
  var logPath: String { directory.file("outpostd.log") }

  /// Starts outpostd with `config` (TOML text) and extra environment.
  init(config: String, environment: [String: String] = [:]) throws {
    notify = try NotifyListener()
    try FileBytes.write(Array(config.utf8), to: directory.file("agent.toml"))
    var variables = environment
    variables["NOTIFY_SOCKET"] = notify.notifySocket
    process = try ChildProcess(
      try ProductBinary.path("outpostd"),
      [
        "--config", directory.file("agent.toml"), "--state-dir", directory.file("state"),
        "--run-dir", directory.file("run"),
      ], errorPath: directory.file("outpostd.log"), environment: variables)
  }

  /// A minimal configuration: a 1 MiB journal, the control socket for our own group.
  static let minimalConfig = """
    [agent]
    device = "test-box"
    [journal]
    size = 1048576
    group_commit_ms = 20
    [control]
    group = ""

    """

  /// Waits for a notification containing `text`; returns it, or nil after `seconds`.
  @discardableResult
  func waitForNotification(containing text: String, seconds: Int = 20) -> String? {
    if let seen = notifications.first(where: { $0.contains(text) }) { return seen }
    let deadline = monotonicMs() + UInt64(seconds) * 1000
    while monotonicMs() < deadline {
      guard let message = notify.receive() else { continue }
      notifications.append(message)
      if message.contains(text) { return message }
    }
    return nil
  }

  /// Forgets the notifications seen so far.
  func clearNotifications() {
    notifications.removeAll()
  }

  /// Runs outpostctl against this daemon's control socket.
  func outpostctl(_ arguments: [String]) throws -> ChildResult {
    try runChild(try ProductBinary.path("outpostctl"), arguments + ["--run-dir", runDirectory])
  }

  /// outpostctl without the run directory appended (for commands where it goes elsewhere).
  func outpostctlRaw(_ arguments: [String]) throws -> ChildResult {
    try runChild(try ProductBinary.path("outpostctl"), arguments)
  }

  /// The daemon's log so far.
  var log: String { (try? FileBytes.readText(logPath)) ?? "" }

  /// Sends SIGTERM and waits for the exit.
  func stop() -> ChildProcess.Ending {
    process.signal(SIGTERM)
    _ = process.read(until: monotonicMs() + 20_000)
    return process.wait()
  }
}
