import Glibc
import OutpostStore
import OutpostTestKit
import Testing

/// A real station and real boxes on loopback, as an administrator sets them up: `ca init`,
/// `device add --bundle`, `outpostctl enroll`, `outpostd --station`.
@Suite(.timeLimit(.minutes(3))) struct StationTests {
  static let boxConfig = """
    [agent]
    device = "unused-the-bundle-names-the-box"
    [journal]
    size = 1048576
    group_commit_ms = 20
    [alarm]
    record_interval_s = 600
    [control]
    group = ""
    [uplink]
    backoff_max_s = 2

    """

  /// `sudo outpostctl enroll` on a packaged box: the state directory belongs to the agent's
  /// system user, and so must the bundle, owner-only, or the agent cannot read it.
  @Test(.enabled(if: geteuid() == 0, "needs root, as sudo outpostctl enroll has"))
  func enrollAsRootGivesTheBundleToTheStateDirectorysOwner() async throws {
    let station = try await StationProcess()
    let bundle = try await station.enroll("box-root")
    let box = TemporaryDirectory("box")
    let state = box.file("state")
    #expect(mkdir(state, 0o750) == 0)
    #expect(chown(state, 65534, 65534) == 0)
    let enrolled = try runChild(
      try ProductBinary.path("outpostctl"),
      ["enroll", bundle, "--state-dir", state, "--run-dir", box.file("run")])
    #expect(enrolled.ending == .exited(0), "\(enrolled.errorOutput)")
    var installed = stat()
    #expect(stat(state + "/enrollment.json", &installed) == 0)
    #expect(installed.st_uid == 65534 && installed.st_gid == 65534)
    #expect(installed.st_mode & 0o777 == 0o600)
    _ = await station.stop()
  }

  @Test func anSOSIsStoredOpensAnIncidentAndTheAcknowledgementReachesTheBox() async throws {
    let station = try await StationProcess()
    let bundle = try await station.enroll(
      "yurt-7", ["--household", "Batbayar", "--location", "47.918,106.917"])
    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", station.address], enrollment: bundle)
    #expect(await box.waitForNotification(containing: "link up") != nil, "\(box.log)")

    let sos = try await box.outpostctl(["sos", "--wait", "delivered", "--timeout", "20"])
    #expect(sos.ending == .exited(0), "\(sos.output)\(sos.errorOutput)\n\(station.log)")
    #expect(sos.lines.last?.hasPrefix("delivered: sos seq") == true, "\(sos.output)")

    let incidents = try await station.command(["incidents", "--json"])
    let incident = JSONValue(parsing: incidents.lines.first ?? "")
    #expect(incident?["kind"]?.string == "sos")
    #expect(incident?["state"]?.string == "open")
    #expect(incident?["device"]?.string == "yurt-7")
    #expect(incident?["household"]?.string == "Batbayar")
    let id = try #require(incident?["id"]?.uint64)

    // An officer acknowledges; the box hears of it and shows it.
    let waiting = Task {
      try await box.outpostctl(["sos", "--wait", "acknowledged", "--timeout", "30"])
    }
    let ack = try await station.command([
      "incident", "ack", "\(id)", "--by", "Officer Dorj", "--note", "patrol on the way",
    ])
    #expect(ack.ending == .exited(0), "\(ack.errorOutput)")
    let acknowledged = await station.eventually {
      let status = try runChild(
        try ProductBinary.path("outpostctl"), ["status", "--json", "--run-dir", box.runDirectory])
      return JSONValue(parsing: status.output)?["last_alarm"]?["progress"]?.string
        == "acknowledged"
    }
    #expect(acknowledged, "\(box.log)")
    let pressAgain = try await waiting.value
    // Exit 0: the press reached *acknowledged* (a timeout exits 4). When the acknowledgement
    // came before the press, its only line is the join, already acknowledged.
    #expect(pressAgain.ending == .exited(0), "\(pressAgain.output)\(pressAgain.errorOutput)")
    #expect(box.log.contains("officer Officer Dorj acknowledged"))
    // A cancel waited on reports its own delivery, not the cancelled SOS's state.
    let cancel = try await box.outpostctl(["cancel", "--wait", "delivered", "--timeout", "20"])
    #expect(cancel.ending == .exited(0), "\(cancel.output)\(cancel.errorOutput)")
    #expect(cancel.lines.last?.hasPrefix("delivered: sos-cancel seq") == true, "\(cancel.output)")

    // The store has each record once, the audit log the incident's life.
    let events = try await station.command(["events", "--device", "yurt-7", "--json"])
    let kinds = events.lines.compactMap { JSONValue(parsing: $0)?["kind"]?.string }
    #expect(kinds.filter { $0 == "sos" }.count == 1, "\(kinds)")
    #expect(kinds.contains("box-health"))
    let audit = try await station.command(["audit"])
    #expect(audit.output.contains("incident-open"))
    #expect(audit.output.contains("incident-ack"))
    let devices = try await station.command(["devices", "--json"])
    let device = JSONValue(parsing: devices.lines.first ?? "")
    #expect(device?["name"]?.string == "yurt-7", "\(devices.output)\(devices.errorOutput)")
    #expect(device?["link"]?.string == "up")
    #expect(device?["latitude"]?.double == 47.918)
    #expect(device?["position_source"]?.string == "registered")

    #expect(await box.stop() == .exited(0))
    #expect(await station.stop() == .exited(0), "\(station.log)")
  }

  /// Post → township: an incident nobody at the post acknowledges in time is forwarded to the
  /// higher station (where the post is enrolled like a box), and the township officer's
  /// acknowledgement comes back down to the post's incident and on to the box.
  /// A township station and a post enrolled under it as `name` (`enrollArguments` for its
  /// `device add`), whose incidents escalate, and so go up, after a second.
  static func postUnderTownship(
    _ name: String, _ enrollArguments: [String] = []
  ) async throws -> (township: StationProcess, post: StationProcess) {
    let township = try await StationProcess(config: "[station]\nname = \"township\"\n")
    let postBundle = try await township.enroll(name, enrollArguments)
    let post = try await StationProcess(
      config: """
        [station]
        name = "\(name)"
        [timers]
        check_interval_s = 1
        [escalation]
        after_s = 1
        [upstream]
        bundle = "\(postBundle)"

        """)
    return (township, post)
  }

  @Test func anUnacknowledgedIncidentGoesUpTheChainAndTheAnswerComesBack() async throws {
    let (township, post) = try await Self.postUnderTownship(
      "post-1", ["--household", "Border post 1"])
    let bundle = try await post.enroll("yurt-12", ["--household", "Oyun"])
    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", post.address], enrollment: bundle)
    #expect(await box.waitForNotification(containing: "link up") != nil, "\(box.log)")
    let sos = try await box.outpostctl(["sos", "--wait", "delivered", "--timeout", "20"])
    #expect(sos.ending == .exited(0), "\(sos.output)\(sos.errorOutput)\n\(post.log)")

    // The post escalates after a second and forwards; the township opens a forwarded incident.
    let forwarded = await township.eventually(seconds: 30) {
      let listed = try runChild(
        try ProductBinary.path("outpost-station"),
        ["incidents", "--json", "--state-dir", township.stateDirectory])
      return listed.lines.contains { JSONValue(parsing: $0)?["kind"]?.string == "forwarded" }
    }
    #expect(forwarded, "post:\n\(post.log)\ntownship:\n\(township.log)")
    let listed = try await township.command(["incidents", "--json"])
    let incident = try #require(
      listed.lines.compactMap { JSONValue(parsing: $0) }.first {
        $0["kind"]?.string == "forwarded"
      })
    #expect(incident["device"]?.string == "post-1")
    let detail = incident["detail"]?.string ?? ""
    #expect(detail.contains("sos at yurt-12 (Oyun)"), "\(detail)")
    #expect(detail.contains("of post-1"), "\(detail)")
    #expect(incident["presses"]?.uint64 == 1)
    let id = try #require(incident["id"]?.uint64)
    let audit = try await post.command(["audit"])
    #expect(audit.output.contains("forwarded to the higher station as post-1 record"))

    // The township acknowledges; the post's incident and the box hear of it.
    let ack = try await township.command(["incident", "ack", "\(id)", "--by", "Chief Bold"])
    #expect(ack.ending == .exited(0), "\(ack.errorOutput)")
    let acknowledged = await post.eventually(seconds: 30) {
      let listed = try runChild(
        try ProductBinary.path("outpost-station"),
        ["incidents", "--json", "--state-dir", post.stateDirectory])
      let sos = listed.lines.compactMap { JSONValue(parsing: $0) }.first {
        $0["kind"]?.string == "sos"
      }
      return sos?["acknowledged_by"]?.string == "Chief Bold (upstream)"
    }
    #expect(acknowledged, "post:\n\(post.log)\ntownship:\n\(township.log)")
    let boxKnows = await post.eventually(seconds: 30) {
      let status = try runChild(
        try ProductBinary.path("outpostctl"), ["status", "--json", "--run-dir", box.runDirectory])
      return JSONValue(parsing: status.output)?["last_alarm"]?["progress"]?.string
        == "acknowledged"
    }
    #expect(boxKnows, "\(box.log)")
    #expect(box.log.contains("officer Chief Bold (upstream) acknowledged"), "\(box.log)")
    #expect(await box.stop() == .exited(0))
    #expect(await post.stop() == .exited(0), "\(post.log)")
    #expect(await township.stop() == .exited(0), "\(township.log)")
  }

  @Test func whatThePostDoesAfterForwardingFollowsAtTheTownship() async throws {
    let (township, post) = try await Self.postUnderTownship("post-2")
    let bundle = try await post.enroll("yurt-7", ["--household", "Tseren"])
    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", post.address], enrollment: bundle)
    #expect(await box.waitForNotification(containing: "link up") != nil, "\(box.log)")
    let sos = try await box.outpostctl(["sos", "--wait", "delivered", "--timeout", "20"])
    #expect(sos.ending == .exited(0), "\(sos.output)\(sos.errorOutput)\n\(post.log)")

    @Sendable func incident(_ station: StationProcess, kind: String) throws -> JSONValue? {
      let listed = try runChild(
        try ProductBinary.path("outpost-station"),
        ["incidents", "--all", "--json", "--state-dir", station.stateDirectory])
      return listed.lines.compactMap { JSONValue(parsing: $0) }.first {
        $0["kind"]?.string == kind
      }
    }
    let forwarded = await township.eventually(seconds: 30) {
      try incident(township, kind: "forwarded") != nil
    }
    #expect(forwarded, "post:\n\(post.log)\ntownship:\n\(township.log)")
    let postIncident = try #require(try incident(post, kind: "sos")?["id"]?.uint64)

    // The post's officer acknowledges late, after the forward: the township's copy follows.
    let ack = try await post.command([
      "incident", "ack", "\(postIncident)", "--by", "Officer Dorj", "--note", "on our way",
    ])
    #expect(ack.ending == .exited(0), "\(ack.errorOutput)")
    let acknowledged = await township.eventually(seconds: 30) {
      try incident(township, kind: "forwarded")?["acknowledged_by"]?.string
        == "Officer Dorj (post-2)"
    }
    #expect(acknowledged, "post:\n\(post.log)\ntownship:\n\(township.log)")
    #expect(try incident(township, kind: "forwarded")?["state"]?.string == "acknowledged")

    // Then closes it as a false alarm; the township's copy is closed the same way.
    let resolve = try await post.command([
      "incident", "resolve", "\(postIncident)", "--by", "Officer Dorj", "--outcome",
      "false-alarm",
    ])
    #expect(resolve.ending == .exited(0), "\(resolve.errorOutput)")
    let closed = await township.eventually(seconds: 30) {
      try incident(township, kind: "forwarded")?["state"]?.string == "false-alarm"
    }
    #expect(closed, "post:\n\(post.log)\ntownship:\n\(township.log)")
    #expect(
      try incident(township, kind: "forwarded")?["closed_by"]?.string == "Officer Dorj (post-2)")
    let audit = try await township.command(["audit"])
    #expect(audit.output.contains("Officer Dorj (post-2)"), "\(audit.output)")

    // The news is not echoed back down: the post's incident keeps its own officer's word.
    try await Task.sleep(for: .seconds(1))
    let postSide = try #require(try incident(post, kind: "sos"))
    #expect(postSide["acknowledged_by"]?.string == "Officer Dorj")
    #expect(postSide["closed_by"]?.string == "Officer Dorj")
    #expect(!post.log.contains("upstream by"), "\(post.log)")
    #expect(await box.stop() == .exited(0))
    #expect(await post.stop() == .exited(0), "\(post.log)")
    #expect(await township.stop() == .exited(0), "\(township.log)")
  }

  @Test func aBacklogRecordedOfflineArrivesOnceAfterTheStationRestarts() async throws {
    let station = try await StationProcess()
    let bundle = try await station.enroll("ger-3")
    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", station.address], enrollment: bundle)
    #expect(await box.waitForNotification(containing: "link up") != nil, "\(box.log)")
    // The station dies hard; the box keeps recording.
    #expect(await station.kill(SIGKILL) == .signalled(SIGKILL))
    for index in 0..<40 {
      let checkIn = try await box.outpostctl(["checkin", "--who", "card-\(index)"])
      #expect(checkIn.ending == .exited(0))
    }
    try await station.restart()
    let drained = await station.eventually(seconds: 30) { try box.pendingRecords() == 0 }
    #expect(drained, "\(box.log)")
    let events = try await station.command(["events", "--device", "ger-3", "--json"])
    let seqs = events.lines.compactMap { JSONValue(parsing: $0)?["seq"]?.uint64 }
    #expect(Set(seqs).count == seqs.count, "a record stored twice: \(seqs.sorted())")
    let checkIns = events.lines.filter { JSONValue(parsing: $0)?["kind"]?.string == "check-in" }
    #expect(checkIns.count == 40)
    #expect(await box.stop() == .exited(0))
  }

  /// The station's disk fills up: its commits fail, so it acknowledges nothing and the box
  /// keeps its records; once there is space again the box's resend is stored, once, with
  /// nobody doing anything. The station's state is on a small tmpfs of the test's own, filled
  /// with a file until the kernel answers ENOSPC, as a full disk does.
  @Test(.enabled(if: geteuid() == 0, "needs root to mount a small file system of its own"))
  func aFullDiskAtTheStationStopsAcknowledgementsAndRecoversOnItsOwn() async throws {
    var mountPoint: String?
    defer { if let mountPoint { _ = try? runChild("/bin/umount", ["-l", mountPoint]) } }
    let station = try await StationProcess { path in
      guard mkdir(path, 0o700) == 0 else { throw TestSetupError("mkdir \(path): errno \(errno)") }
      let mounted = try runChild(
        "/bin/mount", ["-t", "tmpfs", "-o", "size=8m,mode=0700", "outpost-full-disk", path])
      guard mounted.ending == .exited(0) else {
        throw TestSetupError("mount a tmpfs on \(path): \(mounted.errorOutput)")
      }
      mountPoint = path
    }
    let bundle = try await station.enroll("ger-full")
    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", station.address], enrollment: bundle)
    #expect(await box.waitForNotification(containing: "link up") != nil, "\(box.log)")
    #expect(try await box.outpostctl(["checkin", "--who", "before"]).ending == .exited(0))
    #expect(await station.eventually { try box.pendingRecords() == 0 }, "\(box.log)")

    let filler = station.stateDirectory + "/filler"
    let filled = try Self.fillUntilFull(filler)
    #expect(filled > 0)
    // The box goes on recording. The first commits may still fit in space SQLite's files hold
    // already; press on until the station says it could not store.
    var presses = 0
    var refused = false
    while presses < 400 && !refused {
      let press = try await box.outpostctl(["checkin", "--who", "full-\(presses)"])
      #expect(press.ending == .exited(0), "\(press.errorOutput)")
      presses += 1
      refused = station.log.contains("nothing acknowledged")
    }
    #expect(refused, "no failed commit after \(presses) check-ins on a full disk:\n\(station.log)")
    let sos = try await box.outpostctl(["sos"])
    #expect(sos.output.hasPrefix("recorded: sos"), "\(sos.output)\(sos.errorOutput)")
    try await Task.sleep(for: .seconds(3))
    let heldWhileFull = try box.pendingRecords() ?? 0
    #expect(heldWhileFull > 0, "the box holds nothing unacknowledged while the station is full")
    #expect(station.log.contains("cannot store") || box.log.contains("cannot store"))

    // Space comes back; nobody restarts anything.
    #expect(unlink(filler) == 0)
    let freed = monotonicMs()
    let drained = await station.eventually(seconds: 60) { try box.pendingRecords() == 0 }
    print(
      "full disk: \(filled) bytes of filler; the first failed commit after \(presses) check-ins; "
        + "\(heldWhileFull) records held by the box while full; all stored "
        + "\(monotonicMs() - freed) ms after the space came back")
    #expect(drained, "box:\n\(box.log)\nstation:\n\(station.log)")
    let events = try await station.command(["events", "--device", "ger-full", "--json"])
    #expect(events.ending == .exited(0), "\(events.errorOutput)")
    let parsed = events.lines.compactMap { JSONValue(parsing: $0) }
    let seqs = parsed.compactMap { $0["seq"]?.uint64 }
    #expect(Set(seqs).count == seqs.count, "a record stored twice: \(seqs.sorted())")
    let checkIns = parsed.filter { $0["kind"]?.string == "check-in" }
    #expect(checkIns.count == presses + 1, "\(checkIns.count) check-ins stored of \(presses + 1)")
    #expect(parsed.contains { $0["kind"]?.string == "sos" })
    let incidents = try await station.command(["incidents", "--json"])
    #expect(
      incidents.lines.contains { JSONValue(parsing: $0)?["device"]?.string == "ger-full" },
      "\(incidents.output)")
    #expect(await box.stop() == .exited(0))
    #expect(await station.stop() == .exited(0))
  }

  /// A station on PostgreSQL whose server becomes unreachable (a fault-injecting proxy between
  /// them resets its connections and holds new ones) acknowledges nothing, and the box keeps its
  /// records; once the server answers again the resend is stored, once, with nobody doing
  /// anything. Runs against the real server of `scripts/postgres-test-server`, in a database of
  /// its own.
  @Test(.enabled(if: !postgres.skip, "OUTPOST_SKIP_POSTGRES=1"))
  func anUnreachablePostgreSQLStopsAcknowledgementsAndTheStationRecoversOnItsOwn() async throws {
    guard let server = Self.postgres.server else {
      Issue.record(
        "OUTPOST_TEST_POSTGRES is not set (postgres://user:password@127.0.0.1:PORT/database, as scripts/postgres-test-server prints); OUTPOST_SKIP_POSTGRES=1 leaves PostgreSQL out"
      )
      return
    }
    let database = "station_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    try server.sql("CREATE DATABASE \(database)")
    defer { try? server.sql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
    let proxy = try FaultProxy(upstreamPort: server.port)
    defer { proxy.stop() }
    let station = try await StationProcess(
      config: """
        [store]
        kind = "postgresql"
        host = "127.0.0.1"
        port = \(proxy.port)
        user = "\(server.user)"
        password = "\(server.password)"
        database = "\(database)"

        """)
    let bundle = try await station.enroll("ger-pg")
    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", station.address], enrollment: bundle)
    #expect(await box.waitForNotification(containing: "link up") != nil, "\(box.log)")
    let first = try await box.outpostctl(["sos", "--wait", "delivered", "--timeout", "20"])
    #expect(first.ending == .exited(0), "\(first.output)\(first.errorOutput)\n\(station.log)")
    #expect(try await box.outpostctl(["cancel"]).ending == .exited(0))
    #expect(await station.eventually { try box.pendingRecords() == 0 }, "\(box.log)")

    // The server goes away: open connections are reset, new ones are held unanswered.
    proxy.set(.partitioned)
    proxy.resetAll()
    let lost = monotonicMs()
    for index in 0..<5 {
      #expect(try await box.outpostctl(["checkin", "--who", "pg-\(index)"]).ending == .exited(0))
    }
    let sos = try await box.outpostctl(["sos"])
    #expect(sos.output.hasPrefix("recorded: sos"), "\(sos.output)\(sos.errorOutput)")
    let refused = await station.eventually(seconds: 60) {
      station.log.contains("nothing acknowledged")
    }
    #expect(refused, "the station did not give up on its store:\n\(station.log)")
    let heldWhileLost = try box.pendingRecords() ?? 0
    #expect(heldWhileLost >= 6, "the box holds \(heldWhileLost) records, not the 6 unstored")

    // The server answers again; nobody restarts anything.
    proxy.set(.healthy)
    let healed = monotonicMs()
    let drained = await station.eventually(seconds: 90) { try box.pendingRecords() == 0 }
    #expect(drained, "box:\n\(box.log)\nstation:\n\(station.log)")
    print(
      "unreachable PostgreSQL: the station gave up on the round \(healed - lost) ms after the "
        + "server went away; \(heldWhileLost) records held by the box meanwhile; all stored "
        + "\(monotonicMs() - healed) ms after it came back")
    let events = try await station.command(["events", "--device", "ger-pg", "--json"])
    #expect(events.ending == .exited(0), "\(events.errorOutput)")
    let parsed = events.lines.compactMap { JSONValue(parsing: $0) }
    let seqs = parsed.compactMap { $0["seq"]?.uint64 }
    #expect(Set(seqs).count == seqs.count, "a record stored twice: \(seqs.sorted())")
    #expect(parsed.count { $0["kind"]?.string == "check-in" } == 5)
    #expect(parsed.count { $0["kind"]?.string == "sos" } == 2)
    let incidents = try await station.command(["incidents", "--json"])
    #expect(
      incidents.lines.contains { JSONValue(parsing: $0)?["state"]?.string == "open" },
      "the SOS sent while the server was away opened no incident: \(incidents.output)")
    #expect(await box.stop() == .exited(0))
    #expect(await station.stop() == .exited(0))
  }

  /// Socket activation as systemd does it: `systemd-socket-activate` (from Debian's systemd
  /// package, the same `sd_listen_fds` protocol as a `.socket` unit) listens, starts the station
  /// when the first box connects, and passes the listening socket in; the station serves boxes
  /// on that socket and binds no address of its own.
  @Test(
    .enabled(
      if: access("/usr/bin/systemd-socket-activate", X_OK) == 0,
      "needs /usr/bin/systemd-socket-activate (Debian's systemd package)"))
  func aSocketPassedInBySystemdIsWhereTheStationServesBoxes() async throws {
    let directory = TemporaryDirectory("activated")
    let config = directory.file("station.toml")
    // A configured address the station must leave alone when a socket is passed in.
    try FileBytes.write(Array("[station]\nlisten = [\"127.0.0.1:1\"]\n".utf8), to: config)
    let common = [
      "--config", config, "--state-dir", directory.file("state"), "--run-dir",
      directory.file("run"),
    ]
    let initialized = try await StationProcess.run(["ca", "init"] + common)
    #expect(initialized.ending == .exited(0), "\(initialized.errorOutput)")
    let port = try GPSFake.freePort()
    let bundle = directory.file("felt-1.json")
    let added = try await StationProcess.run(
      ["device", "add", "felt-1", "--bundle", bundle, "--station", "127.0.0.1:\(port)"] + common)
    #expect(added.ending == .exited(0), "\(added.errorOutput)")
    let notify = try NotifyListener()
    let activator = try ChildProcess(
      "/usr/bin/systemd-socket-activate",
      [
        "--listen", "127.0.0.1:\(port)", "--setenv", "NOTIFY_SOCKET=\(notify.notifySocket)",
        try ProductBinary.path("outpost-station"),
      ] + common, errorPath: directory.file("station.log"))
    defer {
      activator.signal(SIGKILL)
      _ = activator.wait()
    }
    let stationLog = { (try? FileBytes.readText(directory.file("station.log"))) ?? "" }

    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", "127.0.0.1:\(port)"], enrollment: bundle)
    #expect(
      await box.waitForNotification(containing: "link up") != nil,
      "box:\n\(box.log)\nstation:\n\(stationLog())")
    let ready = try await onOwnThread {
      var seen: [String] = []
      while let message = notify.receive() {
        seen.append(message)
        if message.contains("READY=1") { return message }
      }
      return seen.joined(separator: " | ")
    }
    #expect(ready.contains("READY=1") && ready.contains("127.0.0.1:\(port)"), "\(ready)")
    let sos = try await box.outpostctl(["sos", "--wait", "delivered", "--timeout", "20"])
    #expect(sos.ending == .exited(0), "\(sos.output)\(sos.errorOutput)\n\(stationLog())")
    let listening = stationLog().split(separator: "\n").filter {
      $0.contains("listening for boxes on")
    }
    #expect(
      listening.count == 1 && listening[0].hasSuffix("127.0.0.1:\(port) (from systemd)"),
      "\(stationLog())")
    #expect(await box.stop() == .exited(0))
    activator.signal(SIGTERM)
    let ending = activator.wait()
    #expect(ending == .exited(0), "\(stationLog())")
  }

  /// The station as its package runs it: as a system user of its own, not root, and started
  /// with the low soft limit on open files a service gets (1,024). Everything the tests run as
  /// root would hide fails here: a socket option only root may set on each box's connection
  /// made the station refuse every box as its own user. The station raises the soft limit to
  /// the hard one and says when even that is below `link.max_connections`.
  @Test(.enabled(if: geteuid() == 0, "needs root to run the station as another user"))
  func aStationRunAsItsOwnUserServesBoxesAndRaisesItsOpenFilesLimit() async throws {
    let directory = TemporaryDirectory("own-user")
    let nobody: uid_t = 65534
    #expect(chown(directory.path, nobody, gid_t(nobody)) == 0)
    let config = directory.file("station.toml")
    try FileBytes.write(Array("[link]\nmax_connections = 8000\n".utf8), to: config)
    #expect(chmod(config, 0o644) == 0)
    let station = try ProductBinary.path("outpost-station")
    let asNobody = [
      "/usr/bin/setpriv", "--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", "--",
    ]
    let common = [
      "--config", config, "--state-dir", directory.file("state"), "--run-dir",
      directory.file("run"),
    ]
    let initialized = try runChild(
      asNobody[0], Array(asNobody.dropFirst()) + [station, "ca", "init"] + common)
    #expect(initialized.ending == .exited(0), "\(initialized.errorOutput)")
    let logPath = directory.file("station.log")
    let daemon = try ChildProcess(
      "/usr/bin/prlimit",
      ["--nofile=1024:4096", "--"] + asNobody + [station, "--listen", "127.0.0.1:0"] + common,
      errorPath: logPath)
    defer {
      daemon.signal(SIGKILL)
      _ = daemon.wait()
    }
    let log = { (try? FileBytes.readText(logPath)) ?? "" }
    var address: String?
    for _ in 0..<200 where address == nil {
      address = log().split(separator: "\n").first { $0.contains("listening for boxes on") }
        .flatMap { StationProcess.address(in: String($0)) }
      if address == nil { try await Task.sleep(for: .milliseconds(50)) }
    }
    let listening = try #require(address, "the station did not start as nobody:\n\(log())")
    #expect(log().contains("open-files limit raised from 1024 to 4096"), "\(log())")
    #expect(log().contains("only 4096 files may be open"), "\(log())")

    let bundle = directory.file("khot-1.json")
    let added = try runChild(
      asNobody[0],
      Array(asNobody.dropFirst())
        + [station, "device", "add", "khot-1", "--bundle", bundle, "--station", listening]
        + common)
    #expect(added.ending == .exited(0), "\(added.errorOutput)")
    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", listening], enrollment: bundle)
    #expect(
      await box.waitForNotification(containing: "link up") != nil,
      "box:\n\(box.log)\nstation:\n\(log())")
    let sos = try await box.outpostctl(["sos", "--wait", "delivered", "--timeout", "20"])
    #expect(sos.ending == .exited(0), "\(sos.output)\(sos.errorOutput)\n\(log())")
    #expect(await box.stop() == .exited(0))
    daemon.signal(SIGTERM)
    let ending = daemon.wait()
    #expect(ending == .exited(0), "\(log())")
  }

  /// The PostgreSQL server of the test run, read once when the test plan is made: other suites
  /// in this process set environment variables while tests run, and reading the environment
  /// meanwhile would race with them.
  static let postgres: (skip: Bool, server: PostgresTestServer?) = (
    getenv("OUTPOST_SKIP_POSTGRES").map { String(cString: $0) } == "1",
    PostgresTestServer.fromEnvironment()
  )

  /// Writes `path` until the file system is full; returns the bytes written.
  static func fillUntilFull(_ path: String) throws -> Int {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw TestSetupError("open \(path): errno \(errno)") }
    defer { close(fd) }
    let chunk = [UInt8](repeating: 0xA5, count: 65536)
    var total = 0
    while true {
      let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if written > 0 {
        total += written
      } else if written < 0 && errno == EINTR {
        continue
      } else if written < 0 && errno == ENOSPC {
        return total
      } else {
        throw TestSetupError("write \(path): returned \(written), errno \(errno)")
      }
    }
  }

  @Test func aRevokedBoxIsCutAndRefusedWithAClearLine() async throws {
    let station = try await StationProcess()
    let bundle = try await station.enroll("tent-9")
    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", station.address], enrollment: bundle)
    #expect(await box.waitForNotification(containing: "link up") != nil, "\(box.log)")
    let revoked = try await station.command(["device", "revoke", "tent-9", "--by", "admin"])
    #expect(revoked.ending == .exited(0), "\(revoked.errorOutput)")
    #expect(
      await station.eventually {
        (try FileBytes.readText(station.logPath)).contains(
          "refused box at")
      }, "\(station.log)")
    #expect(station.log.contains("cut the live link of revoked device tent-9"))
    #expect(station.log.contains("device \"tent-9\" is revoked"))
    #expect(
      await station.eventually { (try FileBytes.readText(box.logPath)).contains("is revoked") },
      "\(box.log)")
    // The box keeps recording locally.
    let sos = try await box.outpostctl(["sos"])
    #expect(sos.output.hasPrefix("recorded: sos"))
    #expect(await box.stop() == .exited(0))
  }

  /// The brief's bar: an idle box's link costs at most 100 KB a day. Measured through a
  /// counting proxy with a 5-s ping interval (TLS records as they cross the socket), then
  /// scaled to the shipped 300-s interval, with 52 bytes of IPv4 and TCP headers (timestamps
  /// on) for each of the three segments of an exchange (ping, pong with the ACK piggybacked,
  /// the ACK of the pong), and the hourly box-health record costed as a measured check-in.
  @Test func anIdleLinkCostsLessThan100KBADay() async throws {
    let station = try await StationProcess(config: "[link]\nping_interval_s = 5\n")
    let stationPort = try #require(UInt16(station.address.split(separator: ":").last ?? ""))
    let proxy = try FaultProxy(upstreamPort: stationPort)
    defer { proxy.stop() }
    let bundle = try await station.enroll("idle-1")
    let box = try Daemon(
      config: Self.boxConfig, arguments: ["--station", "127.0.0.1:\(proxy.port)"],
      enrollment: bundle)
    #expect(await box.waitForNotification(containing: "link up") != nil, "\(box.log)")
    #expect(await station.eventually { try box.pendingRecords() == 0 })

    // Ping exchanges: everything that crosses an idle link over four intervals.
    let before = proxy.figures
    let started = monotonicMs()
    _ = try await onOwnThread { usleep(20_500_000) }
    let after = proxy.figures
    let intervals = Double(monotonicMs() - started) / 5000
    let idleBytes = Double(
      (after.toUpstream - before.toUpstream) + (after.toClients - before.toClients))
    let perExchange = idleBytes / intervals.rounded(.down) + 3 * 52
    // A routine record and its acknowledgement, as the hourly box-health record costs.
    let quiet = proxy.figures
    let checkIn = try await box.outpostctl(["checkin", "--who", "card-1"])
    #expect(checkIn.ending == .exited(0))
    #expect(await station.eventually { try box.pendingRecords() == 0 })
    let recorded = proxy.figures
    let perRecord =
      Double(
        (recorded.toUpstream - quiet.toUpstream) + (recorded.toClients - quiet.toClients))
      + 3 * 52
    let perDay = perExchange * 86_400 / 300 + perRecord * 24
    print(
      "idle link: \(Int(idleBytes)) bytes in \(Int(intervals)) ping intervals, "
        + "\(Int(perExchange)) bytes per exchange with headers, \(Int(perRecord)) per routine "
        + "record; \(Int(perDay / 1000)) KB a day at the shipped 300-s interval")
    #expect(idleBytes > 0, "no pings crossed the link")
    #expect(perDay <= 100_000, "an idle link would cost \(Int(perDay)) bytes a day")
    #expect(await box.stop() == .exited(0))
  }

  @Test func checkConfigOfTheShippedSampleAndOfABrokenFile() async throws {
    let directory = TemporaryDirectory("station-config")
    let here = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
    let sample = try await StationProcess.run([
      "--config", "/\(here)/Config/station.toml", "--check-config",
    ])
    #expect(sample.ending == .exited(0), "\(sample.errorOutput)")
    #expect(sample.lines.first == "/\(here)/Config/station.toml: OK")
    let broken = directory.file("station.toml")
    try FileBytes.write(Array("[link]\nwindow = 8\nwindows = 3\n".utf8), to: broken)
    let bad = try await StationProcess.run(["--config", broken, "--check-config"])
    #expect(bad.ending == .exited(78))
    #expect(
      bad.errorOutput.contains("\(broken):3: link.windows: unknown key"), "\(bad.errorOutput)")
  }
}

/// The PostgreSQL server `scripts/postgres-test-server` started, as `OUTPOST_TEST_POSTGRES`
/// names it (`postgres://user:password@127.0.0.1:PORT/database`), read by the store's own
/// URL parser.
struct PostgresTestServer: Sendable {
  var server: PostgresStationStore.Configuration

  var user: String { server.username }
  var password: String { server.password ?? "" }
  var port: UInt16 { UInt16(server.port) }
  var database: String { server.database }

  static func fromEnvironment() -> PostgresTestServer? {
    guard let value = getenv("OUTPOST_TEST_POSTGRES"),
      let server = PostgresStationStore.Configuration(url: String(cString: value))
    else { return nil }
    return PostgresTestServer(server: server)
  }

  /// Runs one statement with psql, as the server's user, in its first database.
  func sql(_ statement: String) throws {
    let candidates =
      ["/usr/bin/psql"] + (13...20).reversed().map { "/usr/lib/postgresql/\($0)/bin/psql" }
    guard let binary = candidates.first(where: { access($0, X_OK) == 0 }) else {
      throw TestSetupError("no psql found")
    }
    let result = try runChild(
      binary,
      [
        "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d",
        database, "-c", statement,
      ], environment: ["PGPASSWORD": password])
    guard result.ending == .exited(0) else {
      throw TestSetupError("psql \(statement): \(result.errorOutput)")
    }
  }
}
