import NIOCore
import OutpostStore
import OutpostWire
import Synchronization

/// Opens datagrams from boxes in the order of docs/protocol.md, "Receiving a datagram": length
/// and form, the key for the device and key index (`unknown-key`), the epoch an implied-epoch
/// datagram is bound to (`epoch-unknown`), the replay window (`replayed`, `too-old`,
/// `far-future`), the tag (`authentication-failed`), then the message (`hello`, `welcome` and
/// `datagram-key` are not allowed; nor is anything a box has no business sending).
///
/// Keys, windows and epochs are read from the store for every datagram, so a revocation or a
/// new epoch counts from the next datagram on, also when another station sharing the store made
/// it. Nothing changes until the tag verifies. Then the key's replay window moves here at once,
/// so a second copy arriving before the first is stored is refused too; the store learns the
/// moved window with what the datagram brought (``AcceptedDatagram/window``).
final class DatagramReceiver: Sendable {
  let store: any StationStore
  /// Windows moved by the datagrams accepted since the station started, merged with the
  /// store's on every look (the store may lag behind them until their batch is committed).
  private let windows = Mutex<[DatagramKeySlot: ReplayWindow]>([:])

  init(store: any StationStore) { self.store = store }

  /// Opens `datagram`.
  ///
  /// - Throws: ``DatagramRefusal``, naming the device when the header could be read.
  func open(_ datagram: ByteBuffer) async throws(DatagramRefusal) -> AcceptedDatagram {
    let header: DatagramHeader
    do {
      header = try Datagram.readHeader(datagram)
    } catch {
      throw DatagramRefusal(device: nil, reason: .wire(error))
    }
    guard header.direction == .uplink else {
      let form = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self) ?? 0
      throw DatagramRefusal(
        device: header.device, reason: .wire(WireError(.unsupportedDatagramForm(form), at: 0)))
    }
    let entry: DatagramKeyEntry?
    do {
      entry = try await store.datagramKey(deviceNumber: header.device, keyIndex: header.keyIndex)
    } catch {
      throw DatagramRefusal(device: header.device, reason: .storeUnavailable("\(error)"))
    }
    guard let entry else {
      let keyOffset = header.length - wireVarintLength(header.counter) - 1
      throw DatagramRefusal(
        device: header.device,
        reason: .wire(
          WireError(
            .unknownKey(device: header.device, keyIndex: header.keyIndex), at: keyOffset)))
    }
    let keys: DatagramKeys
    do {
      keys = try DatagramKeys(secret: entry.secret.bytes)
    } catch {
      throw DatagramRefusal(device: header.device, reason: .storeUnavailable("\(error)"))
    }
    // Check, verify and move the window under one lock: of two copies of a datagram, only one
    // gets through.
    let opened = windows.withLock { windows in
      Self.open(datagram, header: header, entry: entry, keys: keys, windows: &windows)
    }
    let message: WireMessage
    let window: ReplayWindow
    switch opened {
    case .success(let result): (message, window) = (result.message, result.window)
    case .failure(let error): throw DatagramRefusal(device: header.device, reason: .wire(error))
    }
    switch message {
    case .batch, .ping, .pong, .error, .skipped:
      break
    default:
      throw DatagramRefusal(
        device: header.device, reason: .unexpected(message.type, offset: header.length))
    }
    return AcceptedDatagram(
      header: header, key: entry, keys: keys, message: message,
      window: DatagramWindowUpdate(
        deviceID: entry.deviceID, keyIndex: header.keyIndex,
        window: StoredReplayWindow(highest: window.highest, seen: window.seen)))
  }

  private typealias Opening = Result<(message: WireMessage, window: ReplayWindow), WireError>

  /// Checks the counter against the key's window (the store's merged with this station's),
  /// verifies, decrypts and decodes; keeps the window if the tag verified.
  private static func open(
    _ datagram: ByteBuffer, header: DatagramHeader, entry: DatagramKeyEntry, keys: DatagramKeys,
    windows: inout [DatagramKeySlot: ReplayWindow]
  ) -> Opening {
    let slot = DatagramKeySlot(deviceID: entry.deviceID, keyIndex: header.keyIndex)
    let known = windows[slot].map { StoredReplayWindow(highest: $0.highest, seen: $0.seen) }
    let merged = entry.uplinkWindow.merged(with: known ?? StoredReplayWindow())
    var window = ReplayWindow(highest: merged.highest, seen: merged.seen)
    let before = window
    // The window moves only once the tag verified, also for a message that then does not
    // decode (its counter is used up).
    defer { if window != before { windows[slot] = window } }
    do {
      let message = try Datagram.open(
        datagram, header: header, expecting: .uplink, keys: keys, window: &window,
        epoch: entry.epoch)
      return .success((message, window))
    } catch {
      return .failure(error)
    }
  }
}

/// One key of one device: what a replay window and a sequence of counters belong to.
struct DatagramKeySlot: Hashable, Sendable {
  var deviceID: Int64
  var keyIndex: UInt8
}

/// A datagram that verified and decoded into a message a box may send.
struct AcceptedDatagram: Sendable {
  var header: DatagramHeader
  /// The key it was sealed with, and its device.
  var key: DatagramKeyEntry
  /// The keys derived from the secret: the same index seals the answer.
  var keys: DatagramKeys
  var message: WireMessage
  /// The key's replay window with this datagram's counter accepted, to save in the store with
  /// what the datagram brought.
  var window: DatagramWindowUpdate

  var deviceName: String { key.deviceName }
}

/// Why a datagram was refused, with the device number when its header could be read.
struct DatagramRefusal: Error, Sendable, CustomStringConvertible {
  enum Reason: Sendable {
    /// The wire protocol's error, with its offset from the datagram's first byte.
    case wire(WireError)
    /// A message that verified but that a box does not send (an `ack`, say).
    case unexpected(MessageType, offset: Int)
    /// The store could not be asked for the key; the datagram is not the sender's fault, and
    /// the box sends its records again.
    case storeUnavailable(String)
  }

  var device: UInt32?
  var reason: Reason

  /// A stable short name: the wire error's code, `unexpected-message` or `store-unavailable`.
  var code: String {
    switch reason {
    case .wire(let error): error.code
    case .unexpected: "unexpected-message"
    case .storeUnavailable: "store-unavailable"
    }
  }

  /// The code, then what was wrong and at which byte: "replayed: frame counter 7 was already
  /// accepted (replay) at byte 3".
  var description: String {
    switch reason {
    case .wire(let error): "\(code): \(error)"
    case .unexpected(let type, let offset):
      "\(code): a box does not send \(type) at byte \(offset)"
    case .storeUnavailable(let why): "\(code): \(why)"
    }
  }
}
