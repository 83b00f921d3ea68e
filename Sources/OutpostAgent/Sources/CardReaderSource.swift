import Glibc
import Logging
import NIOCore
import OutpostInput

/// A card or badge reader that types ids like a keyboard: key events collected into an id on
/// Enter, each id recorded as a check-in by that person.
struct CardReaderSource: FieldSource {
  let settings: CardReaderSettings
  let recorder: Recorder
  let eventLoops: any EventLoopGroup
  let logger: Logger

  var name: String { "card:\(settings.device)" }

  func run(firstAttempt: @escaping @Sendable () -> Void) async throws {
    let loop = DeviceLoop(name: name, recorder: recorder, eventLoops: eventLoops, logger: logger)
    let settings = settings
    let recorder = recorder
    let name = name
    let logger = logger
    await loop.run(firstAttempt: firstAttempt) {
      let fd = try openForReading(settings.device)
      if isCharacterDevice(fd) && settings.grab {
        do {
          try InputIoctl.takeExclusively(fd)
        } catch {
          close(fd)
          throw AgentError("\(settings.device): \(error)")
        }
      }
      return (fd, {})
    } session: { chunks in
      var reader = InputEventReader()
      var line = TypedLine(minLength: settings.minLength, maxLength: settings.maxLength)
      var dropped = 0
      for try await chunk in chunks {
        for event in reader.feed(chunk.readableBytesView) {
          guard let id = line.feed(event) else { continue }
          do {
            _ = try await recorder.trigger(.checkIn(who: id), source: name)
          } catch {
            logger.critical("\(name): check-in of \(id) could not be recorded: \(error)")
          }
        }
        if line.dropped != dropped {
          dropped = line.dropped
          logger.warning(
            "\(name): a card read was incomplete or too long and was dropped (\(dropped) so far)")
        }
      }
    }
  }
}
