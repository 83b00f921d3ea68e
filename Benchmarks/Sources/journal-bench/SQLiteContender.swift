// GRDB binds blobs as Foundation's `Data`.
import Foundation
import GRDB

/// SQLite through GRDB: WAL mode, `synchronous=FULL`, one transaction per batch inserting the
/// batch's records into a table shaped like the journal's records.
final class SQLiteContender: Contender {
  let path: String
  let queue: DatabaseQueue
  let bodies: [Data]
  var nextSeq: Int64 = 0

  /// The settings SQLite reports back, to print beside the numbers.
  let settings: String

  init(path: String, workload: Workload) throws {
    self.path = path
    bodies = workload.bodies.map { Data($0) }
    var configuration = Configuration()
    configuration.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = FULL")
    }
    queue = try DatabaseQueue(path: path, configuration: configuration)
    settings = try queue.writeWithoutTransaction { db in
      let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") ?? "?"
      let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
      try db.execute(
        sql: """
          CREATE TABLE records (
            seq INTEGER PRIMARY KEY,
            kind INTEGER NOT NULL,
            priority INTEGER NOT NULL,
            time INTEGER NOT NULL,
            body BLOB NOT NULL)
          """)
      let version = try String.fetchOne(db, sql: "SELECT sqlite_version()") ?? "?"
      return "SQLite \(version), journal_mode=\(mode), synchronous=\(synchronous) (2 = FULL)"
    }
  }

  func writeDurableBatch() throws {
    let kind = Int64(Workload.kind.rawValue)
    let priority = Int64(Workload.priority.rawValue)
    let time = Workload.time.wallMs
    var seq = nextSeq
    try queue.inTransaction { db in
      let insert = try db.cachedStatement(
        sql: "INSERT INTO records (seq, kind, priority, time, body) VALUES (?, ?, ?, ?, ?)")
      for body in bodies {
        try insert.execute(arguments: [seq, kind, priority, time, body])
        seq += 1
      }
      return .commit
    }
    nextSeq = seq
  }

  func finish() throws {
    try queue.close()
    for suffix in ["", "-wal", "-shm"] {
      try? FileManager.default.removeItem(atPath: path + suffix)
    }
  }
}
