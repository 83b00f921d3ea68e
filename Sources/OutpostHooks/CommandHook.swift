import Glibc
import Synchronization

/// Held from creating a command's output pipe until the command is spawned. Glibc's Swift
/// overlay has no `pipe2`, so the pipe gets close-on-exec just after it is made; without the
/// lock a command spawned in between from another task would inherit the pipe.
private let spawnLock = Mutex(())

/// One run of a command hook: spawned with `posix_spawn` in its own process group, its output
/// kept to a short tail, reaped by polling `waitpid(WNOHANG)` between short async sleeps (so no
/// thread ever blocks on the child), and killed when it outlives its timeout.
struct CommandHook {
  /// The program and its arguments; a program name without `/` is looked up in `searchPath`.
  var argv: [String]
  /// How long the command may run before its process group gets `SIGTERM`.
  var timeout: Duration
  /// How long after `SIGTERM` the group gets `SIGKILL`.
  var killGrace: Duration
  /// The child's whole environment.
  var environment: [String: String]
  /// The directories searched for a program name without `/`, `:`-separated.
  var searchPath: String

  /// How many bytes of the command's output are kept for the log.
  static let tailLimit = 400

  /// Runs the command to its end, or kills it; never throws.
  ///
  /// - Returns: why it failed (nil when it exited with status 0) and the tail of its output.
  func run() async -> (failure: HookFailure?, output: String) {
    guard let name = argv.first else { return (.emptyCommand, "") }
    guard let executable = Self.resolve(name, in: searchPath) else {
      return (.commandNotFound(name: name, searchPath: searchPath), "")
    }
    let child: (pid: pid_t, output: Int32)
    switch spawn(executable) {
    case .success(let spawned): child = spawned
    case .failure(let failure): return (failure, "")
    }
    var output = OutputTail(fd: child.output, limit: Self.tailLimit)
    defer { output.close() }
    let failure = await reap(child.pid, output: &output)
    return (failure, failure == nil ? "" : output.text)
  }

  /// The path of the program `name`: itself when it holds a `/`, else the first executable
  /// regular file of that name in `searchPath`'s directories.
  static func resolve(_ name: String, in searchPath: String) -> String? {
    if name.contains("/") { return name }
    guard !name.isEmpty else { return nil }
    for directory in searchPath.split(separator: ":") where !directory.isEmpty {
      let candidate = "\(directory)/\(name)"
      var info = stat()
      if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
        access(candidate, X_OK) == 0
      {
        return candidate
      }
    }
    return nil
  }

  /// Spawns `executable` with stdin from `/dev/null` and stdout and stderr into a pipe whose
  /// (non-blocking) read end is returned, in a new process group, with default signal
  /// dispositions and an empty signal mask whatever the agent set for itself.
  private func spawn(_ executable: String) -> Result<(pid: pid_t, output: Int32), HookFailure> {
    spawnLock.withLock { _ in
      var pipeFDs: [Int32] = [-1, -1]
      guard pipe(&pipeFDs) == 0 else {
        return .failure(.spawnFailed(executable: executable, errno: errno))
      }
      _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
      _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)

      var actions = posix_spawn_file_actions_t()
      posix_spawn_file_actions_init(&actions)
      defer { posix_spawn_file_actions_destroy(&actions) }
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
      posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
      posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)

      var attributes = posix_spawnattr_t()
      posix_spawnattr_init(&attributes)
      defer { posix_spawnattr_destroy(&attributes) }
      // Its own process group, so a timeout kills the command's children too.
      posix_spawnattr_setpgroup(&attributes, 0)
      var noSignals = sigset_t()
      sigemptyset(&noSignals)
      posix_spawnattr_setsigmask(&attributes, &noSignals)
      // The agent may ignore SIGPIPE (as NIO does); ignored signals would stay ignored in the
      // command, so every signal goes back to its default.
      var allSignals = sigset_t()
      sigfillset(&allSignals)
      posix_spawnattr_setsigdefault(&attributes, &allSignals)
      posix_spawnattr_setflags(
        &attributes,
        Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

      let argvC: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
      let envC: [UnsafeMutablePointer<CChar>?] =
        environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
      defer {
        for pointer in argvC + envC { free(pointer) }
      }
      var pid: pid_t = 0
      let result = posix_spawn(&pid, executable, &actions, &attributes, argvC, envC)
      _ = Glibc.close(pipeFDs[1])
      guard result == 0 else {
        _ = Glibc.close(pipeFDs[0])
        return .failure(.spawnFailed(executable: executable, errno: result))
      }
      let flags = fcntl(pipeFDs[0], F_GETFL)
      _ = fcntl(pipeFDs[0], F_SETFL, flags | O_NONBLOCK)
      return .success((pid, pipeFDs[0]))
    }
  }

  /// Where a command is in its timeout.
  private enum Phase {
    case running
    case terminating
    case killing
  }

  /// Polls for the child's end, draining its output meanwhile: `SIGTERM` to its group at the
  /// timeout, `SIGKILL` after the grace period, and, if even that does not end it within a few
  /// seconds (a process stuck in the kernel), leaves the reaping to a background task.
  private func reap(_ pid: pid_t, output: inout OutputTail) async -> HookFailure? {
    let clock = ContinuousClock()
    // Capped so that no configured figure can overflow the clock's arithmetic.
    var deadline = clock.now.advanced(by: min(timeout, .seconds(86_400)))
    var phase = Phase.running
    var pause = Duration.milliseconds(1)
    while true {
      output.drain()
      var status: Int32 = 0
      let reaped = waitpid(pid, &status, WNOHANG)
      if reaped == pid {
        output.drain()
        switch phase {
        case .running: return Self.failure(fromWaitStatus: status)
        case .terminating: return .timedOut(after: timeout, killedWith: SIGTERM)
        case .killing: return .timedOut(after: timeout, killedWith: SIGKILL)
        }
      }
      if reaped < 0 && errno != EINTR { return .waitFailed(errno: errno) }
      let now = clock.now
      if now >= deadline {
        switch phase {
        case .running:
          Self.signalGroup(pid, SIGTERM)
          phase = .terminating
          deadline = now.advanced(by: killGrace)
        case .terminating:
          Self.signalGroup(pid, SIGKILL)
          phase = .killing
          deadline = now.advanced(by: .seconds(5))
        case .killing:
          Self.reapInBackground(pid)
          return .timedOut(after: timeout, killedWith: SIGKILL)
        }
        pause = .milliseconds(1)
        continue
      }
      do {
        try await Task.sleep(for: min(pause, now.duration(to: deadline)))
      } catch {
        Self.signalGroup(pid, SIGKILL)
        Self.reapInBackground(pid)
        return .cancelled
      }
      pause = min(pause * 2, .milliseconds(20))
    }
  }

  /// Sends `signal` to the command's process group (the command itself when the group is
  /// gone).
  private static func signalGroup(_ pid: pid_t, _ signal: Int32) {
    if kill(-pid, signal) != 0 { _ = kill(pid, signal) }
  }

  /// Reaps a killed child that has not ended yet, once a second, from a task of its own.
  private static func reapInBackground(_ pid: pid_t) {
    Task.detached {
      var status: Int32 = 0
      while waitpid(pid, &status, WNOHANG) == 0 {
        try? await Task.sleep(for: .seconds(1))
      }
    }
  }

  /// The failure a wait status means: nil for exit status 0. (Linux's layout: the signal in
  /// the low 7 bits, the exit status in the next 8.)
  static func failure(fromWaitStatus status: Int32) -> HookFailure? {
    let signal = status & 0x7F
    if signal == 0 {
      let exitStatus = (status >> 8) & 0xFF
      return exitStatus == 0 ? nil : .exited(status: exitStatus)
    }
    return .signalled(signal: signal)
  }
}

/// The last bytes a command wrote, read from the non-blocking end of its output pipe.
struct OutputTail {
  private var fd: Int32
  private let limit: Int
  private var bytes: [UInt8] = []

  init(fd: Int32, limit: Int) {
    self.fd = fd
    self.limit = limit
  }

  /// Reads what is in the pipe now, keeping the last `limit` bytes.
  mutating func drain() {
    guard fd >= 0 else { return }
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n > 0 {
        bytes.append(contentsOf: chunk[0..<n])
        if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
      } else if n < 0 && errno == EINTR {
        continue
      } else {
        if n == 0 { close() }
        return
      }
    }
  }

  /// The kept bytes as text (invalid UTF-8 replaced), without surrounding whitespace.
  var text: String {
    let string = String(decoding: bytes, as: UTF8.self)
    let isSpace: (Character) -> Bool = { $0.isWhitespace }
    let trimmed = string.drop(while: isSpace)
    return String(trimmed.reversed().drop(while: isSpace).reversed())
  }

  mutating func close() {
    if fd >= 0 { _ = Glibc.close(fd) }
    fd = -1
  }
}
