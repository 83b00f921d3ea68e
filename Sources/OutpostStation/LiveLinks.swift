import OutpostWire

/// The boxes connected to this station now: where to send downlink messages, and how to cut a
/// connection (a revoked device, a newer connection of the same box).
actor LiveLinks {
  struct Link {
    var connection: Int
    var name: String
    var downlink: AsyncStream<WireMessage>.Continuation
    var close: @Sendable () -> Void
  }

  private var links: [Int64: Link] = [:]
  private var nextConnection = 0

  var count: Int { links.count }
  var deviceIDs: [Int64] { Array(links.keys) }

  /// Registers a connection for `deviceID`, cutting an older one of the same device (the box
  /// reconnected before the old link timed out). Returns the connection's number.
  func register(
    deviceID: Int64, name: String, downlink: AsyncStream<WireMessage>.Continuation,
    close: @escaping @Sendable () -> Void
  ) -> Int {
    if let old = links[deviceID] {
      old.downlink.finish()
      old.close()
    }
    nextConnection += 1
    links[deviceID] = Link(connection: nextConnection, name: name, downlink: downlink, close: close)
    return nextConnection
  }

  /// Forgets the connection unless a newer one replaced it; true when it was the current one.
  func unregister(deviceID: Int64, connection: Int) -> Bool {
    guard links[deviceID]?.connection == connection else { return false }
    links[deviceID] = nil
    return true
  }

  /// Queues `message` for the box; false when it is not connected here.
  @discardableResult
  func send(_ message: WireMessage, to deviceID: Int64) -> Bool {
    guard let link = links[deviceID] else { return false }
    if case .enqueued = link.downlink.yield(message) { return true }
    return false
  }

  func isConnected(_ deviceID: Int64) -> Bool { links[deviceID] != nil }

  /// Closes every connection (shutdown).
  func closeAll() {
    for link in links.values {
      link.downlink.finish()
      link.close()
    }
    links.removeAll()
  }

  /// Cuts the connection of the device called `name`; true when there was one.
  func cut(name: String) -> Bool {
    guard let (id, link) = links.first(where: { $0.value.name == name }) else { return false }
    link.downlink.finish()
    link.close()
    links[id] = nil
    return true
  }
}
