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
final class Daemon: @unchecked Sendable {
  let binary: String
  let arguments: [String]
  let logPath: String
  private let notify: NotifyListener
  private let process = Mutex<Spawned?>(nil)

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

  /// Starts the daemon with `extra` arguments and returns the READY=1 notification's text.
  func start(_ extra: [String] = []) async throws -> String {
    while notify.receiveIfQueued() != nil {}
    let child = try ChildProcess(
      binary, arguments + extra, errorPath: logPath,
      environment: ["NOTIFY_SOCKET": notify.notifySocket])
    keep(child)
    let notify = notify
    let ready = try await onOwnThread { () -> String? in
      let deadline = monotonicMs() + 60_000
      while monotonicMs() < deadline {
        if let message = notify.receive(), message.contains("READY=1") { return message }
      }
      return nil
    }
    guard let ready else {
      throw BenchError("\(binary) did not get ready within 60 s; its log: \(logPath)")
    }
    return ready
  }

  /// SIGTERM, then SIGKILL after 20 s; reaps the process.
  func stop() async {
    guard let child = process.withLock({ $0.take() })?.child else { return }
    let pid = child.pid
    child.signal(SIGTERM)
    _ = try? await onOwnThread {
      let deadline = monotonicMs() + 20_000
      var status: Int32 = 0
      while monotonicMs() < deadline {
        if waitpid(pid, &status, WNOHANG) == pid { return }
        usleep(10_000)
      }
      kill(pid, SIGKILL)
      while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
    // Already reaped: this only marks it so, and returns at once.
    _ = child.wait()
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

/// Monotonic time in microseconds.
func monotonicMicros() -> UInt64 {
  var t = timespec()
  clock_gettime(CLOCK_MONOTONIC, &t)
  return UInt64(t.tv_sec) * 1_000_000 + UInt64(t.tv_nsec) / 1000
}
