import OutpostCore
import Testing

@testable import OutpostStore

/// The datagram form's state in the store, against SQLite and PostgreSQL alike: devices' keys,
/// the replay windows of box → station datagrams, and the station → box counter leases.
@Suite("Station store: datagram keys")
struct DatagramKeyStoreTests {
  static let secret = DatagramSecret(index: 0, bytes: Array(0..<32))
  static let second = DatagramSecret(index: 5, bytes: Array(repeating: 0xA5, count: 32))

  @Test(
    "keys are stored with the device, looked up by number, and gone with its revocation",
    arguments: Backend.tested)
  func keys(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(
        registration("box-k"), datagramSecrets: [Self.secret, Self.second], atMs: 1)
      let plain = try await store.addDevice(registration("box-p"), atMs: 2)
      let entry = try #require(try await store.datagramKey(deviceNumber: box.number, keyIndex: 0))
      #expect(entry.deviceID == box.id && entry.deviceName == "box-k")
      #expect(entry.deviceNumber == box.number)
      #expect(entry.secret == Self.secret)
      #expect(entry.uplinkWindow == StoredReplayWindow())
      #expect(entry.epoch == nil)
      #expect(
        try await store.datagramKey(deviceNumber: box.number, keyIndex: 5)?.secret == Self.second)
      #expect(try await store.datagramKey(deviceNumber: box.number, keyIndex: 1) == nil)
      #expect(try await store.datagramKey(deviceNumber: plain.number, keyIndex: 0) == nil)
      #expect(try await store.datagramKey(deviceNumber: 999, keyIndex: 0) == nil)
      // A log line naming the key does not carry the secret.
      #expect(!"\(entry)".contains("31") && !"\(entry.secret)".contains("31"))

      // The epoch a datagram may imply is the one of the device's last batch.
      _ = try await store.ingest(
        [IngestBatch(deviceID: box.id, epoch: 0xFEED, records: [reading(1)])], receivedAtMs: 3)
      #expect(try await store.datagramKey(deviceNumber: box.number, keyIndex: 0)?.epoch == 0xFEED)

      // Revoked: the keys are deleted, and with them the window and counters.
      _ = try await store.revokeDevice(named: "box-k", by: "admin", atMs: 4)
      #expect(try await store.datagramKey(deviceNumber: box.number, keyIndex: 0) == nil)
      #expect(try await store.datagramKey(deviceNumber: box.number, keyIndex: 5) == nil)
      #expect(
        try await store.leaseDatagramCounters(deviceID: box.id, keyIndex: 0, count: 8) == nil)
      try await store.saveDatagramWindow(
        DatagramWindowUpdate(
          deviceID: box.id, keyIndex: 0, window: StoredReplayWindow(highest: 9, seen: 1)))
      #expect(try await store.datagramKey(deviceNumber: box.number, keyIndex: 0) == nil)
      // A name enrolled again gets a new number and new keys.
      let again = try await store.addDevice(
        registration("box-k"), datagramSecrets: [Self.second], atMs: 5)
      #expect(try await store.datagramKey(deviceNumber: again.number, keyIndex: 5) != nil)
      #expect(try await store.datagramKey(deviceNumber: box.number, keyIndex: 5) == nil)
    }
  }

  @Test("replay windows merge, saved with a batch or alone", arguments: Backend.tested)
  func windows(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(
        registration("box-w"), datagramSecrets: [Self.secret], atMs: 1)
      func window() async throws -> StoredReplayWindow? {
        try await store.datagramKey(deviceNumber: box.number, keyIndex: 0)?.uplinkWindow
      }
      func update(_ highest: UInt64, _ seen: UInt64) -> DatagramWindowUpdate {
        DatagramWindowUpdate(
          deviceID: box.id, keyIndex: 0, window: StoredReplayWindow(highest: highest, seen: seen))
      }
      // Counters 10 and 8 accepted: saved in the batch's transaction.
      let batch = IngestBatch(
        deviceID: box.id, epoch: 3, records: [reading(1)], datagramWindow: update(10, 0b101))
      _ = try await store.ingest([batch], receivedAtMs: 2)
      #expect(try await window() == StoredReplayWindow(highest: 10, seen: 0b101))
      // Another station saw 12: merged, not overwritten.
      try await store.saveDatagramWindow(update(12, 1))
      #expect(try await window() == StoredReplayWindow(highest: 12, seen: 0b10101))
      // An older window still adds what it saw.
      try await store.saveDatagramWindow(update(9, 1))
      #expect(try await window() == StoredReplayWindow(highest: 12, seen: 0b11101))
      // A jump of more than the width leaves only the new counter.
      try await store.saveDatagramWindow(update(200, 1))
      #expect(try await window() == StoredReplayWindow(highest: 200, seen: 1))
      // A batch resent with its old window moves nothing back.
      _ = try await store.ingest([batch], receivedAtMs: 3)
      #expect(try await window() == StoredReplayWindow(highest: 200, seen: 1))
      // Every bit pattern round-trips.
      try await store.saveDatagramWindow(update(.max - 1, .max))
      #expect(try await window() == StoredReplayWindow(highest: .max - 1, seen: .max))
    }
  }

  @Test("station → box counters are leased in blocks that never overlap", arguments: Backend.tested)
  func leases(_ backend: Backend) async throws {
    try await withStore(backend) { store in
      let box = try await store.addDevice(
        registration("box-c"), datagramSecrets: [Self.secret, Self.second], atMs: 1)
      func lease(_ index: UInt8, _ count: UInt64) async throws -> ClosedRange<UInt64>? {
        try await store.leaseDatagramCounters(deviceID: box.id, keyIndex: index, count: count)
      }
      #expect(try await lease(0, 1024) == 1...1024)
      #expect(try await lease(0, 1024) == 1025...2048)
      #expect(try await lease(5, 10) == 1...10)
      #expect(try await lease(0, 1) == 2049...2049)
      #expect(try await lease(1, 10) == nil)
      // Leasing changes nothing a datagram is checked against.
      let entry = try await store.datagramKey(deviceNumber: box.number, keyIndex: 0)
      #expect(entry?.uplinkWindow == StoredReplayWindow())
    }
  }

  @Test("a merge keeps every counter either window accepted, in any order")
  func mergeIsCommutativeAndIdempotent() {
    let windows = [
      StoredReplayWindow(), StoredReplayWindow(highest: 1, seen: 1),
      StoredReplayWindow(highest: 64, seen: 1 | 1 << 63),
      StoredReplayWindow(highest: 70, seen: 0b11),
      StoredReplayWindow(highest: 1000, seen: .max),
    ]
    for a in windows {
      #expect(a.merged(with: a) == a)
      for b in windows {
        #expect(a.merged(with: b) == b.merged(with: a))
        for c in windows {
          #expect(a.merged(with: b).merged(with: c) == a.merged(with: b.merged(with: c)))
        }
      }
    }
    // 64 − 63 = 1 was accepted in one, 70 − 6 = 64 in the other: both survive where they fit.
    let merged = StoredReplayWindow(highest: 64, seen: 1 | 1 << 63)
      .merged(with: StoredReplayWindow(highest: 70, seen: 0b11))
    #expect(merged == StoredReplayWindow(highest: 70, seen: 0b11 | 1 << 6))
  }
}
