import OutpostInput
import OutpostTestKit
import Testing

@Suite("Kernel input records")
struct KernelRecordTests {
  @Test("input_event records of 24 and 16 bytes decode as the kernel wrote them, in any pieces")
  func inputEvents() {
    let events = [
      InputEvent(timeUs: 1_795_316_400_123_456, type: InputEvent.typeMisc, code: 4, value: 0x7003A),
      InputEvent(timeUs: 1_795_316_400_123_456, type: InputEvent.typeKey, code: 59, value: 1),
      InputEvent(timeUs: 1_795_316_400_123_456, type: InputEvent.typeSync, code: 0, value: 0),
      InputEvent(timeUs: 1_795_316_400_523_000, type: InputEvent.typeKey, code: 59, value: 0),
    ]
    for size in [24, 16] {
      let bytes = events.flatMap { $0.bytes(size: size) }
      #expect(bytes.count == events.count * size)
      var random = SeededRandom(seed: UInt64(size))
      for _ in 0..<50 {
        var reader = InputEventReader(recordSize: size)
        var decoded: [InputEvent] = []
        var start = 0
        while start < bytes.count {
          let end = min(bytes.count, start + Int.random(in: 1...30, using: &random))
          decoded += reader.feed(bytes[start..<end])
          start = end
        }
        #expect(decoded == events, "record size \(size)")
      }
    }
    // The layout, byte by byte, for the 64-bit ABI: seconds, microseconds, type, code, value.
    let f1 = InputEvent(timeUs: 2_000_003, type: 1, code: 59, value: 1).bytes(size: 24)
    #expect(f1 == [2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 59, 0, 1, 0, 0, 0])
  }

  @Test("gpio_v2_line_event records decode as the kernel wrote them; unknown edges are refused")
  func gpioEvents() {
    let event = GPIOLineEvent(
      timestampNs: 987_654_321_000, edge: .falling, offset: 17, seqno: 5, lineSeqno: 3)
    let bytes = event.bytes
    #expect(bytes.count == GPIOLineEvent.size)
    #expect(GPIOLineEvent(record: bytes) == event)
    var unknown = bytes
    unknown[8] = 3
    #expect(GPIOLineEvent(record: unknown) == nil)
  }
}

@Suite("Button debouncing and long presses")
struct ButtonMachineTests {
  @Test("A press is reported at once, a long press once while held, the release with its length")
  func pressHoldRelease() {
    var button = ButtonMachine(debounceMs: 30, longPressMs: 2000)
    #expect(button.edge(down: true, atMs: 1000) == [.pressed])
    #expect(button.nextDeadlineMs == 3000, "nothing to settle, only the long press to wait for")
    #expect(button.advance(toMs: 2999) == [])
    #expect(button.nextDeadlineMs == 3000)
    #expect(button.advance(toMs: 3000) == [.longPressed])
    #expect(button.advance(toMs: 9000) == [])
    #expect(button.edge(down: false, atMs: 3500) == [.released(heldMs: 2500)])
    #expect(button.nextDeadlineMs == nil)
  }

  @Test("Contact bounce gives one press and one release")
  func bounce() {
    var button = ButtonMachine(debounceMs: 30, longPressMs: 2000)
    var actions: [ButtonAction] = []
    for (time, down) in [(0, true), (3, false), (6, true), (9, false), (12, true)] {
      actions += button.edge(down: down, atMs: Int64(time))
    }
    actions += button.advance(toMs: 100)
    #expect(actions == [.pressed])
    for (time, down) in [(400, false), (402, true), (405, false)] {
      actions += button.edge(down: down, atMs: Int64(time))
    }
    actions += button.advance(toMs: 1000)
    #expect(actions == [.pressed, .released(heldMs: 400)])
    #expect(!button.isDown)
  }

  @Test("A release hidden inside the bounce is not lost: the level settles when the lock ends")
  func releaseInsideTheBounce() {
    var button = ButtonMachine(debounceMs: 30, longPressMs: 2000)
    var actions = button.edge(down: true, atMs: 0)
    actions += button.edge(down: false, atMs: 5)
    actions += button.edge(down: true, atMs: 8)
    actions += button.edge(down: false, atMs: 20)
    #expect(button.nextDeadlineMs == 30)
    actions += button.advance(toMs: 30)
    #expect(actions == [.pressed, .released(heldMs: 30)])
    #expect(button.nextDeadlineMs == nil)
  }

  @Test("Random edge storms never leave the debounced level away from a steady raw level")
  func randomStorms() {
    var random = SeededRandom(seed: 0xB077_0215)
    for _ in 0..<500 {
      var button = ButtonMachine(debounceMs: 30, longPressMs: 500)
      var time: Int64 = 0
      var down = false
      var presses = 0
      var releases = 0
      for _ in 0..<Int.random(in: 1...40, using: &random) {
        time += Int64.random(in: 0...60, using: &random)
        down.toggle()
        for action in button.edge(down: down, atMs: time) {
          if action == .pressed { presses += 1 }
          if case .released = action { releases += 1 }
        }
      }
      for action in button.advance(toMs: time + 10_000) {
        if action == .pressed { presses += 1 }
        if case .released = action { releases += 1 }
      }
      #expect(button.isDown == down, "after the storm the level is the line's")
      #expect(presses - releases == (down ? 1 : 0), "presses and releases pair up")
    }
  }
}
