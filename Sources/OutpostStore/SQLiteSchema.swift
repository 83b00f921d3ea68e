import GRDB

/// The SQLite schema, one GRDB migration per version. PostgreSQL keeps the same tables and
/// columns with the same meaning (``PostgresSchema``).
///
/// Columns holding u64 values (epoch, seq, since_boot_ms) hold their bit pattern; see
/// ``SequenceColumns``. Records carry no foreign key: the devices of a call are checked once per
/// call instead of once per row, and devices are never deleted.
enum SQLiteSchema {
  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("1-initial") { db in
      try db.execute(sql: version1)
    }
    migrator.registerMigration("2-sos-order") { db in
      try db.execute(sql: version2)
    }
    migrator.registerMigration("3-datagram-keys") { db in
      try db.execute(sql: version3)
    }
    return migrator
  }

  private static let version1 = """
    CREATE TABLE devices (
      id INTEGER PRIMARY KEY,
      number INTEGER NOT NULL UNIQUE,
      name TEXT NOT NULL,
      household TEXT,
      gacha TEXT,
      phone TEXT,
      latitude_e7 INTEGER,
      longitude_e7 INTEGER,
      certificate_serial TEXT NOT NULL,
      check_in_interval_ms INTEGER,
      offline_limit_ms INTEGER,
      created_at_ms INTEGER NOT NULL,
      revoked_at_ms INTEGER,
      last_seen_ms INTEGER,
      link_up BOOLEAN NOT NULL DEFAULT 0,
      station TEXT,
      battery_percent INTEGER,
      supply_mv INTEGER,
      health_at_ms INTEGER,
      last_check_in_ms INTEGER,
      last_latitude_e7 INTEGER,
      last_longitude_e7 INTEGER,
      last_position_ms INTEGER,
      epoch INTEGER,
      records INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX devices_enrolled_name ON devices(name) WHERE revoked_at_ms IS NULL;
    CREATE INDEX devices_name ON devices(name, id);

    CREATE TABLE neighbours (
      device_id INTEGER NOT NULL REFERENCES devices(id),
      neighbour_id INTEGER NOT NULL REFERENCES devices(id),
      PRIMARY KEY (device_id, neighbour_id)
    ) WITHOUT ROWID;

    CREATE TABLE records (
      device_id INTEGER NOT NULL,
      epoch INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      kind INTEGER NOT NULL,
      priority INTEGER NOT NULL,
      time_ms INTEGER NOT NULL,
      trusted BOOLEAN NOT NULL,
      boot INTEGER NOT NULL,
      since_boot_ms INTEGER NOT NULL,
      body BLOB NOT NULL,
      received_at_ms INTEGER NOT NULL,
      PRIMARY KEY (device_id, epoch, seq)
    ) WITHOUT ROWID;
    CREATE INDEX records_time ON records(time_ms);

    CREATE TABLE incidents (
      id INTEGER PRIMARY KEY,
      device_id INTEGER NOT NULL REFERENCES devices(id),
      kind TEXT NOT NULL,
      detail TEXT,
      epoch INTEGER,
      seq INTEGER,
      opened_at_ms INTEGER NOT NULL,
      received_at_ms INTEGER NOT NULL,
      presses INTEGER NOT NULL DEFAULT 0,
      position BLOB,
      state TEXT NOT NULL,
      acknowledged_by TEXT,
      acknowledged_at_ms INTEGER,
      note TEXT,
      closed_by TEXT,
      closed_at_ms INTEGER,
      escalation_level INTEGER NOT NULL DEFAULT 0,
      box_notified_state TEXT
    );
    CREATE UNIQUE INDEX incidents_one_open ON incidents(device_id, kind, COALESCE(detail, ''))
      WHERE state IN ('open', 'acknowledged');
    CREATE INDEX incidents_device ON incidents(device_id, kind, opened_at_ms);
    CREATE INDEX incidents_state ON incidents(state, opened_at_ms);

    CREATE TABLE audit (
      id INTEGER PRIMARY KEY,
      at_ms INTEGER NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      incident_id INTEGER REFERENCES incidents(id),
      device TEXT,
      detail TEXT NOT NULL
    );
    """

  /// Indexes for placing SOS and cancel records by sequence number (``SOSOrder``): partial,
  /// so the telemetry that makes up nearly every record pays nothing for them.
  private static let version2 = """
    CREATE INDEX records_sos ON records(device_id, epoch, seq) WHERE kind = 1;
    CREATE INDEX records_sos_cancel ON records(device_id, epoch, seq) WHERE kind = 2;
    CREATE INDEX incidents_sos_order ON incidents(device_id, epoch, seq) WHERE kind = 'sos';
    """

  /// Devices' datagram secrets, with the replay window of box → station datagrams under each
  /// key (the highest counter accepted and the bitmap of the 64 up to it) and how far the
  /// station → box counters are leased. Deleted with the device's revocation.
  private static let version3 = """
    CREATE TABLE datagram_keys (
      device_id INTEGER NOT NULL REFERENCES devices(id),
      key_index INTEGER NOT NULL CHECK (key_index BETWEEN 0 AND 127),
      secret BLOB NOT NULL CHECK (length(secret) = 32),
      created_at_ms INTEGER NOT NULL,
      uplink_highest INTEGER NOT NULL DEFAULT 0,
      uplink_seen INTEGER NOT NULL DEFAULT 0,
      downlink_leased INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (device_id, key_index)
    ) WITHOUT ROWID;
    """
}
