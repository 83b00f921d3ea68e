import Glibc
import Synchronization

/// Held from creating a child's pipes until it is spawned. Glibc's Swift overlay has no
/// `pipe2`, so the pipes get close-on-exec just after they are made; without the lock a child
/// spawned by a test on another thread in between would inherit them and keep them open.
private let spawnLock = Mutex(())

/// A child process started with `posix_spawn`, its standard output on a pipe we read.
///
/// Children get a fixed, minimal environment rather than ours: other suites in this test process
/// change the environment from other threads, and reading it while they do would be a race.
public final class ChildProcess {
  /// The child's process id.
  public let pid: pid_t
  private var outputFD: Int32
  private var errorFD: Int32
  private var waited = false
  /// Everything read from the child's standard output so far.
  public private(set) var output: [UInt8] = []
  /// Everything read from the child's standard error so far (empty when it went to a file).
  public private(set) var errorOutput: [UInt8] = []

  /// How the child ended.
  public enum Ending: Sendable, Equatable, CustomStringConvertible {
    /// Exited by itself with this status.
    case exited(Int32)
    /// Killed by this signal.
    case signalled(Int32)

    /// "exit status N" or "signal N".
    public var description: String {
      switch self {
      case .exited(let status): "exit status \(status)"
      case .signalled(let signal): "signal \(signal)"
      }
    }
  }

  /// Starts `executable` with `arguments`. Standard output goes to a pipe; standard error to a
  /// second pipe, or to the file `errorPath` when given (so a child we kill cannot block on it).
  /// The child's environment is `LC_ALL=C` and `PATH` (a fixed system one) plus `environment`.
  public init(
    _ executable: String, _ arguments: [String], errorPath: String? = nil,
    environment: [String: String] = [:]
  ) throws {
    var out: [Int32] = [-1, -1]
    var err: [Int32] = [-1, -1]
    let pid = try spawnLock.withLock { _ throws -> pid_t in
      guard Self.makePipe(&out) else { throw SpawnError("pipe", errno: errno) }
      if errorPath == nil {
        guard Self.makePipe(&err) else {
          let e = errno
          close(out[0])
          close(out[1])
          throw SpawnError("pipe", errno: e)
        }
      }
      var actions = posix_spawn_file_actions_t()
      posix_spawn_file_actions_init(&actions)
      defer { posix_spawn_file_actions_destroy(&actions) }
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
      posix_spawn_file_actions_adddup2(&actions, out[1], 1)
      if let errorPath {
        _ = errorPath.withCString { path in
          posix_spawn_file_actions_addopen(&actions, 2, path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
      } else {
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
      }
      let argv: [UnsafeMutablePointer<CChar>?] =
        ([executable] + arguments).map { value in value.withCString { strdup($0) } } + [nil]
      var variables = ["LC_ALL": "C", "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]
      variables.merge(environment) { _, given in given }
      let envp: [UnsafeMutablePointer<CChar>?] =
        variables.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
      defer {
        for pointer in argv + envp { free(pointer) }
      }
      var pid: pid_t = 0
      let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
      close(out[1])
      if errorPath == nil { close(err[1]) }
      guard rc == 0 else {
        close(out[0])
        if errorPath == nil { close(err[0]) }
        throw SpawnError("posix_spawn \(executable)", errno: rc)
      }
      return pid
    }
    self.pid = pid
    outputFD = out[0]
    errorFD = errorPath == nil ? err[0] : -1
  }

  /// A pipe whose ends are closed in every child (the child's standard streams are dup2 copies).
  private static func makePipe(_ fds: inout [Int32]) -> Bool {
    guard pipe(&fds) == 0 else { return false }
    _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    return true
  }

  deinit {
    if outputFD >= 0 { close(outputFD) }
    if errorFD >= 0 { close(errorFD) }
    if !waited {
      kill(pid, SIGKILL)
      var status: Int32 = 0
      _ = waitpid(pid, &status, 0)
    }
  }

  /// Reads whatever the child writes until both streams are closed or `deadline` (monotonic
  /// ms, see ``monotonicMs()``) passes.
  ///
  /// - Returns: true when both streams reached end of file.
  @discardableResult
  public func read(until deadline: UInt64) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while outputFD >= 0 || errorFD >= 0 {
      let now = monotonicMs()
      if now >= deadline { return false }
      var fds = [pollfd(fd: outputFD, events: Int16(POLLIN), revents: 0)]
      if errorFD >= 0 { fds.append(pollfd(fd: errorFD, events: Int16(POLLIN), revents: 0)) }
      let ready = poll(&fds, nfds_t(fds.count), Int32(min(deadline - now, 1000)))
      if ready < 0 {
        if errno == EINTR { continue }
        return false
      }
      for entry in fds where entry.revents != 0 && entry.fd >= 0 {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(entry.fd, $0.baseAddress, $0.count) }
        if n > 0 {
          if entry.fd == outputFD {
            output.append(contentsOf: buffer[0..<n])
          } else {
            errorOutput.append(contentsOf: buffer[0..<n])
          }
        } else if n == 0 || errno != EINTR {
          close(entry.fd)
          if entry.fd == outputFD { outputFD = -1 } else { errorFD = -1 }
        }
      }
    }
    return true
  }

  /// Sends `signal` to the child.
  public func signal(_ signal: Int32) {
    kill(pid, signal)
  }

  /// Waits for the child to end and reaps it.
  public func wait() -> Ending {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    waited = true
    // The wait-status layout of Linux: signal number in the low 7 bits, exit status above.
    if status & 0x7F == 0 { return .exited((status >> 8) & 0xFF) }
    return .signalled(status & 0x7F)
  }

  /// The complete lines of standard output; a trailing line without its newline is left out,
  /// as the child may have been killed while writing it.
  public var completeOutputLines: [String] {
    guard let lastNewline = output.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
    return output[..<lastNewline].split(
      separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false
    ).map { String(decoding: $0, as: UTF8.self) }
  }
}

/// What a finished child printed and how it ended.
public struct ChildResult: Sendable {
  /// How it ended.
  public var ending: ChildProcess.Ending
  /// Its standard output.
  public var output: String
  /// Its standard error.
  public var errorOutput: String
  /// Standard output split into lines, without the final empty one.
  public var lines: [String] {
    Array(output.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
      .dropLast().map { String(decoding: $0, as: UTF8.self) }
  }
}

/// Runs `executable` to the end, killing it if it runs longer than `timeoutMs`.
public func runChild(
  _ executable: String, _ arguments: [String], timeoutMs: UInt64 = 60_000,
  environment: [String: String] = [:]
) throws -> ChildResult {
  let child = try ChildProcess(executable, arguments, environment: environment)
  let finished = child.read(until: monotonicMs() + timeoutMs)
  if !finished { child.signal(SIGKILL) }
  let ending = child.wait()
  if !finished {
    throw SpawnError("\(executable) \(arguments) ran longer than \(timeoutMs) ms", errno: 0)
  }
  return ChildResult(
    ending: ending, output: String(decoding: child.output, as: UTF8.self),
    errorOutput: String(decoding: child.errorOutput, as: UTF8.self))
}

/// Starting or running a child failed.
public struct SpawnError: Error, CustomStringConvertible {
  /// What failed, and the system's reason when there is one.
  public var description: String

  /// A failure of `what`, with the `errno` it failed with (0 for none).
  public init(_ what: String, errno: Int32) {
    description = errno == 0 ? what : "\(what): \(String(cString: strerror(errno)))"
  }
}

/// Milliseconds of `CLOCK_MONOTONIC`.
public func monotonicMs() -> UInt64 {
  var t = timespec()
  clock_gettime(CLOCK_MONOTONIC, &t)
  return UInt64(t.tv_sec) * 1000 + UInt64(t.tv_nsec) / 1_000_000
}
