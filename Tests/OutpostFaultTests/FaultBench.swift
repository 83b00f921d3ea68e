import Glibc
import OutpostTestKit
import Synchronization

/// A real station, a ``FaultProxy`` in front of it, and one real box (`outpostd`) that reaches
/// the station only through the proxy; each in directories of its own. The test breaks the link
/// or kills a daemon while ``generate(until:)`` records check-ins, SOS presses and cancels
/// through `outpostctl`, then heals everything and ``audit()`` compares what the box recorded
/// with what the station stored.
///
/// Processes are started and killed only by the test's own flow; the generating thread only
/// runs `outpostctl` and writes the ledger (under its lock).
final class FaultBench: @unchecked Sendable {
  let directory = TemporaryDirectory("fault")
  let device: String
  let stationPort: UInt16
  let proxy: FaultProxy
  private var station: ChildProcess?
  private var agent: ChildProcess?
  private(set) var stationStarts = 0
  private(set) var agentStarts = 0
  /// What `outpostctl` reported recorded, and how many of its calls failed.
  let ledger = Mutex(Ledger())

  /// Station `[link] ping_interval_s` (its minimum): the station drops a box silent for 2.5 of
  /// these.
  static let pingIntervalSeconds = 5
  /// Agent `[uplink] pong_timeout_s` (its minimum).
  static let pongTimeoutSeconds = 2

  var stationDirectory: String { directory.file("station") }
  var boxDirectory: String { directory.file("box") }

  /// Creates the station's CA, enrolls the box, starts the station, the proxy and the box, and
  /// waits until the box answers on its control socket.
  init(device: String) async throws {
    self.device = device
    mkdir(directory.file("station"), 0o700)
    mkdir(directory.file("box"), 0o700)
    stationPort = try Self.freePort()
    try FileBytes.write(
      Array(
        """
        [station]
        name = "fault-station"
        [link]
        ping_interval_s = \(Self.pingIntervalSeconds)
        window = 4
        records_per_batch = 16

        """.utf8), to: directory.file("station.toml"))
    try FileBytes.write(
      Array(
        """
        [agent]
        device = "\(device)"
        [journal]
        size = 1048576
        group_commit_ms = 20
        [alarm]
        record_interval_s = 0
        [control]
        group = ""
        [uplink]
        backoff_max_s = 1
        pong_timeout_s = \(Self.pongTimeoutSeconds)

        """.utf8), to: directory.file("agent.toml"))
    proxy = try FaultProxy(upstreamPort: stationPort)
    try await stationCommand(["ca", "init"])
    try await stationCommand([
      "device", "add", device, "--bundle", directory.file("bundle.json"),
      "--station", "127.0.0.1:\(proxy.port)",
    ])
    let enrolled = try await outpostctl([
      "enroll", directory.file("bundle.json"), "--state-dir", boxDirectory + "/state",
    ])
    guard enrolled.ending == .exited(0) else {
      throw BenchFailure("outpostctl enroll: \(enrolled.ending): \(enrolled.errorOutput)")
    }
    try await startStation()
    try await startAgent()
  }

  deinit {
    proxy.stop()
  }

  // MARK: Station

  /// Runs an `outpost-station` command on the station's state; throws unless it exits 0.
  @discardableResult
  func stationCommand(_ arguments: [String]) async throws -> ChildResult {
    let all =
      arguments + [
        "--config", directory.file("station.toml"), "--state-dir", stationDirectory + "/state",
        "--run-dir", stationDirectory + "/run",
      ]
    let result = try await onOwnThread {
      try runChild(try ProductBinary.path("outpost-station"), all, timeoutMs: 30_000)
    }
    guard result.ending == .exited(0) else {
      throw BenchFailure(
        "outpost-station \(arguments.joined(separator: " ")): \(result.ending): \(result.errorOutput)"
      )
    }
    return result
  }

  /// Starts the station daemon on the same state and port and waits until it listens.
  func startStation() async throws {
    stationStarts += 1
    let log = directory.file("station-\(stationStarts).log")
    station = try ChildProcess(
      try ProductBinary.path("outpost-station"),
      [
        "run", "--config", directory.file("station.toml"), "--state-dir",
        stationDirectory + "/state", "--run-dir", stationDirectory + "/run", "--listen",
        "127.0.0.1:\(stationPort)", "--log-level", "info",
      ], errorPath: log)
    let ready = try await onOwnThread {
      Self.poll(timeoutMs: 30_000) {
        ((try? FileBytes.readText(log)) ?? "").contains("listening for boxes")
      }
    }
    guard ready else {
      throw BenchFailure("the station did not listen within 30 s: \(stationLog)")
    }
  }

  /// Kills the station with SIGKILL and reaps it.
  func killStation() async throws {
    guard let station else { return }
    self.station = nil
    station.signal(SIGKILL)
    let dying = Handed(station)
    _ = try await onOwnThread { dying.value.wait() }
  }

  /// Every station log so far, in order.
  var stationLog: String {
    (1...max(1, stationStarts)).map {
      (try? FileBytes.readText(directory.file("station-\($0).log"))) ?? ""
    }.joined(separator: "\n")
  }

  /// The station's view of the box: `devices --json`'s object for it.
  func stationDeviceView() async throws -> JSONValue? {
    let result = try await stationCommand(["devices", "--json"])
    return result.lines.compactMap { JSONValue(parsing: $0) }.first {
      $0["name"]?.string == device
    }
  }

  // MARK: Box

  /// Starts outpostd on the box's state (the same every time) and waits until `outpostctl
  /// status` answers.
  func startAgent() async throws {
    agentStarts += 1
    agent = try ChildProcess(
      try ProductBinary.path("outpostd"),
      [
        "--config", directory.file("agent.toml"), "--state-dir", boxDirectory + "/state",
        "--run-dir", boxDirectory + "/run", "--station", "127.0.0.1:\(proxy.port)",
        "--log-level", "info",
      ], errorPath: directory.file("outpostd-\(agentStarts).log"))
    let deadline = monotonicMs() + 30_000
    while monotonicMs() < deadline {
      if let status = try? await outpostctl(["status", "--json"]), status.ending == .exited(0) {
        return
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw BenchFailure("outpostd did not answer within 30 s: \(agentLog)")
  }

  /// Kills outpostd with SIGKILL and reaps it.
  func killAgent() async throws {
    guard let agent else { return }
    self.agent = nil
    agent.signal(SIGKILL)
    let dying = Handed(agent)
    _ = try await onOwnThread { dying.value.wait() }
  }

  /// Every outpostd log so far, in order.
  var agentLog: String {
    (1...max(1, agentStarts)).map {
      (try? FileBytes.readText(directory.file("outpostd-\($0).log"))) ?? ""
    }.joined(separator: "\n")
  }

  /// Runs outpostctl against the box's control socket.
  func outpostctl(_ arguments: [String]) async throws -> ChildResult {
    let all = arguments + ["--run-dir", boxDirectory + "/run"]
    return try await onOwnThread {
      try runChild(try ProductBinary.path("outpostctl"), all, timeoutMs: 30_000)
    }
  }

  /// The box's `status --json`.
  func agentStatus() async throws -> JSONValue {
    let result = try await outpostctl(["status", "--json"])
    guard result.ending == .exited(0), let status = JSONValue(parsing: result.output) else {
      throw BenchFailure("outpostctl status --json: \(result.ending): \(result.errorOutput)")
    }
    return status
  }

  // MARK: Records

  /// What `outpostctl` said while the faults ran.
  struct Ledger: Sendable {
    /// Sequence numbers reported `recorded` (or `joined` with a record), by kind.
    var recorded: [UInt64: String] = [:]
    /// Incident numbers of SOS records reported.
    var incidents: Set<UInt64> = []
    /// Calls that exited otherwise than 0 (the agent was down or restarting).
    var failedCalls = 0
    var calls = 0
  }

  /// Records through `outpostctl` until `stop` is set, on the calling thread (call it from
  /// ``onOwnThread(_:)``): check-ins by numbered people, an SOS every ten calls, a second press
  /// (a record of its own: the record interval is 0) two calls later, and a cancel three calls
  /// after that.
  func generate(until stop: StopFlag) {
    var index = 0
    guard let binary = try? ProductBinary.path("outpostctl") else { return }
    let run = boxDirectory + "/run"
    while !stop.isSet {
      let arguments: [String] =
        switch index % 10 {
        case 0, 2: ["sos", "--json"]
        case 5: ["cancel", "--json"]
        default: ["checkin", "--who", "p\(index)", "--json"]
        }
      index += 1
      let result = try? runChild(binary, arguments + ["--run-dir", run], timeoutMs: 30_000)
      ledger.withLock { ledger in
        ledger.calls += 1
        if result?.ending != .exited(0) { ledger.failedCalls += 1 }
        for line in result?.lines ?? [] {
          guard let reply = JSONValue(parsing: line), let seq = reply["seq"]?.uint64,
            let event = reply["event"]?.string, event == "recorded" || event == "joined"
          else { continue }
          let kind = reply["kind"]?.string ?? "?"
          ledger.recorded[seq] = kind
          if kind == "sos", let incident = reply["incident"]?.uint64 {
            ledger.incidents.insert(incident)
          }
        }
      }
      if result?.ending != .exited(0) { usleep(50_000) }
    }
  }

  /// Runs ``generate(until:)`` on a thread of its own while `faults` runs, then stops it.
  func generating(during faults: () async throws -> Void) async throws {
    let stop = StopFlag()
    let generator = Task { try await onOwnThread { self.generate(until: stop) } }
    do {
      try await faults()
    } catch {
      stop.set()
      _ = try? await generator.value
      throw error
    }
    stop.set()
    try await generator.value
  }

  // MARK: Audit

  /// The comparison of the box's journal and the station's store.
  struct Tally: Sendable, CustomStringConvertible {
    /// Records `outpostctl` reported recorded.
    var reported = 0
    /// Records in the box's journal, and how many of them it holds acknowledged.
    var journal = 0
    var journalAcknowledged = 0
    /// Rows the station returned for the box, and distinct (epoch, seq) among them.
    var stored = 0
    var storedDistinct = 0
    /// Epochs among the stored rows.
    var epochs: Set<String> = []
    /// Journal records the station does not hold; reported records missing from the journal.
    var lost: [UInt64] = []
    var reportedNotInJournal: [UInt64] = []
    /// Stored records of the box's epoch the journal never held.
    var unknown: [UInt64] = []
    /// SOS incidents: opened at the station, and expected from the journal's SOS and cancel
    /// records in sequence order (an SOS with no incident running opens one).
    var incidentsOpened: [UInt64] = []
    var incidentsExpected: [UInt64] = []
    /// Distinct incidents `outpostctl` reported.
    var incidentsReported = 0
    var calls = 0
    var failedCalls = 0

    var duplicates: Int { stored - storedDistinct }

    var description: String {
      "reported \(reported) (\(calls) calls, \(failedCalls) failed), journal \(journal) "
        + "(\(journalAcknowledged) acknowledged), stored \(stored) rows / \(storedDistinct) "
        + "distinct in epochs \(epochs.sorted()), lost \(lost.count), duplicated \(duplicates), "
        + "unknown \(unknown.count), reported-not-in-journal \(reportedNotInJournal.count), "
        + "SOS incidents opened \(incidentsOpened.count) / expected "
        + "\(incidentsExpected.count) / reported \(incidentsReported)"
    }
  }

  /// Waits until the box has nothing pending (the link healthy), then compares.
  func audit(timeoutMs: UInt64 = 60_000) async throws -> Tally {
    proxy.set(.healthy)
    let deadline = monotonicMs() + timeoutMs
    var last = ""
    while true {
      let status = try? await agentStatus()
      // Pending drained and the box connected again: the link recovered, not just went quiet.
      if let status, status["pending"]?.uint64 == 0, proxy.figures.open > 0,
        try await stationDeviceView()?["link"]?.string == "up"
      {
        break
      }
      last =
        status.map { "\($0["pending"]?.uint64 ?? 0) pending, link \($0["link"] ?? .null)" }
        ?? "no status"
      guard monotonicMs() < deadline else {
        throw BenchFailure("the box still has records pending after \(timeoutMs) ms: \(last)")
      }
      try await Task.sleep(for: .milliseconds(200))
    }
    var tally = Tally()
    let ledger = self.ledger.withLock { $0 }
    tally.reported = ledger.recorded.count
    tally.incidentsReported = ledger.incidents.count
    tally.calls = ledger.calls
    tally.failedCalls = ledger.failedCalls

    let status = try await agentStatus()
    guard let epoch = status["journal"]?["epoch"]?.string else {
      throw BenchFailure("status --json has no journal.epoch")
    }
    let dump = try await outpostctl(["journal", "dump", "--json"])
    guard dump.ending == .exited(0) else {
      throw BenchFailure("journal dump: \(dump.ending): \(dump.errorOutput)")
    }
    var journal: [UInt64: String] = [:]
    for line in dump.lines {
      guard let record = JSONValue(parsing: line), let seq = record["seq"]?.uint64 else {
        throw BenchFailure("journal dump printed \(line)")
      }
      journal[seq] = record["kind"]?.string ?? "?"
      if record["acknowledged"]?.bool == true { tally.journalAcknowledged += 1 }
    }
    tally.journal = journal.count

    let events = try await stationCommand([
      "events", "--json", "--device", device, "--limit", "1000000",
    ])
    var stored: Set<UInt64> = []
    for line in events.lines {
      guard let event = JSONValue(parsing: line), let seq = event["seq"]?.uint64,
        let recordEpoch = event["epoch"]?.string
      else { throw BenchFailure("events --json printed \(line)") }
      tally.stored += 1
      tally.epochs.insert(recordEpoch)
      if recordEpoch == epoch {
        stored.insert(seq)
      } else {
        tally.unknown.append(seq)
      }
    }
    tally.storedDistinct = stored.count + tally.unknown.count
    tally.lost = journal.keys.filter { !stored.contains($0) }.sorted()
    tally.unknown += stored.filter { journal[$0] == nil }.sorted()
    tally.reportedNotInJournal = ledger.recorded.keys.filter { journal[$0] == nil }.sorted()

    var running = false
    for seq in journal.keys.sorted() {
      switch journal[seq] {
      case "sos":
        if !running { tally.incidentsExpected.append(seq) }
        running = true
      case "sos-cancel":
        running = false
      default:
        break
      }
    }
    let incidents = try await stationCommand(["incidents", "--all", "--json"])
    for line in incidents.lines {
      guard let incident = JSONValue(parsing: line) else { continue }
      guard incident["device"]?.string == device, incident["kind"]?.string == "sos" else {
        continue
      }
      tally.incidentsOpened.append(incident["seq"]?.uint64 ?? 0)
    }
    tally.incidentsOpened.sort()
    return tally
  }

  // MARK: Helpers

  /// Polls `condition` every 20 ms until it holds or `timeoutMs` passes; blocks the thread.
  static func poll(timeoutMs: UInt64, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicMs() + timeoutMs
    repeat {
      if condition() { return true }
      usleep(20_000)
    } while monotonicMs() < deadline
    return condition()
  }

  /// A loopback port nobody listens on now (the kernel's pick).
  static func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw BenchFailure("socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    let named = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard bound == 0, named == 0 else { throw BenchFailure("bind 127.0.0.1:0: errno \(errno)") }
    return UInt16(bigEndian: address.sin_port)
  }
}

/// Tells the generating thread to stop.
final class StopFlag: Sendable {
  private let flag = Atomic<Bool>(false)
  var isSet: Bool { flag.load(ordering: .relaxed) }
  func set() { flag.store(true, ordering: .relaxed) }
}

/// A child process handed to the thread that reaps it; nothing else touches it from then on.
private struct Handed: @unchecked Sendable {
  let value: ChildProcess
  init(_ value: ChildProcess) { self.value = value }
}

/// A fixture step that failed, with what it saw.
struct BenchFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
