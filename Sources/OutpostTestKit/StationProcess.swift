import Glibc
import Synchronization

/// A fixture that could not be set up, saying why.
public struct TestSetupError: Error, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// A real `outpost-station` started by a test: its own CA and SQLite store in a scratch
/// directory, its own run directory, listening on a loopback port the kernel picks, its own
/// `NOTIFY_SOCKET`, logs to a file.
public final class StationProcess: @unchecked Sendable {
  public let directory = TemporaryDirectory("station")
  public let notify: NotifyListener
  public private(set) var process: ChildProcess
  private let received = NotificationQueue()
  public let config: String
  /// `127.0.0.1:PORT` where boxes connect.
  public private(set) var address = ""

  public var stateDirectory: String { directory.file("state") }
  public var runDirectory: String { directory.file("run") }
  public var logPath: String { directory.file("station.log") }
  public var log: String { (try? FileBytes.readText(logPath)) ?? "" }
  public var notifications: [String] { received.messages.withLock { $0 } }

  /// Makes the CA, then starts the station with `config` (TOML) on `listen` (default: a port
  /// the kernel picks) and waits until it is ready.
  ///
  /// - Parameter prepareState: runs first, with the state directory's path (not yet made), for
  ///   a test that puts the state somewhere special, such as a small file system of its own.
  public init(
    config: String = "", listen: String = "127.0.0.1:0",
    prepareState: (_ path: String) throws -> Void = { _ in }
  ) async throws {
    self.config = config
    notify = try NotifyListener()
    try prepareState(directory.file("state"))
    try FileBytes.write(Array(config.utf8), to: directory.file("station.toml"))
    let created = try await Self.run(
      [
        "ca", "init", "--config", directory.file("station.toml"), "--state-dir",
        directory.file("state"),
      ])
    guard created.ending == .exited(0) else {
      throw TestSetupError("ca init: \(created.errorOutput)")
    }
    process = try Self.spawn(directory: directory, notify: notify, listen: listen)
    startDraining()
    guard let ready = await waitForNotification(containing: "READY=1"),
      let address = Self.address(in: ready)
    else { throw TestSetupError("the station did not get ready:\n\(log)") }
    self.address = address
  }

  private static func spawn(directory: TemporaryDirectory, notify: NotifyListener, listen: String)
    throws -> ChildProcess
  {
    try ChildProcess(
      try ProductBinary.path("outpost-station"),
      [
        "--config", directory.file("station.toml"), "--state-dir", directory.file("state"),
        "--run-dir", directory.file("run"), "--listen", listen,
      ], errorPath: directory.file("station.log"),
      environment: ["NOTIFY_SOCKET": notify.notifySocket])
  }

  private func startDraining() {
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
    process.signal(SIGKILL)
    _ = process.wait()
  }

  /// `127.0.0.1:PORT` out of the READY status ("listening on [IPv4]127.0.0.1/127.0.0.1:PORT; …").
  public static func address(in status: String) -> String? {
    guard let range = status.firstRange(of: "127.0.0.1:") else { return nil }
    let port = status[range.upperBound...].prefix { $0.isNumber }
    return port.isEmpty ? nil : "127.0.0.1:\(port)"
  }

  public func waitForNotification(containing text: String, seconds: Int = 20) async -> String? {
    let received = received
    return try? await onOwnThread {
      let deadline = monotonicMs() + UInt64(seconds) * 1000
      repeat {
        if let seen = received.messages.withLock({ $0.first { $0.contains(text) } }) {
          return seen
        }
        usleep(10_000)
      } while monotonicMs() < deadline
      return nil
    }
  }

  /// Runs an `outpost-station` command against this station's state and run directories.
  public func command(_ arguments: [String]) async throws -> ChildResult {
    try await Self.run(
      arguments + [
        "--config", directory.file("station.toml"), "--state-dir", stateDirectory, "--run-dir",
        runDirectory,
      ])
  }

  public static func run(_ arguments: [String]) async throws -> ChildResult {
    try await onOwnThread { try runChild(try ProductBinary.path("outpost-station"), arguments) }
  }

  /// Enrolls a device and returns the path of its bundle.
  public func enroll(_ name: String, _ options: [String] = []) async throws -> String {
    let bundle = directory.file("\(name).json")
    let added = try await command(
      ["device", "add", name, "--bundle", bundle, "--station", address] + options)
    guard added.ending == .exited(0) else {
      throw TestSetupError("device add \(name): \(added.errorOutput)")
    }
    return bundle
  }

  /// Polls `body` every 50 ms for up to `seconds`, off the cooperative pool.
  public func eventually(seconds: Int = 20, _ body: @escaping @Sendable () throws -> Bool) async
    -> Bool
  {
    (try? await onOwnThread {
      let deadline = monotonicMs() + UInt64(seconds) * 1000
      repeat {
        if (try? body()) == true { return true }
        usleep(50_000)
      } while monotonicMs() < deadline
      return false
    }) ?? false
  }

  /// Kills the station with `signal` and reaps it.
  public func kill(_ signal: Int32) async -> ChildProcess.Ending {
    process.signal(signal)
    return (try? await onOwnThread { self.process.wait() }) ?? .exited(-1)
  }

  /// Starts the station again on the same state and address.
  public func restart() async throws {
    received.messages.withLock { $0.removeAll() }
    process = try Self.spawn(directory: directory, notify: notify, listen: address)
    guard await waitForNotification(containing: "READY=1") != nil else {
      throw TestSetupError("the station did not get ready again:\n\(log)")
    }
  }

  /// Stops with SIGTERM and reaps.
  public func stop() async -> ChildProcess.Ending {
    process.signal(SIGTERM)
    return
      (try? await onOwnThread {
        _ = self.process.read(until: monotonicMs() + 20_000)
        return self.process.wait()
      }) ?? .exited(-1)
  }
}

/// Notifications received so far, and whether to keep reading them.
final class NotificationQueue: Sendable {
  let messages = Mutex<[String]>([])
  let draining = Atomic<Bool>(true)
}
