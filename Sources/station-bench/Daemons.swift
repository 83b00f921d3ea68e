import Glibc
import OutpostTestKit
import Synchronization

/// A setup step that failed, saying what and why.
struct BenchError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// A daemon of ours run as a child process: logs to a file, `NOTIFY_SOCKET` on a socket of our
/// own, started and stopped on request. Its process is always reaped (SIGKILL after 20 s of
/// SIGTERM, and when the value goes away).
///
/// The notification socket is read for as long as the daemon runs, as systemd reads it: the
/// agent sends `STATUS=` as its pending count changes, and a socket nobody reads fills up and
/// blocks the daemon's `sd_notify` (the agent's threads hung in `sendmsg` in the middle of a
/// drain, its shutdown ran into SIGKILL, and its journal lost the acknowledgements since the
/// last checkpoint).
final class Daemon: @unchecked Sendable {
  let binary: String
  let arguments: [String]
  let logPath: String
  private let notify: NotifyListener
  private let process = Mutex<Spawned?>(nil)
  /// Set while the notification reader should keep reading.
  private let reading = Atomic<Bool>(false)
  private let reader = Mutex<Task<Void, Never>?>(nil)
  /// What the daemon notified since its start: READY=1's text and its latest `STATUS=`.
  private let notified = Mutex<(ready: String?, status: String?)>((nil, nil))

  /// The child process, handed between threads only through the lock.
  struct Spawned: @unchecked Sendable {
    let child: ChildProcess
  }

  private func keep(_ child: ChildProcess) {
    let spawned = Spawned(child: child)
    process.withLock { $0 = spawned }
  }

  init(binary: String, arguments: [String], logPath: String) throws {
    self.binary = binary
    self.arguments = arguments
    self.logPath = logPath
    notify = try NotifyListener()
  }

  deinit {
    if let child = process.withLock({ $0.take() })?.child {
      child.signal(SIGKILL)
      _ = child.wait()
    }
  }

  var pid: pid_t? { process.withLock { $0?.child.pid } }

  /// Starts the daemon with `extra` arguments and returns the READY=1 notification's text, or
  /// at once (with "") when not `waitingForReady` (``ready()`` waits for it then).
  func start(_ extra: [String] = [], waitingForReady: Bool = true) async throws -> String {
    await stopReading()
    while notify.receiveIfQueued() != nil {}
    notified.withLock { $0 = (nil, nil) }
    let child = try ChildProcess(
      binary, arguments + extra, errorPath: logPath,
      environment: ["NOTIFY_SOCKET": notify.notifySocket])
    keep(child)
    reading.store(true, ordering: .releasing)
    let task = Task { [self] in
      _ = try? await onOwnThread { [self] in
        while reading.load(ordering: .acquiring) {
          guard let message = notify.receive(waitingMs: 50) else { continue }
          let status = Self.status(in: message)
          notified.withLock { state in
            if state.ready == nil && message.contains("READY=1") { state.ready = message }
            if let status { state.status = status }
          }
        }
      }
    }
    reader.withLock { $0 = task }
    return waitingForReady ? try await ready() : ""
  }

  /// Waits (up to 60 s) for the READY=1 of the daemon's current run and returns its text.
  func ready() async throws -> String {
    let deadline = monotonicMs() + 60_000
    while monotonicMs() < deadline {
      if let ready = notified.withLock({ $0.ready }) { return ready }
      try await Task.sleep(for: .milliseconds(2))
    }
    throw BenchError("\(binary) did not get ready within 60 s; its log: \(logPath)")
  }

  /// The daemon's latest `STATUS=` text in its current run.
  var status: String? { notified.withLock { $0.status } }

  /// The `STATUS=` line of a notification, if it has one.
  private static func status(in message: String) -> String? {
    message.split(separator: "\n").first { $0.hasPrefix("STATUS=") }.map {
      String($0.dropFirst("STATUS=".count))
    }
  }

  /// Stops reading the notification socket.
  private func stopReading() async {
    reading.store(false, ordering: .releasing)
    if let task = reader.withLock({ $0.take() }) { await task.value }
  }

  /// SIGTERM, then SIGKILL after 20 s; reaps the process.
  ///
  /// - Returns: false when the daemon had to be killed (it did not stop within 20 s of
  ///   SIGTERM), true when it stopped by itself or was not running.
  @discardableResult
  func stop() async -> Bool {
    guard let child = process.withLock({ $0.take() })?.child else { return true }
    let pid = child.pid
    child.signal(SIGTERM)
    let stopped =
      (try? await onOwnThread { () -> Bool in
        let deadline = monotonicMs() + 20_000
        var status: Int32 = 0
        while monotonicMs() < deadline {
          if waitpid(pid, &status, WNOHANG) == pid { return true }
          usleep(10_000)
        }
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return false
      }) ?? false
    // Already reaped: this only marks it so, and returns at once.
    _ = child.wait()
    await stopReading()
    return stopped
  }
}

/// Runs a command to its end and throws its standard error unless it exited 0.
func runChecked(_ binary: String, _ arguments: [String]) async throws -> String {
  let result = try await onOwnThread { try runChild(binary, arguments) }
  guard result.ending == .exited(0) else {
    throw BenchError(
      "\(binary) \(arguments.joined(separator: " ")): \(result.ending): \(result.errorOutput)")
  }
  return result.output
}

/// Writes `text` to `path` (created 0600).
func writeFile(_ path: String, _ text: String) throws {
  try FileBytes.write(Array(text.utf8), to: path)
}

/// `127.0.0.1:PORT` out of the station's READY status ("listening on [IPv4]127.0.0.1/127.0.0.1:PORT; …").
func listeningAddress(in status: String) -> String? {
  guard let range = status.range(of: "127.0.0.1:") else { return nil }
  let port = status[range.upperBound...].prefix { $0.isNumber }
  return port.isEmpty ? nil : "127.0.0.1:\(port)"
}

/// CPU time (user + system) a process used so far, in ms, from `/proc/PID/stat`.
func cpuMilliseconds(pid: pid_t) -> Double? {
  guard let text = try? FileBytes.readText("/proc/\(pid)/stat"),
    let close = text.lastIndex(of: ")")
  else { return nil }
  let fields = text[text.index(after: close)...].split(separator: " ")
  // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
  guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
    return nil
  }
  return (user + system) * 1000 / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// CPU time of this process so far, in ms.
func ownCPUMilliseconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  let user = Double(usage.ru_utime.tv_sec) * 1000 + Double(usage.ru_utime.tv_usec) / 1000
  let system = Double(usage.ru_stime.tv_sec) * 1000 + Double(usage.ru_stime.tv_usec) / 1000
  return user + system
}
