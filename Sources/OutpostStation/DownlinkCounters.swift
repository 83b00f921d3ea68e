import OutpostStore

/// The station's frame counters for datagrams to boxes: one sequence per device and key index,
/// never repeating, across restarts too and between stations sharing a store. As the journal
/// does with sequence numbers, counters are handed out from blocks leased in the store before
/// use; a restart skips what was left of a block, which costs nothing but numbers.
actor DownlinkCounters {
  /// Counters leased at a time: one store write per this many answers.
  static let leaseSize: UInt64 = 1024

  private let store: any StationStore
  /// What is left of each key's current block.
  private var leases: [DatagramKeySlot: ClosedRange<UInt64>] = [:]

  init(store: any StationStore) { self.store = store }

  /// The next counter for a datagram to the device under `keyIndex`.
  ///
  /// - Returns: nil when the key no longer exists (the device was revoked meanwhile).
  /// - Throws: the store's error when a new block could not be leased.
  func next(deviceID: Int64, keyIndex: UInt8) async throws -> UInt64? {
    let slot = DatagramKeySlot(deviceID: deviceID, keyIndex: keyIndex)
    if let counter = take(slot) { return counter }
    guard
      let leased = try await store.leaseDatagramCounters(
        deviceID: deviceID, keyIndex: keyIndex, count: Self.leaseSize)
    else { return nil }
    // Another call may have leased a block while this one waited: blocks never overlap, so
    // using this one and dropping the rest of the other repeats nothing.
    leases[slot] = leased
    return take(slot)
  }

  private func take(_ slot: DatagramKeySlot) -> UInt64? {
    guard let block = leases[slot] else { return nil }
    let counter = block.lowerBound
    leases[slot] = counter == block.upperBound ? nil : (counter + 1)...block.upperBound
    return counter
  }
}
