// GRDB binds blobs as Foundation's `Data`.
import Foundation
import GRDB
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OutpostCA
import OutpostCore
import OutpostEnrollment
import OutpostStore
import OutpostTestKit
import OutpostUplink
import OutpostWire

/// Where a station run keeps its records.
enum StoreKind {
  case sqlite
  case postgresql(PostgresStationStore.Configuration)

  var name: String {
    switch self {
    case .sqlite: "SQLite"
    case .postgresql: "PostgreSQL"
    }
  }
}

/// One station ingest run.
struct IngestFigures {
  var store: String
  var boxes: Int
  var records: Int
  /// µs from the first batch sent to the last record acknowledged.
  var micros: UInt64
  /// µs to connect every box (TLS handshake, hello, welcome).
  var connectMicros: UInt64
  var stationCPUms: Double
  var generatorCPUms: Double
  /// Records stored at the station after the run (for PostgreSQL and SQLite alike).
  var perSecond: Double { Double(records) / (Double(micros) / 1e6) }
}

/// One in-process baseline: the same rows, no network, no TLS, no station.
struct BaselineFigures {
  var name: String
  var records: Int
  var recordsPerTransaction: Int
  var micros: UInt64
  var perSecond: Double { Double(records) / (Double(micros) / 1e6) }
}

/// Station ingest: many simulated boxes on real TLS connections to a real `outpost-station`,
/// each sending batches of position records and counting the acknowledgements, which the
/// station sends only after the records committed. Baselines store the same rows in this
/// process without the station.
struct IngestBench {
  let options: Options
  let directory: String
  let logger: Logger

  /// Records per transaction in the in-process baselines.
  static let baselineTransaction = 4096

  /// Every box's batches: seq 1…N of a random epoch, a position a second.
  func workload(names: [String]) -> [(name: String, epoch: UInt64, batches: [Batch])] {
    let nowMs = wallMs()
    return names.enumerated().map { index, name in
      let epoch = UInt64.random(in: 1...UInt64.max)
      var seq: UInt64 = 1
      var batches: [Batch] = []
      for _ in 0..<options.batchesPerBox {
        var records: [WireRecord] = []
        for _ in 0..<options.recordsPerBatch {
          let step = Int32(seq)
          let position = Position(
            latitudeE7: 479_000_000 + Int32(index) * 1000 + step * 37,
            longitudeE7: 1_069_000_000 + step * 53, altitudeDm: 13_500, speedCmPerS: 420,
            headingCdeg: 4_500, hdopCenti: 90, satellites: 9)
          records.append(
            WireRecord(
              seq: seq, kind: .position, priority: .normal,
              wallMs: nowMs - 3_600_000 + Int64(seq) * 1000, clockTrusted: true, monotonic: nil,
              body: RecordBody.position(position).encoded()))
          seq += 1
        }
        batches.append(Batch(epoch: epoch, records: records))
      }
      return (name, epoch, batches)
    }
  }

  /// Opens a store of `kind` (a SQLite file under `state`), migrated.
  func openStore(_ kind: StoreKind, state: String) async throws -> any StationStore {
    switch kind {
    case .sqlite:
      let store = try SQLiteStationStore(path: state + "/station.db", logger: logger)
      try await store.migrate()
      return store
    case .postgresql(let configuration):
      let store = PostgresStationStore(configuration: configuration, logger: logger)
      Task { await store.run() }
      try await store.migrate()
      return store
    }
  }

  /// Registers devices `names` in `store`, with certificates from `ca` when given.
  func enroll(_ names: [String], store: any StationStore, ca: CertificateAuthority?) async throws
    -> [NIOSSLContext]
  {
    var contexts: [NIOSSLContext] = []
    for name in names {
      let issued = try ca?.issueDevice(name: name)
      let device = try await store.addDevice(
        DeviceRegistration(name: name, certificateSerial: issued?.serial ?? name),
        atMs: wallMs())
      if let ca, let issued {
        contexts.append(
          try UplinkTLS.clientContext(
            bundle: EnrollmentBundle(
              device: name, deviceNumber: device.number, stations: [],
              caCertificate: ca.caCertificatePEM, certificate: issued.certificatePEM,
              privateKey: issued.privateKeyPEM, datagramKeys: [], issuedAtMs: wallMs())))
      }
    }
    return contexts
  }

  /// Runs the station on `kind` and the simulated boxes against it.
  func station(_ kind: StoreKind, tag: String) async throws -> IngestFigures {
    let binary = options.binaries + "/outpost-station"
    let state = directory + "/ingest-\(tag)"
    let config = directory + "/ingest-\(tag).toml"
    var storeTOML = ""
    if case .postgresql(let c) = kind {
      storeTOML = """
        [store]
        kind = "postgresql"
        host = "\(c.host)"
        port = \(c.port)
        user = "\(c.username)"
        password = "\(c.password ?? "")"
        database = "\(c.database)"

        """
    }
    try writeFile(
      config,
      """
      [station]
      name = "bench-ingest"
      state_dir = "\(state)"
      run_dir = "\(state)-run"
      listen = ["127.0.0.1:0"]

      [escalation]
      after_s = 0

      \(storeTOML)
      """)
    _ = try await runChecked(binary, ["ca", "init", "--config", config])
    let ca = try CertificateAuthority.load(directory: state + "/ca")
    // Names differ from run to run, so a PostgreSQL database used before still takes them.
    let run = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let names = (0..<options.boxes).map { "sim-\(run)-\($0)" }
    let store = try await openStore(kind, state: state)
    let contexts = try await enroll(names, store: store, ca: ca)
    try await store.close()
    let boxes = workload(names: names)

    let daemon = try Daemon(
      binary: binary, arguments: ["run", "--config", config, "--log-level", "notice"],
      logPath: directory + "/ingest-\(tag).log")
    let ready = try await daemon.start()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
      guard let address = listeningAddress(in: ready), let pid = daemon.pid,
        let port = Int(address.split(separator: ":").last ?? "")
      else { throw BenchError("no address in the station's READY status: \(ready)") }
      let loop = group.next()
      let connectStart = monotonicMicros()
      let simulated = try await connectAll(
        boxes: boxes, contexts: contexts, loop: loop, port: port)
      let connected = monotonicMicros()
      let stationCPU = cpuMilliseconds(pid: pid) ?? 0
      let ownCPU = ownCPUMilliseconds()
      let start = monotonicMicros()
      for (box, _) in simulated { loop.execute { box.start() } }
      for (box, _) in simulated { try await box.finished.futureResult.get() }
      let end = monotonicMicros()
      let figures = IngestFigures(
        store: kind.name, boxes: boxes.count,
        records: boxes.reduce(0) { $0 + $1.batches.reduce(0) { $0 + $1.records.count } },
        micros: end - start, connectMicros: connected - connectStart,
        stationCPUms: (cpuMilliseconds(pid: pid) ?? 0) - stationCPU,
        generatorCPUms: ownCPUMilliseconds() - ownCPU)
      for (_, channel) in simulated { try? await channel.close() }
      await daemon.stop()
      try await group.shutdownGracefully()
      return figures
    } catch {
      await daemon.stop()
      try? await group.shutdownGracefully()
      throw error
    }
  }

  /// Connects every box (at most 64 handshakes at a time) and waits for each welcome.
  private func connectAll(
    boxes: [(name: String, epoch: UInt64, batches: [Batch])], contexts: [NIOSSLContext],
    loop: any EventLoop, port: Int
  ) async throws -> [(SimulatedBox, any Channel)] {
    var connected: [(SimulatedBox, any Channel)] = []
    try await withThrowingTaskGroup(of: (SimulatedBox, any Channel).self) { group in
      var index = 0
      func add() {
        let box = boxes[index]
        let tls = contexts[index]
        index += 1
        group.addTask {
          let nextSeq = UInt64(box.batches.reduce(0) { $0 + $1.records.count }) + 1
          let handler = SimulatedBox(
            hello: Hello(
              versions: ProtocolVersion.supported, device: box.name, capabilities: [],
              epoch: box.epoch, ackFloor: 0, nextSeq: nextSeq, boot: 1, wallMs: wallMs(),
              timeAnchor: nil),
            batches: box.batches, eventLoop: loop)
          let channel = try await ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
              channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandlers([
                  try NIOSSLClientHandler(context: tls, serverHostname: UplinkTLS.serverHostname),
                  ByteToMessageHandler(StreamFrameDecoder()),
                  MessageToByteHandler(StreamFrameEncoder()),
                  handler,
                ])
              }
            }
            .connect(host: "127.0.0.1", port: port).get()
          try await handler.welcomed.futureResult.get()
          return (handler, channel)
        }
      }
      while index < min(64, boxes.count) { add() }
      while let done = try await group.next() {
        connected.append(done)
        if index < boxes.count { add() }
      }
    }
    return connected
  }

  /// The store's own ingest in this process: the same rows, `baselineTransaction` records a
  /// transaction, no network.
  func storeBaseline(_ kind: StoreKind, tag: String) async throws -> BaselineFigures {
    let state = directory + "/baseline-\(tag)"
    try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
    let run = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let names = (0..<options.boxes).map { "base-\(run)-\($0)" }
    let store = try await openStore(kind, state: state)
    _ = try await enroll(names, store: store, ca: nil)
    var ids: [String: Int64] = [:]
    for name in names { ids[name] = try await store.device(named: name)?.id }
    let rounds = waves(workload(names: names), ids: ids)
    var records = 0
    let start = monotonicMicros()
    for round in rounds {
      _ = try await store.ingest(round, receivedAtMs: wallMs())
      records += round.reduce(0) { $0 + $1.records.count }
    }
    let end = monotonicMicros()
    try await store.close()
    return BaselineFigures(
      name: "\(kind.name): the store's ingest in-process", records: records,
      recordsPerTransaction: Self.baselineTransaction, micros: end - start)
  }

  /// The batches in the order boxes send them (every box's first, then every box's second…),
  /// cut into transactions of `baselineTransaction` records.
  func waves(_ boxes: [(name: String, epoch: UInt64, batches: [Batch])], ids: [String: Int64])
    -> [[IngestBatch]]
  {
    var rounds: [[IngestBatch]] = [[]]
    var inRound = 0
    for wave in 0..<options.batchesPerBox {
      for box in boxes {
        let batch = box.batches[wave]
        if inRound + batch.records.count > Self.baselineTransaction && inRound > 0 {
          rounds.append([])
          inRound = 0
        }
        rounds[rounds.count - 1].append(
          IngestBatch(
            deviceID: ids[box.name] ?? 0, epoch: batch.epoch, records: batch.records.map(\.record)))
        inRound += batch.records.count
      }
    }
    return rounds
  }

  /// Plain SQLite: the same rows into a table of the station's shape (WAL, synchronous=FULL,
  /// INSERT … ON CONFLICT DO NOTHING), `baselineTransaction` records a transaction.
  func rawSQLiteBaseline() throws -> BaselineFigures {
    var configuration = Configuration()
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    let queue = try DatabaseQueue(path: directory + "/raw.db", configuration: configuration)
    try queue.writeWithoutTransaction { db in
      _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
      try db.execute(
        sql: """
          CREATE TABLE records (
            device_id INTEGER NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
            kind INTEGER NOT NULL, priority INTEGER NOT NULL, time_ms INTEGER NOT NULL,
            trusted BOOLEAN NOT NULL, boot INTEGER NOT NULL, since_boot_ms INTEGER NOT NULL,
            body BLOB NOT NULL, received_at_ms INTEGER NOT NULL,
            PRIMARY KEY (device_id, epoch, seq)) WITHOUT ROWID;
          CREATE INDEX records_time ON records(time_ms);
          """)
    }
    let names = (0..<options.boxes).map { "raw-\($0)" }
    var ids: [String: Int64] = [:]
    for (index, name) in names.enumerated() { ids[name] = Int64(index + 1) }
    let rounds = waves(workload(names: names), ids: ids)
    var records = 0
    let start = monotonicMicros()
    for round in rounds {
      let received = wallMs()
      try queue.write { db in
        let insert = try db.cachedStatement(
          sql: """
            INSERT INTO records (device_id, epoch, seq, kind, priority, time_ms, trusted, boot,
              since_boot_ms, body, received_at_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (device_id, epoch, seq) DO NOTHING
            """)
        for batch in round {
          let epoch = Int64(bitPattern: batch.epoch)
          for record in batch.records {
            insert.setUncheckedArguments([
              batch.deviceID, epoch, Int64(bitPattern: record.seq), Int64(record.kind.rawValue),
              Int64(record.priority.rawValue), record.time.wallMs, record.time.clockTrusted,
              Int64(record.time.boot), Int64(bitPattern: record.time.sinceBootMs),
              Data(record.body), received,
            ])
            try insert.execute()
          }
        }
      }
      records += round.reduce(0) { $0 + $1.records.count }
    }
    let end = monotonicMicros()
    try queue.close()
    return BaselineFigures(
      name: "SQLite: plain INSERTs in-process (same rows and table)", records: records,
      recordsPerTransaction: Self.baselineTransaction, micros: end - start)
  }
}
