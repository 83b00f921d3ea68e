/// One datagram secret of a device, as enrollment issues it: 32 random bytes under a key index.
///
/// The store keeps secrets so that the station can verify the device's datagrams; no query that
/// lists devices, records or the audit log ever returns them, and ``description`` leaves the
/// bytes out so that a log line cannot leak one.
public struct DatagramSecret: Sendable, Hashable, CustomStringConvertible {
  /// The key index datagram headers name, 0–127.
  public var index: UInt8
  /// The 32 secret bytes.
  public var bytes: [UInt8]

  /// - Precondition: `index` is at most 127 and `bytes` holds 32 bytes.
  public init(index: UInt8, bytes: [UInt8]) {
    precondition(index < 0x80, "datagram key indexes are 0–127")
    precondition(bytes.count == 32, "datagram secrets are 32 bytes")
    self.index = index
    self.bytes = bytes
  }

  public var description: String { "datagram secret \(index) (32 bytes, not shown)" }
}

/// A replay window as the store keeps it: the highest frame counter accepted, and bit `i` set
/// when counter `highest - i` was accepted (the 64 counters up to the highest).
public struct StoredReplayWindow: Sendable, Hashable {
  /// The highest counter accepted, 0 for none.
  public var highest: UInt64
  /// Which of the 64 counters up to `highest` were accepted.
  public var seen: UInt64

  /// A window of nothing accepted, or the one given.
  public init(highest: UInt64 = 0, seen: UInt64 = 0) {
    self.highest = highest
    self.seen = highest == 0 ? 0 : seen
  }

  /// The window that has accepted every counter either window accepted (as far as 64 counters
  /// below the higher of the two highest ones reach). Commutative and idempotent, so windows
  /// saved by several stations sharing one database, or saved twice, merge to the same one.
  public func merged(with other: StoredReplayWindow) -> StoredReplayWindow {
    let highest = max(self.highest, other.highest)
    func aligned(_ window: StoredReplayWindow) -> UInt64 {
      guard window.highest > 0 else { return 0 }
      let shift = highest - window.highest
      return shift >= 64 ? 0 : window.seen << shift
    }
    return StoredReplayWindow(highest: highest, seen: aligned(self) | aligned(other))
  }
}

/// What a station needs to open a datagram sealed under one of a device's keys: the secret, the
/// replay window of the box → station direction, and the journal epoch an implied-epoch
/// datagram is checked against. ``description`` leaves the secret out.
public struct DatagramKeyEntry: Sendable, Hashable, CustomStringConvertible {
  /// The device's id in the store.
  public var deviceID: Int64
  public var deviceName: String
  /// The number datagram headers carry.
  public var deviceNumber: UInt32
  public var secret: DatagramSecret
  /// Counters of box → station datagrams accepted under this key so far.
  public var uplinkWindow: StoredReplayWindow
  /// The latest journal epoch stored for the device (the epoch of its last batch); nil before
  /// its first batch.
  public var epoch: UInt64?

  public init(
    deviceID: Int64, deviceName: String, deviceNumber: UInt32, secret: DatagramSecret,
    uplinkWindow: StoredReplayWindow, epoch: UInt64?
  ) {
    self.deviceID = deviceID
    self.deviceName = deviceName
    self.deviceNumber = deviceNumber
    self.secret = secret
    self.uplinkWindow = uplinkWindow
    self.epoch = epoch
  }

  public var description: String {
    "datagram key \(secret.index) of device \(deviceNumber) (\(deviceName))"
  }
}

/// A box → station replay window to merge into the stored one, after a datagram under the key
/// was accepted.
public struct DatagramWindowUpdate: Sendable, Hashable {
  public var deviceID: Int64
  public var keyIndex: UInt8
  public var window: StoredReplayWindow

  public init(deviceID: Int64, keyIndex: UInt8, window: StoredReplayWindow) {
    self.deviceID = deviceID
    self.keyIndex = keyIndex
    self.window = window
  }
}
