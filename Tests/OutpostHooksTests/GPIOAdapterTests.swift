import CLinuxGPIO
import Glibc
import OutpostGPIO
import OutpostInput
import OutpostTestKit
import Testing

/// The GPIO adapter on a machine without a GPIO chip: the kernel structs' sizes, the requests
/// built for the kernel, and the errors for files that are missing or not GPIO chips. Requests
/// on a real (or gpio-sim) chip are not covered here.
@Suite struct GPIOAdapterTests {
  @Test func kernelStructsHaveTheSizesTheUAPIDocuments() {
    #expect(MemoryLayout<gpio_v2_line_request>.size == 592)
    #expect(MemoryLayout<gpio_v2_line_event>.size == 48)
    #expect(MemoryLayout<gpio_v2_line_values>.size == 16)
    #expect(MemoryLayout<gpio_v2_line_config>.size == 272)
    #expect(MemoryLayout<gpio_v2_line_attribute>.size == 16)
    #expect(MemoryLayout<gpio_v2_line_info>.size == 256)
    #expect(MemoryLayout<gpiochip_info>.size == 68)
    #expect(MemoryLayout<gpio_v2_line_event>.size == GPIOLineEvent.size)
  }

  @Test func aKernelEventRecordDecodesAsGPIOLineEvent() {
    var raw = gpio_v2_line_event()
    raw.timestamp_ns = 0x0102_0304_0506_0708
    raw.id = GPIO_V2_LINE_EVENT_FALLING_EDGE.rawValue
    raw.offset = 17
    raw.seqno = 5
    raw.line_seqno = 4
    let bytes = withUnsafeBytes(of: raw) { Array($0) }
    let event = GPIOLineEvent(record: bytes)
    #expect(
      event
        == GPIOLineEvent(
          timestampNs: 0x0102_0304_0506_0708, edge: .falling, offset: 17, seqno: 5, lineSeqno: 4))
    #expect(event?.bytes == bytes)
  }

  @Test func inputConfigAsksForBothEdgesBiasPolarityAndDebounce() {
    let config = GPIOLineConfig.input(
      GPIOInputSettings(bias: .pullUp, activeLow: true, debounce: .milliseconds(5)))
    #expect(config.flags == [.input, .edgeRising, .edgeFalling, .biasPullUp, .activeLow])
    #expect(config.debounceMicroseconds == 5000)
    #expect(config.outputValue == nil)

    let plain = GPIOLineConfig.input(GPIOInputSettings())
    #expect(plain.flags == [.input, .edgeRising, .edgeFalling])
    #expect(plain.debounceMicroseconds == nil)
    #expect(plain.flags.rawValue == 0b11_0100)
  }

  @Test(arguments: [
    (GPIOBias.asIs, GPIOLineFlags()), (.disabled, .biasDisabled), (.pullUp, .biasPullUp),
    (.pullDown, .biasPullDown),
  ])
  func eachBiasSetsOneFlag(bias: GPIOBias, flag: GPIOLineFlags) {
    let input = GPIOLineConfig.input(GPIOInputSettings(bias: bias))
    #expect(input.flags.subtracting([.input, .edgeRising, .edgeFalling]) == flag)
    let output = GPIOLineConfig.output(GPIOOutputSettings(bias: bias), initialValue: false)
    #expect(output.flags.subtracting(.output) == flag)
  }

  @Test func outputConfigCarriesTheInitialValueAndDrive() {
    let led = GPIOLineConfig.output(GPIOOutputSettings(), initialValue: true)
    #expect(led.flags == .output)
    #expect(led.outputValue == true)
    #expect(led.debounceMicroseconds == nil)

    let sink = GPIOLineConfig.output(
      GPIOOutputSettings(activeLow: true, drive: .openDrain, bias: .pullUp), initialValue: false)
    #expect(sink.flags == [.output, .activeLow, .openDrain, .biasPullUp])
    #expect(sink.outputValue == false)
    #expect(
      GPIOLineConfig.output(GPIOOutputSettings(drive: .openSource), initialValue: true).flags
        == [.output, .openSource])
  }

  @Test func debouncePeriodsRoundUpToMicrosecondsAndSaturate() {
    func debounce(_ duration: Duration) -> UInt32? {
      GPIOLineConfig.input(GPIOInputSettings(debounce: duration)).debounceMicroseconds
    }
    #expect(debounce(.zero) == nil)
    #expect(debounce(.nanoseconds(-5)) == nil)
    #expect(debounce(.seconds(-1)) == nil)
    #expect(debounce(.nanoseconds(1)) == 1)
    #expect(debounce(.nanoseconds(1001)) == 2)
    #expect(debounce(.microseconds(250)) == 250)
    #expect(debounce(.seconds(2)) == 2_000_000)
    #expect(debounce(.seconds(5000)) == UInt32.max)
    #expect(debounce(.seconds(Int64.max)) == UInt32.max)
  }

  @Test func kernelRequestHoldsOneLineItsLabelFlagsAndAttributes() {
    let config = GPIOLineConfig.input(
      GPIOInputSettings(bias: .pullDown, debounce: .milliseconds(20)))
    var request = config.kernelRequest(offset: 23, consumer: "outpostd-help")
    #expect(request.num_lines == 1)
    #expect(request.offsets.0 == 23)
    #expect(request.offsets.1 == 0)
    #expect(request.event_buffer_size == 0)
    #expect(request.fd == 0)
    let label = withUnsafeBytes(of: &request.consumer) { Array($0) }
    #expect(label == Array("outpostd-help".utf8) + [UInt8](repeating: 0, count: 19))
    #expect(request.config.flags == config.flags.rawValue)
    #expect(request.config.num_attrs == 1)
    #expect(request.config.attrs.0.attr.id == GPIO_V2_LINE_ATTR_ID_DEBOUNCE.rawValue)
    #expect(request.config.attrs.0.attr.debounce_period_us == 20_000)
    #expect(request.config.attrs.0.mask == 1)
    #expect(GPIOLineConfig(request.config) == config)

    let output = GPIOLineConfig.output(GPIOOutputSettings(), initialValue: true)
    let outputRequest = output.kernelRequest(offset: 4, consumer: "led")
    #expect(outputRequest.config.num_attrs == 1)
    #expect(outputRequest.config.attrs.0.attr.id == GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES.rawValue)
    #expect(outputRequest.config.attrs.0.attr.values == 1)
    #expect(outputRequest.config.attrs.0.mask == 1)
    #expect(GPIOLineConfig(outputRequest.config) == output)
  }

  @Test func kernelRequestLeavesEveryPaddingByteZero() {
    let config = GPIOLineConfig(
      flags: [.input, .edgeRising], debounceMicroseconds: 7, outputValue: true)
    var request = config.kernelRequest(offset: 1, consumer: "x")
    #expect(withUnsafeBytes(of: &request.padding) { $0.allSatisfy { $0 == 0 } })
    #expect(withUnsafeBytes(of: &request.config.padding) { $0.allSatisfy { $0 == 0 } })
    #expect(request.config.num_attrs == 2)
    #expect(request.config.attrs.0.attr.padding == 0)
    #expect(request.config.attrs.1.attr.padding == 0)
    // The unused attribute slots stay zero.
    #expect(withUnsafeBytes(of: &request.config.attrs.2) { $0.allSatisfy { $0 == 0 } })
    #expect(GPIOLineConfig(request.config) == config)
  }

  @Test func consumerLabelsAreCutAtACharacterBoundaryBeforeByte32() {
    let long = String(repeating: "a", count: 30) + "éé"
    var request = GPIOLineConfig.input(GPIOInputSettings()).kernelRequest(
      offset: 0, consumer: long)
    let label = withUnsafeBytes(of: &request.consumer) { Array($0) }
    // 30 ASCII bytes and one two-byte "é" would be 32 bytes: no room for the terminator.
    #expect(label.prefix(30) == ArraySlice(repeating: UInt8(ascii: "a"), count: 30))
    #expect(label[30...].allSatisfy { $0 == 0 })

    var exact = GPIOLineConfig.input(GPIOInputSettings()).kernelRequest(
      offset: 0, consumer: String(repeating: "b", count: 40))
    let cut = withUnsafeBytes(of: &exact.consumer) { Array($0) }
    #expect(cut.prefix(31).allSatisfy { $0 == UInt8(ascii: "b") })
    #expect(cut[31] == 0)
  }

  @Test func chipNamesMapToDevicePaths() {
    #expect(GPIOChip.devicePath(for: "0") == "/dev/gpiochip0")
    #expect(GPIOChip.devicePath(for: "12") == "/dev/gpiochip12")
    #expect(GPIOChip.devicePath(for: "gpiochip3") == "/dev/gpiochip3")
    #expect(GPIOChip.devicePath(for: "/dev/gpiochip1") == "/dev/gpiochip1")
    #expect(
      GPIOChip.devicePath(for: "/dev/gpio/by-path/platform-gpio")
        == "/dev/gpio/by-path/platform-gpio")
  }

  @Test func openingAMissingChipSaysItDoesNotExistWithoutAGPIOChip() {
    let error = #expect(throws: GPIOError.self) {
      try GPIOChip("/dev/gpiochip-outpost-test-missing")
    }
    #expect(error?.problem == .chipMissing)
    #expect(error?.chip == "/dev/gpiochip-outpost-test-missing")
    #expect(
      error?.description.contains("/dev/gpiochip-outpost-test-missing does not exist") == true)
    #expect(error?.description.contains("gpiodetect") == true)
  }

  @Test func devNullIsNotAGPIOChip() {
    let error = #expect(throws: GPIOError.self) { try GPIOChip("/dev/null") }
    #expect(error?.problem == .notAGPIOChip(errno: ENOTTY))
    #expect(error?.description.contains("/dev/null is not a GPIO chip") == true)
    #expect(error?.description.contains("ENOTTY") == true)
  }

  @Test func aRegularFileOrDirectoryIsNotAGPIOChip() throws {
    let directory = TemporaryDirectory()
    let path = directory.file("not-a-chip")
    try FileBytes.write(Array("hello".utf8), to: path)
    let fileError = #expect(throws: GPIOError.self) { try GPIOChip(path) }
    #expect(fileError?.problem == .notAGPIOChip(errno: ENOTTY))
    let directoryError = #expect(throws: GPIOError.self) { try GPIOChip(directory.path) }
    #expect(directoryError?.problem == .notAGPIOChip(errno: EISDIR))
  }

  @Test func anOutputLineOnAMissingChipFailsWithoutAGPIOChip() {
    let error = #expect(throws: GPIOError.self) {
      try GPIOOutputLine(chip: "/dev/gpiochip-outpost-test-missing", offset: 2, initialValue: true)
    }
    #expect(error?.problem == .chipMissing)
  }

  @Test func errorsSayWhatToDo() {
    let denied = GPIOError(.permissionDenied, chip: "/dev/gpiochip0")
    #expect(denied.description.contains("`gpio` group"))
    #expect(denied.description.contains("udev rule"))

    let busy = GPIOError(.lineBusy(consumer: "sysfs"), chip: "/dev/gpiochip0", offset: 17)
    #expect(busy.description.contains("line 17 of GPIO chip /dev/gpiochip0 is busy"))
    #expect(busy.description.contains("\"sysfs\" holds it"))
    let anonymous = GPIOError(.lineBusy(consumer: nil), chip: "/dev/gpiochip0", offset: 17)
    #expect(anonymous.description.contains("another program or driver holds it"))

    let range = GPIOError(.offsetOutOfRange(lineCount: 32), chip: "/dev/gpiochip0", offset: 40)
    #expect(range.description.contains("Line 40 does not exist on GPIO chip /dev/gpiochip0"))
    #expect(range.description.contains("offsets 0 to 31"))

    let refused = GPIOError(.settingsRefused(errno: 524), chip: "/dev/gpiochip1", offset: 3)
    #expect(refused.description.contains("ENOTSUPP"))
    #expect(refused.description.contains("line 3 of GPIO chip /dev/gpiochip1"))
  }
}
