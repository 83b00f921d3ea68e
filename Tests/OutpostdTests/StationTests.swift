import Glibc
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
    let drained = await station.eventually(seconds: 30) {
      let status = try runChild(
        try ProductBinary.path("outpostctl"), ["status", "--json", "--run-dir", box.runDirectory])
      return JSONValue(parsing: status.output)?["pending"]?.uint64 == 0
    }
    #expect(drained, "\(box.log)")
    let events = try await station.command(["events", "--device", "ger-3", "--json"])
    let seqs = events.lines.compactMap { JSONValue(parsing: $0)?["seq"]?.uint64 }
    #expect(Set(seqs).count == seqs.count, "a record stored twice: \(seqs.sorted())")
    let checkIns = events.lines.filter { JSONValue(parsing: $0)?["kind"]?.string == "check-in" }
    #expect(checkIns.count == 40)
    #expect(await box.stop() == .exited(0))
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
    let runDirectory = box.runDirectory
    let pending = { @Sendable () throws -> UInt64? in
      let status = try runChild(
        try ProductBinary.path("outpostctl"), ["status", "--json", "--run-dir", runDirectory])
      return JSONValue(parsing: status.output)?["pending"]?.uint64
    }
    #expect(await station.eventually { try pending() == 0 })

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
    #expect(await station.eventually { try pending() == 0 })
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
