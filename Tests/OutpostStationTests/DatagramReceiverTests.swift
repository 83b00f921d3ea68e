import Logging
import NIOCore
import OutpostCore
import OutpostStore
import OutpostTestKit
import OutpostWire
import Testing

@testable import OutpostStation

/// The receiver's replay windows, in process over a real SQLite store: what moves them, what
/// does not, and what a restarted station sees.
@Suite struct DatagramReceiverTests {
  static let secret = DatagramSecret(index: 0, bytes: Array(repeating: 0x5A, count: 32))

  @Test func aCopyArrivingBeforeTheFirstIsStoredIsRefused() async throws {
    try await withKeyedStore { store, device in
      let receiver = DatagramReceiver(store: store)
      let datagram = try Self.ping(device, counter: 7)
      let accepted = try await receiver.open(datagram)
      #expect(accepted.message == .ping(nonce: 1))
      #expect(accepted.window.window == StoredReplayWindow(highest: 7, seen: 1))
      // Nothing saved yet, and still the copy is refused.
      let refusal = await #expect(throws: DatagramRefusal.self) {
        try await receiver.open(datagram)
      }
      #expect(refusal?.code == "replayed" && refusal?.device == device.number)
    }
  }

  @Test func aRestartedStationKnowsTheSavedWindow() async throws {
    try await withKeyedStore { store, device in
      let accepted = try await DatagramReceiver(store: store).open(Self.ping(device, counter: 3))
      try await store.saveDatagramWindow(accepted.window)
      let restarted = DatagramReceiver(store: store)
      let refusal = await #expect(throws: DatagramRefusal.self) {
        try await restarted.open(Self.ping(device, counter: 3))
      }
      #expect(refusal?.code == "replayed")
      #expect(try await restarted.open(Self.ping(device, counter: 4)).header.counter == 4)
    }
  }

  @Test func aForgedDatagramMovesNoWindow() async throws {
    try await withKeyedStore { store, device in
      let receiver = DatagramReceiver(store: store)
      let forged = try Datagram.seal(
        .ping(nonce: 1),
        header: DatagramHeader(direction: .uplink, device: device.number, keyIndex: 0, counter: 9),
        keys: DatagramKeys(secret: Array(repeating: 0x11, count: 32)))
      let refusal = await #expect(throws: DatagramRefusal.self) {
        try await receiver.open(forged)
      }
      #expect(refusal?.code == "authentication-failed")
      // The genuine datagram with the same counter still gets through.
      #expect(try await receiver.open(Self.ping(device, counter: 9)).header.counter == 9)
    }
  }

  // MARK: Helpers

  static func ping(_ device: Device, counter: UInt64) throws -> ByteBuffer {
    try Datagram.seal(
      .ping(nonce: 1),
      header: DatagramHeader(
        direction: .uplink, device: device.number, keyIndex: 0, counter: counter),
      keys: DatagramKeys(secret: secret.bytes))
  }

  /// A fresh SQLite store with one device holding ``secret``.
  func withKeyedStore(_ body: (any StationStore, Device) async throws -> Void) async throws {
    let directory = TemporaryDirectory("receiver")
    let store = try SQLiteStationStore(
      path: directory.file("station.db"), logger: Logger(label: "test"))
    try await store.migrate()
    let device = try await store.addDevice(
      DeviceRegistration(name: "box-r", certificateSerial: "01"),
      datagramSecrets: [Self.secret], atMs: 1)
    do {
      try await body(store, device)
    } catch {
      try? await store.close()
      throw error
    }
    try await store.close()
  }
}
