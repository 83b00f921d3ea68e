import Glibc

/// A real gpsd listening on a loopback TCP port, fed by `gpsfake` (from gpsd-clients) replaying
/// an NMEA log through a pseudo-terminal, for tests of the gpsd path against the daemon itself.
///
/// `gpsfake` runs gpsd as its child. Both run in a process group of their own, so that nothing
/// can outlive ``stop(withinMs:)``: it ends gpsd first (then `gpsfake` reaps it and exits by
/// itself), falls back to killing the whole group, and checks that no member is left, not even
/// a zombie. Asking `gpsfake` itself to stop with SIGTERM is avoided: gpsd 3.22's `gpsfake`
/// can hang in its signal handler, and a gpsd orphaned by killing it stays a zombie on machines
/// whose init does not reap (containers).
///
/// Not thread-safe: one test owns an instance. Its temporary directory (holding what `gpsfake`
/// and gpsd print) is removed when the instance goes away.
public final class GPSFake {
  /// The NMEA log replayed.
  public let logPath: String
  /// The loopback TCP port gpsd listens on; the same across ``restart()``.
  public private(set) var port: UInt16
  /// Seconds between sentences, gpsfake's `-c`.
  public let cycleSeconds: Double
  /// Whether the log is replayed once (gpsfake's `-1`) rather than over and over.
  public let once: Bool
  private let gpsfake: String
  private let directory: String
  private var leader: pid_t?

  /// Programs are looked for here, and `gpsfake` finds gpsd on this `PATH`.
  public static let searchPath = [
    "/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin",
  ]

  /// Starts `gpsfake` replaying `logPath` and waits until gpsd accepts connections.
  ///
  /// - Parameters:
  ///   - logPath: an NMEA log (gpsd's test-log format: `#` comments, one sentence a line).
  ///   - port: the port to listen on; nil picks a free one (and tries another few times if
  ///     gpsd finds it taken after all).
  ///   - cycleSeconds: the pause between sentences.
  ///   - once: replay the log once; by default it loops, so fixes keep coming.
  ///   - readyWithinMs: how long to wait for gpsd to listen.
  /// - Throws: ``GPSFakeError``: gpsfake or gpsd is not installed (the message says what to
  ///   install), the log is missing, or gpsd did not come up in time.
  public init(
    replaying logPath: String, port: UInt16? = nil, cycleSeconds: Double = 0.05,
    once: Bool = false, readyWithinMs: UInt64 = 20_000
  ) throws(GPSFakeError) {
    gpsfake = try Self.locate("gpsfake")
    _ = try Self.locate("gpsd")
    guard access(logPath, R_OK) == 0 else { throw .logUnreadable(path: logPath) }
    var template = Array("/tmp/outpost-gpsfake.XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
      throw .system(call: "mkdtemp /tmp/outpost-gpsfake.XXXXXX", errno: errno)
    }
    directory = String(cString: made)
    self.logPath = logPath
    self.cycleSeconds = cycleSeconds
    self.once = once
    self.port = 0
    var attempts = port == nil ? 3 : 1
    while true {
      if let port { self.port = port } else { self.port = try Self.freePort() }
      do throws(GPSFakeError) {
        try start(readyWithinMs: readyWithinMs)
        return
      } catch {
        attempts -= 1
        guard attempts > 0, case .exited = error else { throw error }
      }
    }
  }

  deinit {
    try? stop()
    unlink(outputPath)
    rmdir(directory)
  }

  /// The file that gathers what `gpsfake` and gpsd print, across restarts.
  public var outputPath: String { directory + "/output" }

  /// What `gpsfake` and gpsd have printed so far (gpsd's warnings, gpsfake's complaints).
  public var output: String { (try? FileBytes.readText(outputPath)) ?? "" }

  /// Whether a `gpsfake` started by this instance is running.
  public var isRunning: Bool { leader != nil }

  /// Starts `gpsfake` again on ``port`` (after ``stop(withinMs:)``) and waits until gpsd accepts
  /// connections. Does nothing if it is running.
  ///
  /// - Throws: ``GPSFakeError/exited(status:port:output:)`` when gpsfake ends before gpsd
  ///   listens (the port is taken, say), ``GPSFakeError/notReady(port:withinMs:output:)``
  ///   when gpsd is not listening in time; nothing is left running then.
  public func start(readyWithinMs: UInt64 = 20_000) throws(GPSFakeError) {
    guard leader == nil else { return }
    var arguments = ["-q", "-P", String(port), "-c", String(cycleSeconds)]
    if once { arguments.append("-1") }
    arguments.append(logPath)
    let pid = try spawnInOwnGroup(gpsfake, arguments, outputPath: outputPath)
    leader = pid
    let deadline = monotonicMs() + readyWithinMs
    while true {
      var status: Int32 = 0
      if waitpid(pid, &status, WNOHANG) == pid {
        leader = nil
        try? reapGroup(pid, withinMs: 2000)
        throw .exited(status: describe(status), port: port, output: output)
      }
      if Self.accepts(port: port) { return }
      if monotonicMs() >= deadline {
        try? stop()
        throw .notReady(port: port, withinMs: readyWithinMs, output: output)
      }
      usleep(50_000)
    }
  }

  /// Stops gpsd and `gpsfake` and makes sure no process of theirs is left. Clients connected to
  /// gpsd see their connection end. Does nothing if nothing is running.
  ///
  /// - Throws: ``GPSFakeError/leftBehind(processes:)`` if a process of the group is still
  ///   there after SIGKILL (the test should fail: it would leak a gpsd).
  public func stop(withinMs: UInt64 = 10_000) throws(GPSFakeError) {
    guard let pid = leader else { return }
    leader = nil
    // gpsd first: gpsfake notices its daemon died, reaps it and exits.
    let daemons = Self.groupMembers(pid).filter { $0.parent == pid && $0.state != "Z" }
    if daemons.isEmpty {
      kill(pid, SIGTERM)
    } else {
      for daemon in daemons { kill(daemon.pid, SIGTERM) }
    }
    if !waitForExit(pid, until: monotonicMs() + withinMs / 2) {
      kill(-pid, SIGKILL)
      var status: Int32 = 0
      while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
    try reapGroup(pid, withinMs: withinMs / 2)
  }

  /// Stops gpsd and starts a new one on the same port, as a box sees when gpsd restarts.
  ///
  /// - Throws: what ``stop(withinMs:)`` and ``start(readyWithinMs:)`` throw.
  public func restart(readyWithinMs: UInt64 = 20_000) throws(GPSFakeError) {
    try stop()
    try start(readyWithinMs: readyWithinMs)
  }

  /// Waits for the group led by `pid` (whose leader is already reaped) to empty, after killing
  /// what is still running in it with SIGKILL.
  private func reapGroup(_ pid: pid_t, withinMs: UInt64) throws(GPSFakeError) {
    let deadline = monotonicMs() + withinMs
    var left = Self.groupMembers(pid)
    if left.contains(where: { $0.state != "Z" }) { kill(-pid, SIGKILL) }
    while !left.isEmpty {
      // A zombie whose parent is gone waits for init, which in a container may never reap it.
      if monotonicMs() >= deadline { throw .leftBehind(processes: left) }
      usleep(10_000)
      left = Self.groupMembers(pid)
    }
  }

  private func waitForExit(_ pid: pid_t, until deadline: UInt64) -> Bool {
    while true {
      var status: Int32 = 0
      let result = waitpid(pid, &status, WNOHANG)
      if result == pid || (result < 0 && errno == ECHILD) { return true }
      if monotonicMs() >= deadline { return false }
      usleep(10_000)
    }
  }

  private func describe(_ status: Int32) -> String {
    // The wait-status layout of Linux: signal number in the low 7 bits, exit status above.
    status & 0x7F == 0 ? "exit status \((status >> 8) & 0xFF)" : "signal \(status & 0x7F)"
  }

  /// The path of `program` in ``searchPath``.
  ///
  /// - Throws: ``GPSFakeError/notInstalled(program:searched:)``.
  public static func locate(_ program: String) throws(GPSFakeError) -> String {
    for directory in searchPath where access(directory + "/" + program, X_OK) == 0 {
      return directory + "/" + program
    }
    throw .notInstalled(program: program, searched: searchPath)
  }

  /// A loopback TCP port nobody listens on right now (the kernel's pick).
  public static func freePort() throws(GPSFakeError) -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw .system(call: "socket", errno: errno) }
    defer { close(fd) }
    var address = loopback(port: 0)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0 else { throw .system(call: "bind 127.0.0.1:0", errno: errno) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw .system(call: "getsockname", errno: errno) }
    return UInt16(bigEndian: address.sin_port)
  }

  /// Whether something accepts TCP connections on 127.0.0.1:`port`.
  public static func accepts(port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = loopback(port: port)
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    } == 0
  }

  /// The IPv4 loopback address with `port`.
  public static func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
  }

  /// A process seen in `/proc`.
  public struct Member: Sendable, Hashable, CustomStringConvertible {
    /// Its process id.
    public var pid: pid_t
    /// Its command name.
    public var command: String
    /// Its state letter (`S`, `R`, `Z` for a zombie…).
    public var state: Character
    /// Its parent's process id.
    public var parent: pid_t

    /// "pid N (command, state S, parent P)".
    public var description: String {
      "pid \(pid) (\(command), state \(state), parent \(parent))"
    }
  }

  /// The processes, zombies included, whose process group is `group`.
  public static func groupMembers(_ group: pid_t) -> [Member] {
    guard let proc = opendir("/proc") else { return [] }
    defer { closedir(proc) }
    var members: [Member] = []
    while let entry = readdir(proc) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      guard let pid = pid_t(name), let stat = try? FileBytes.readText("/proc/\(name)/stat"),
        let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
      else { continue }
      // pid (comm) state ppid pgrp …; comm may itself hold spaces and parentheses.
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count >= 3, let state = fields[0].first, let parent = pid_t(fields[1]),
        let pgrp = pid_t(fields[2]), pgrp == group
      else { continue }
      let command = String(stat[stat.index(after: open)..<close])
      members.append(Member(pid: pid, command: command, state: state, parent: parent))
    }
    return members
  }
}

/// Why a gpsfake-run gpsd could not be started or stopped cleanly.
public enum GPSFakeError: Error, CustomStringConvertible {
  /// `program` is not in any of `searched`.
  case notInstalled(program: String, searched: [String])
  /// The NMEA log to replay cannot be read.
  case logUnreadable(path: String)
  /// A system call failed.
  case system(call: String, errno: Int32)
  /// gpsfake ended (`status`) before gpsd accepted connections on `port`.
  case exited(status: String, port: UInt16, output: String)
  /// gpsd did not accept connections on `port` within `withinMs`.
  case notReady(port: UInt16, withinMs: UInt64, output: String)
  /// Processes of gpsfake's group still there after SIGKILL.
  case leftBehind(processes: [GPSFake.Member])

  /// What went wrong and what to do.
  public var description: String {
    switch self {
    case .notInstalled(let program, let searched):
      "\(program) is not installed (looked in \(searched.joined(separator: ":"))); "
        + "the real-gpsd tests need it: apt install gpsd gpsd-clients"
    case .logUnreadable(let path): "cannot read the NMEA log \(path) for gpsfake to replay"
    case .system(let call, let errno): "\(call) failed: \(String(cString: strerror(errno)))"
    case .exited(let status, let port, let output):
      "gpsfake ended (\(status)) before gpsd listened on 127.0.0.1:\(port); it printed:\n"
        + tail(output)
    case .notReady(let port, let withinMs, let output):
      "gpsd did not accept connections on 127.0.0.1:\(port) within \(withinMs) ms; "
        + "gpsfake and gpsd printed:\n" + tail(output)
    case .leftBehind(let processes):
      "gpsfake's processes outlived SIGKILL: "
        + processes.map(\.description).joined(separator: ", ")
    }
  }
}

/// The last 2000 characters of `text`.
private func tail(_ text: String) -> String {
  text.count > 2000 ? "…" + text.suffix(2000) : text
}

/// Starts `executable` as the leader of a new process group, standard input from /dev/null,
/// standard output and error appended to `outputPath`, with a fixed environment (`PATH` is
/// ``GPSFake/searchPath``). The child gets only those three descriptors where glibc can close
/// the rest (2.34 and later): a pipe another test made at the same moment must not be held
/// open by gpsd until it stops.
private func spawnInOwnGroup(_ executable: String, _ arguments: [String], outputPath: String)
  throws(GPSFakeError) -> pid_t
{
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
  posix_spawn_file_actions_adddup2(&actions, 1, 2)
  // Not in the Glibc module's headers, so looked up: glibc 2.34's closefrom for spawn.
  typealias CloseFrom =
    @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32)
    -> Int32
  if let handle = dlopen(nil, RTLD_NOW) {
    if let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") {
      _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
    }
    dlclose(handle)
  }
  var attributes = posix_spawnattr_t()
  posix_spawnattr_init(&attributes)
  defer { posix_spawnattr_destroy(&attributes) }
  // Its own group (for the group kill), no blocked signals, default dispositions: the test
  // process may block or ignore signals that gpsfake and gpsd must act on.
  var signals = sigset_t()
  sigemptyset(&signals)
  posix_spawnattr_setsigmask(&attributes, &signals)
  for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD] { sigaddset(&signals, signal) }
  posix_spawnattr_setsigdefault(&attributes, &signals)
  posix_spawnattr_setpgroup(&attributes, 0)
  posix_spawnattr_setflags(
    &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
  let argv: [UnsafeMutablePointer<CChar>?] =
    ([executable] + arguments).map { strdup($0) } + [nil]
  let environment = ["LC_ALL=C", "PATH=" + GPSFake.searchPath.joined(separator: ":")]
  let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
  defer {
    for pointer in argv + envp { free(pointer) }
  }
  var pid: pid_t = 0
  let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
  guard rc == 0 else { throw .system(call: "posix_spawn \(executable)", errno: rc) }
  return pid
}
