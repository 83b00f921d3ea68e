import Glibc
import OutpostCore
import OutpostJournal
import OutpostTestKit
import Testing

/// The real daemon and the real `outpostctl`, as an administrator runs them.
@Suite(.timeLimit(.minutes(2))) struct OutpostdTests {
  @Test func readyStatusTriggersAndAStoppingShutdownOverTheNotifySocket() async throws {
    let daemon = try Daemon(config: Daemon.minimalConfig)
    let ready = await daemon.waitForNotification(containing: "READY=1")
    #expect(ready != nil, "no READY=1; log:\n\(daemon.log)")
    #expect(
      ready?.contains("STATUS=1 pending (oldest 0s); waiting for enrollment; no alarm") == true,
      "\(ready ?? "")")

    let sos = try await daemon.outpostctl(["sos"])
    #expect(sos.ending == .exited(0), "\(sos.errorOutput)")
    #expect(sos.output == "recorded: sos seq 1, incident 1, 1 press\n")
    let again = try await daemon.outpostctl(["sos"])
    #expect(again.output.hasPrefix("joined: sos seq 1, incident 1, 2 presses"))
    let checkIn = try await daemon.outpostctl(["checkin", "--who", "CARD-7"])
    #expect(checkIn.output == "recorded: check-in seq 2\n")
    let report = try await daemon.outpostctl(["report", "poaching", "--json"])
    let reply = JSONValue(parsing: report.lines.first ?? "")
    #expect(reply?["event"]?.string == "recorded")
    #expect(reply?["kind"]?.string == "report")
    let cancel = try await daemon.outpostctl(["cancel"])
    #expect(cancel.output == "recorded: sos-cancel seq 4, incident 1\n")
    let status = await daemon.waitForNotification(containing: "last sos-cancel recorded")
    #expect(status?.contains("STATUS=5 pending") == true, "\(daemon.notifications)")

    let json = try await daemon.outpostctl(["status", "--json"])
    let object = JSONValue(parsing: json.output.trimmingSuffix())
    #expect(object?["device"]?.string == "test-box")
    #expect(object?["pending"]?.uint64 == 5)
    #expect(object?["last_alarm"]?["kind"]?.string == "sos-cancel")
    #expect(object?["last_alarm"]?["progress"]?.string == "recorded")
    #expect(object?["journal"]?["records"]?.uint64 == 5)
    #expect(object?["link"]?.string == "unknown")
    #expect(object?["enrolled"]?.bool == false)

    let stat = try await daemon.outpostctl(["journal", "stat", "--json"])
    #expect(JSONValue(parsing: stat.output.trimmingSuffix())?["pending"]?.uint64 == 5)
    let dump = try await daemon.outpostctl(["journal", "dump", "--json"])
    #expect(dump.lines.count == 5)
    let verify = try await daemon.outpostctl(["journal", "verify"])
    #expect(verify.ending == .exited(0))
    #expect(verify.output.contains("clean: 5 records"))

    #expect(await daemon.stop() == .exited(0), "\(daemon.log)")
    #expect(await daemon.waitForNotification(containing: "STOPPING=1", seconds: 5) != nil)
    #expect(daemon.log.contains("journal flushed and closed"))
    // The journal the daemon closed holds the five records (the box-health record written at
    // start-up first), all intact.
    let file = try await runChildOffPool(
      try ProductBinary.path("outpostctl"),
      ["journal", "verify", "--file", daemon.stateDirectory + "/journal"])
    #expect(file.output.contains("clean: 5 records"))
  }

  @Test func badRequestsAreRefusedClearly() async throws {
    let daemon = try Daemon(config: Daemon.minimalConfig)
    #expect(await daemon.waitForNotification(containing: "READY=1") != nil)
    let unknown = try await daemon.outpostctl(["report", "fishing"])
    #expect(unknown.ending == .exited(64))
    #expect(unknown.errorOutput.contains("unknown category \"fishing\""))
    let wait = try await daemon.outpostctl(["sos", "--wait", "delivered", "--timeout", "1"])
    // Recorded, then no station (the uplink comes with the next issue): the wait times out.
    #expect(wait.ending == .exited(4))
    #expect(wait.lines.first == "recorded: sos seq 1, incident 1, 1 press")
    #expect(wait.lines.last?.hasPrefix("timeout: not delivered") == true)
    let noDaemon = try await daemon.outpostctlRaw([
      "status", "--run-dir", daemon.directory.file("none"),
    ])
    #expect(noDaemon.ending == .exited(3))
    #expect(noDaemon.errorOutput.contains("is outpostd running?"))
    #expect(await daemon.stop() == .exited(0))
  }

  @Test func anSOSReportedRecordedSurvivesKill9() async throws {
    for round in 0..<3 {
      let daemon = try Daemon(config: Daemon.minimalConfig)
      #expect(await daemon.waitForNotification(containing: "READY=1") != nil)
      let sos = try await daemon.outpostctl(["sos"])
      #expect(sos.output.hasPrefix("recorded: sos"), "round \(round): \(sos.errorOutput)")
      #expect(await daemon.kill(SIGKILL) == .signalled(SIGKILL))
      let dump = try await runChildOffPool(
        try ProductBinary.path("outpostctl"),
        ["journal", "dump", "--json", "--file", daemon.stateDirectory + "/journal"])
      // The box-health record of start-up, then the SOS.
      #expect(dump.lines.count == 2)
      #expect(JSONValue(parsing: dump.lines.last ?? "")?["kind"]?.string == "sos")
    }
  }

  /// A daemon killed and started again picks up the SOS incident its journal shows open: the
  /// next press joins it, and a cancel names it.
  @Test func aRestartedDaemonKeepsItsOpenIncident() async throws {
    let daemon = try Daemon(config: Daemon.minimalConfig)
    #expect(await daemon.waitForNotification(containing: "READY=1") != nil)
    let first = try await daemon.outpostctl(["sos"])
    #expect(first.output == "recorded: sos seq 1, incident 1, 1 press\n", "\(first.errorOutput)")
    #expect(await daemon.kill(SIGKILL) == .signalled(SIGKILL))
    try await daemon.restart()
    #expect(daemon.log.contains("SOS incident 1 still open from before the restart"))
    let status = try await daemon.outpostctl(["status", "--json"])
    #expect(JSONValue(parsing: status.output)?["last_alarm"]?["kind"]?.string == "sos")
    let again = try await daemon.outpostctl(["sos"])
    #expect(again.output.hasPrefix("joined: sos seq 1, incident 1, 2 presses"), "\(again.output)")
    let cancel = try await daemon.outpostctl(["cancel"])
    #expect(cancel.output.hasSuffix(", incident 1\n"), "\(cancel.output)")
    // After a cancel, a restart has nothing to pick up: the next press opens a new incident.
    #expect(await daemon.kill(SIGKILL) == .signalled(SIGKILL))
    try await daemon.restart()
    let fresh = try await daemon.outpostctl(["sos"])
    #expect(fresh.output.hasPrefix("recorded: sos seq"), "\(fresh.output)")
    #expect(!fresh.output.contains("incident 1,"), "\(fresh.output)")
    #expect(await daemon.stop() == .exited(0))
  }

  @Test func checkConfigNamesTheKeyAndLineAndExits78() async throws {
    let directory = TemporaryDirectory("check")
    let config = directory.file("agent.toml")
    try FileBytes.write(Array("[journal]\nsize = 1048576\ngroup_commit = 5\n".utf8), to: config)
    let bad = try await runChildOffPool(
      try ProductBinary.path("outpostd"), ["--config", config, "--check-config"])
    #expect(bad.ending == .exited(78))
    #expect(
      bad.errorOutput.contains(
        "\(config):3: journal.group_commit: unknown key; valid keys here: group_commit_ms, path, size"
      ), "\(bad.errorOutput)")
    try FileBytes.write(Array("[journal]\nsize = 1048576\n".utf8), to: config)
    let good = try await runChildOffPool(
      try ProductBinary.path("outpostd"), ["--config", config, "--check-config"])
    #expect(good.ending == .exited(0))
    #expect(good.lines.first == "\(config): OK")
    let missing = try await runChildOffPool(
      try ProductBinary.path("outpostd"),
      ["--config", directory.file("nope.toml"), "--check-config"])
    #expect(missing.ending == .exited(78))
  }

  @Test func theWatchdogIsPingedWhileTheAgentMakesProgress() async throws {
    let daemon = try Daemon(
      config: Daemon.minimalConfig, environment: ["WATCHDOG_USEC": "400000"])
    #expect(await daemon.waitForNotification(containing: "READY=1") != nil)
    var pings = 0
    for _ in 0..<3 {
      guard await daemon.waitForNotification(containing: "WATCHDOG=1", seconds: 5) != nil else {
        break
      }
      pings += 1
      daemon.clearNotifications()
    }
    #expect(pings == 3)
    #expect(await daemon.stop() == .exited(0))
  }
}

extension String {
  /// Without the final newline.
  func trimmingSuffix() -> String {
    hasSuffix("\n") ? String(dropLast()) : self
  }
}

/// Talks to the control socket directly, as a broken or hostile client would.
func rawControlExchange(socketPath: String, send bytes: [UInt8]) throws -> String {
  let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
  guard fd >= 0 else { throw FixtureError(call: "socket", errno: errno) }
  defer { close(fd) }
  var address = sockaddr_un()
  address.sun_family = sa_family_t(AF_UNIX)
  withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(socketPath.utf8) + [0]) }
  let connected = withUnsafePointer(to: &address) { pointer in
    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
    }
  }
  guard connected == 0 else { throw FixtureError(call: "connect", errno: errno) }
  var timeout = timeval(tv_sec: 10, tv_usec: 0)
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
  _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
  shutdown(fd, Int32(SHUT_WR))
  var received: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 4096)
  while true {
    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    if n <= 0 { break }
    received += chunk[0..<n]
  }
  return String(decoding: received, as: UTF8.self)
}

@Suite(.timeLimit(.minutes(2))) struct ControlSocketTests {
  @Test func garbageAndOversizeRequestsGetClearErrorsAndHarmNothing() async throws {
    let daemon = try Daemon(config: Daemon.minimalConfig)
    #expect(await daemon.waitForNotification(containing: "READY=1") != nil)
    let socketPath = daemon.runDirectory + "/control.sock"
    var info = stat()
    #expect(stat(socketPath, &info) == 0)
    // Only the owner and the group may use the socket.
    #expect(info.st_mode & 0o777 == 0o660)

    let garbage = try await rawControlExchangeOffPool(
      socketPath: socketPath, send: Array("hello?\n".utf8))
    #expect(garbage.contains("\"event\":\"error\""))
    #expect(garbage.contains("not a valid JSON request"))
    let unknown = try await rawControlExchangeOffPool(
      socketPath: socketPath, send: Array("{\"command\":\"format-disk\"}\n".utf8))
    #expect(unknown.contains("unknown command \\\"format-disk\\\""))
    let oversize = try await rawControlExchangeOffPool(
      socketPath: socketPath, send: Array(repeating: UInt8(ascii: "x"), count: 100_000))
    #expect(!oversize.contains("recorded"))
    // The agent still answers and has recorded nothing but its start-up health record.
    let status = try await daemon.outpostctl(["status", "--json"])
    #expect(JSONValue(parsing: status.output.trimmingSuffix())?["pending"]?.uint64 == 1)
    #expect(await daemon.stop() == .exited(0))
  }
}

/// ``runChild(_:_:timeoutMs:environment:)`` on a thread of its own.
func runChildOffPool(_ executable: String, _ arguments: [String]) async throws -> ChildResult {
  try await onOwnThread { try runChild(executable, arguments) }
}

/// ``rawControlExchange(socketPath:send:)`` on a thread of its own.
func rawControlExchangeOffPool(socketPath: String, send bytes: [UInt8]) async throws -> String {
  try await onOwnThread { try rawControlExchange(socketPath: socketPath, send: bytes) }
}
