import Glibc
import OutpostTestKit
import Synchronization

/// A real `outpostd` started by a test: its own state and run directories, its own
/// `NOTIFY_SOCKET`, logs to a file.
final class Daemon: @unchecked Sendable {
  let directory = TemporaryDirectory("outpostd")
  let notify: NotifyListener
  private(set) var process: ChildProcess
  private let launch: (arguments: [String], environment: [String: String])
  /// Every notification received so far, in order. A thread keeps reading the socket, as
  /// systemd does: a datagram socket nobody reads fills up, and the daemon's next `sd_notify`
  /// would then block.
  private let received = NotificationLog()

  var notifications: [String] { received.messages.withLock { $0 } }

  var stateDirectory: String { directory.file("state") }
  var runDirectory: String { directory.file("run") }
  var logPath: String { directory.file("outpostd.log") }

  /// Starts outpostd with `config` (TOML text), extra environment and extra arguments; with
  /// `enrollment`, `outpostctl enroll` installs that bundle first.
  init(
    config: String, environment: [String: String] = [:], arguments: [String] = [],
    enrollment: String? = nil
  ) throws {
    notify = try NotifyListener()
    try FileBytes.write(Array(config.utf8), to: directory.file("agent.toml"))
    if let enrollment {
      let enrolled = try runChild(
        try ProductBinary.path("outpostctl"),
        [
          "enroll", enrollment, "--state-dir", directory.file("state"), "--run-dir",
          directory.file("run"),
        ])
      guard enrolled.ending == .exited(0) else {
        throw TestSetupError("outpostctl enroll failed: \(enrolled.errorOutput)")
      }
    }
    var variables = environment
    variables["NOTIFY_SOCKET"] = notify.notifySocket
    launch = (
      [
        "--config", directory.file("agent.toml"), "--state-dir", directory.file("state"),
        "--run-dir", directory.file("run"),
      ] + arguments, variables
    )
    process = try ChildProcess(
      try ProductBinary.path("outpostd"), launch.arguments,
      errorPath: directory.file("outpostd.log"), environment: launch.environment)
    let notify = notify
    let received = received
    Task.detached {
      _ = try? await onOwnThread {
        while received.draining.load(ordering: .relaxed) {
          if let message = notify.receive() { received.messages.withLock { $0.append(message) } }
        }
      }
    }
  }

  deinit {
    received.draining.store(false, ordering: .relaxed)
  }

  /// A minimal configuration: a 1 MiB journal, the control socket for our own group. Joined
  /// presses are written at most every 600 s, so that tests counting records do not depend on
  /// how fast this machine runs them.
  static let minimalConfig = """
    [agent]
    device = "test-box"
    [journal]
    size = 1048576
    group_commit_ms = 20
    [alarm]
    record_interval_s = 600
    [control]
    group = ""

    """

  /// Waits for a notification containing `text`; returns it, or nil after `seconds`.
  @discardableResult
  func waitForNotification(containing text: String, seconds: Int = 20) async -> String? {
    try? await onOwnThread { self.blockingWaitForNotification(containing: text, seconds: seconds) }
      ?? nil
  }

  private func blockingWaitForNotification(containing text: String, seconds: Int) -> String? {
    let deadline = monotonicMs() + UInt64(seconds) * 1000
    repeat {
      if let seen = notifications.first(where: { $0.contains(text) }) { return seen }
      usleep(10_000)
    } while monotonicMs() < deadline
    return nil
  }

  /// Forgets the notifications seen so far.
  func clearNotifications() {
    received.messages.withLock { $0.removeAll() }
  }

  /// Runs outpostctl against this daemon's control socket.
  func outpostctl(_ arguments: [String]) async throws -> ChildResult {
    let all = arguments + ["--run-dir", runDirectory]
    return try await onOwnThread { try runChild(try ProductBinary.path("outpostctl"), all) }
  }

  /// outpostctl without the run directory appended (for commands where it goes elsewhere).
  func outpostctlRaw(_ arguments: [String]) async throws -> ChildResult {
    try await onOwnThread { try runChild(try ProductBinary.path("outpostctl"), arguments) }
  }

  /// Records the daemon's journal holds that the station has not acknowledged yet, as
  /// `outpostctl status --json` reports them (nil when it answers nothing readable). Blocks the
  /// calling thread: call it from a polling helper such as `StationProcess.eventually`.
  func pendingRecords() throws -> UInt64? {
    let status = try runChild(
      try ProductBinary.path("outpostctl"), ["status", "--json", "--run-dir", runDirectory])
    return JSONValue(parsing: status.output)?["pending"]?.uint64
  }

  /// The daemon's log so far.
  var log: String { (try? FileBytes.readText(logPath)) ?? "" }

  /// Sends SIGTERM and waits for the exit.
  func stop() async -> ChildProcess.Ending {
    process.signal(SIGTERM)
    return
      (try? await onOwnThread {
        _ = self.process.read(until: monotonicMs() + 20_000)
        return self.process.wait()
      }) ?? .exited(-1)
  }

  /// Starts the daemon again on the same state (after ``kill(_:)`` or ``stop()``), its log
  /// appended to the same file, and waits for its `READY=1`.
  func restart() async throws {
    clearNotifications()
    process = try ChildProcess(
      try ProductBinary.path("outpostd"), launch.arguments,
      errorPath: directory.file("outpostd.log"), environment: launch.environment)
    guard await waitForNotification(containing: "READY=1") != nil else {
      throw TestSetupError("outpostd did not get ready again:\n\(log)")
    }
  }

  /// Kills the daemon with `signal` and reaps it.
  func kill(_ signal: Int32) async -> ChildProcess.Ending {
    process.signal(signal)
    return (try? await onOwnThread { self.process.wait() }) ?? .exited(-1)
  }
}

/// The notifications a daemon sent, and whether to keep reading them.
final class NotificationLog: Sendable {
  let messages = Mutex<[String]>([])
  let draining = Atomic<Bool>(true)
}
