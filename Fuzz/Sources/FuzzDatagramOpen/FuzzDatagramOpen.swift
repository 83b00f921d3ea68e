import CFuzzerDriver
import NIOCore
import OutpostWire

/// The process's entry point. SwiftPM links `main` as `FuzzDatagramOpen_main`, which hides
/// libFuzzer's own `main`, so this hands the arguments to libFuzzer's driver.
@_cdecl("FuzzDatagramOpen_main")
public func runFuzzer(
  _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
) -> CInt {
  fuzzer_driver_main(argc, argv)
}

/// The fuzzing key: the secret 0x00, 0x01, …, 0x1F, which the golden vectors' datagrams are
/// sealed with too, so that those seeds reach the message decoder through the raw path.
private let keys: DatagramKeys = {
  do {
    return try DatagramKeys(secret: (0..<32).map { UInt8($0) })
  } catch {
    fatalError("a 32-byte secret is refused: \(error)")
  }
}()

/// The journal epoch a receiver knows for the device: the golden vectors' epoch, so that their
/// implied-epoch datagram authenticates.
private let knownEpoch: UInt64 = 0x5EED_0F0A_7B07_2026

/// libFuzzer's entry point. The same input is used three ways:
///
/// 1. As a datagram off the network: read its header, then open it in both directions with a
///    fresh replay window (and, when its epoch is implied, both knowing and not knowing the
///    epoch). Thrown ``WireError``s are expected; the window must not move unless the tag
///    verified, and must then hold exactly the datagram's counter.
/// 2. As the plaintext of a datagram (a type byte and a payload), with and without an implied
///    epoch: seal it, so that it passes the AEAD, and open it; the message decoder sees arbitrary
///    bytes. A decoded message is sealed again under a new counter and must open to an equal
///    message.
/// 3. As a script of counters for a ``ReplayWindow``, checked against a model that remembers
///    every accepted counter: no counter is ever accepted twice, and the window rejects exactly
///    what the model says, for the same reason.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: start, count: count)
  openRaw(ByteBuffer(bytes: bytes))
  let plaintext = Array(bytes)
  openSealedPlaintext(plaintext, epochImplied: false)
  openSealedPlaintext(plaintext, epochImplied: true)
  checkReplayWindow(plaintext)
  return 0
}

// MARK: - 1. Raw datagrams

private func openRaw(_ datagram: ByteBuffer) {
  guard let header = try? Datagram.readHeader(datagram) else { return }
  let epochs: [UInt64?] = header.epochImplied ? [nil, knownEpoch] : [nil]
  for direction in DatagramDirection.allCases {
    for epoch in epochs {
      var window = ReplayWindow()
      do {
        let message = try Datagram.open(
          datagram, header: header, expecting: direction, keys: keys, window: &window,
          epoch: epoch)
        guard window == ReplayWindow(highest: header.counter, seen: 1) else {
          fatalError("opened counter \(header.counter) but left the window at \(window)")
        }
        checkResealed(message, header: header, epoch: epoch)
      } catch {
        checkWindowAfterFailure(window, error: error, counter: header.counter)
      }
    }
  }
}

/// After a failed open the window is untouched, except when the datagram authenticated and only
/// its message failed to decode: then its counter is used up.
private func checkWindowAfterFailure(_ window: ReplayWindow, error: WireError, counter: UInt64) {
  if window == ReplayWindow() { return }
  switch error.reason {
  case .datagramLength, .unsupportedDatagramForm, .epochUnknown, .invalidCounter, .replayed,
    .tooOld, .farFuture, .authenticationFailed:
    fatalError("open failed before authenticating (\(error)) but moved the window to \(window)")
  default:
    guard window == ReplayWindow(highest: counter, seen: 1) else {
      fatalError("open authenticated counter \(counter) but left the window at \(window)")
    }
  }
}

// MARK: - 2. Arbitrary plaintext behind a valid tag

private func openSealedPlaintext(_ plaintext: [UInt8], epochImplied: Bool) {
  let header = DatagramHeader(
    direction: .uplink, device: 7, keyIndex: 0, epochImplied: epochImplied, counter: 1)
  let epoch = epochImplied ? knownEpoch : nil
  // Empty or too long for one datagram: nothing to open.
  guard
    let sealed = try? Datagram.seal(plaintext: plaintext, header: header, keys: keys, epoch: epoch)
  else { return }
  let read: DatagramHeader
  do {
    read = try Datagram.readHeader(sealed)
  } catch {
    fatalError("the header of a sealed datagram does not read back: \(error)")
  }
  guard read == header else { fatalError("sealed with \(header), read back \(read)") }
  var window = ReplayWindow()
  do {
    let message = try Datagram.open(
      sealed, header: read, expecting: .uplink, keys: keys, window: &window, epoch: epoch)
    checkResealed(message, header: header, epoch: epoch)
  } catch {
    if case .authenticationFailed = error.reason {
      fatalError("a datagram sealed under the same keys and epoch does not authenticate")
    }
  }
  // Authenticated, so the counter is used up whether or not the message decoded.
  guard window == ReplayWindow(highest: 1, seen: 1) else {
    fatalError("an authenticated datagram left the window at \(window)")
  }
}

/// Traps unless `message`, opened from a datagram with `header`, seals again under the next
/// counter and opens to an equal message.
private func checkResealed(_ message: WireMessage, header: DatagramHeader, epoch: UInt64?) {
  if case .skipped = message { return }
  // Built anew rather than copied, since a header's length follows from its counter.
  let next = DatagramHeader(
    direction: header.direction, version: header.version, device: header.device,
    keyIndex: header.keyIndex, epochImplied: header.epochImplied,
    counter: header.counter == .max ? 1 : header.counter + 1)
  let sealed: ByteBuffer
  do {
    sealed = try Datagram.seal(message, header: next, keys: keys, epoch: epoch)
  } catch {
    // Re-encoding can outgrow the datagram: a record body that arrived as journal bytes may go
    // out in its (longer) wire form, and a longer counter takes more header bytes. Not a
    // disagreement.
    if case .frameTooLong = error { return }
    fatalError("opened \(message), which the encoder refuses: \(error)")
  }
  var window = ReplayWindow()
  do {
    let opened = try Datagram.open(
      sealed, header: try Datagram.readHeader(sealed), expecting: next.direction, keys: keys,
      window: &window, epoch: epoch)
    guard opened == message else {
      fatalError("sealed \(message), which opens as a different message: \(opened)")
    }
  } catch {
    fatalError("sealed \(message), which does not open: \(error)")
  }
}

// MARK: - 3. The replay window against a model

/// Reads the input as a script of steps. The first byte of a step (`dddddamm`) holds a small
/// distance `d`, whether a counter that passes the check is then accepted (`a`, as if its tag
/// verified; else it is only checked, as if it was forged), and how the counter is made (`mm`):
///
/// - `0`: the highest accepted plus the distance;
/// - `1`: the highest accepted minus three times the distance (reaches below the window);
/// - `2`: the highest accepted plus the next three bytes (reaches past the far-future limit);
/// - `3`: the next eight bytes as the counter itself.
private func checkReplayWindow(_ script: [UInt8]) {
  var window = ReplayWindow()
  var model = WindowModel()
  var index = 0
  func take(_ count: Int) -> UInt64 {
    var value: UInt64 = 0
    for shift in 0..<count where index < script.count {
      value |= UInt64(script[index]) << (8 * UInt64(shift))
      index += 1
    }
    return value
  }
  while index < script.count {
    let step = script[index]
    index += 1
    let distance = UInt64(step >> 3)
    let counter: UInt64
    switch step & 0b11 {
    case 0: counter = model.highest &+ distance
    case 1: counter = model.highest &- 3 &* distance
    case 2: counter = model.highest &+ take(3)
    default: counter = take(8)
    }
    let accept = step & 0b100 != 0
    let expected = model.check(counter)
    let actual: WireError.Reason?
    do {
      try window.check(counter)
      actual = nil
    } catch {
      actual = error.reason
    }
    guard actual == expected else {
      fatalError(
        """
        replay window \(window) judged counter \(counter) as \(actual.map { "\($0)" } ?? "fresh"), \
        the model as \(expected.map { "\($0)" } ?? "fresh")
        """)
    }
    guard actual == nil, accept else { continue }
    guard model.accepted.insert(counter).inserted else {
      fatalError("counter \(counter) accepted twice")
    }
    model.highest = max(model.highest, counter)
    window.accept(counter)
    guard window.highest == model.highest else {
      fatalError("window's highest is \(window.highest), the model's \(model.highest)")
    }
  }
  // What the receiver persists restores the same window.
  let restored = ReplayWindow(highest: window.highest, seen: window.seen)
  guard restored == window else { fatalError("\(window) restores as \(restored)") }
}

/// The replay rules with unbounded memory: every accepted counter is kept.
private struct WindowModel {
  var highest: UInt64 = 0
  var accepted: Set<UInt64> = []

  /// Why `counter` must be rejected, or nil when it is fresh.
  func check(_ counter: UInt64) -> WireError.Reason? {
    if counter == 0 { return .invalidCounter(counter) }
    if highest == 0 { return nil }
    if counter > highest {
      return counter - highest > ReplayWindow.farFutureLimit
        ? .farFuture(counter: counter, highest: highest) : nil
    }
    if highest - counter >= ReplayWindow.width {
      return .tooOld(counter: counter, lowestAccepted: highest - ReplayWindow.width + 1)
    }
    return accepted.contains(counter) ? .replayed(counter: counter) : nil
  }
}
