import Logging
import OutpostSystemd
import OutpostTestKit
import Synchronization
import Testing

@testable import OutpostAgent

/// Keeps every log entry, for checking the structured fields the agent logs with.
final class CapturedLog: Sendable {
  struct Entry: Sendable {
    var level: Logger.Level
    var message: String
    var metadata: Logger.Metadata
  }

  let entries = Mutex<[Entry]>([])

  var logger: Logger {
    Logger(label: "test") { _ in Handler(log: self) }
  }

  struct Handler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { metadata[key] }
      set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
      let entry = Entry(
        level: event.level, message: "\(event.message)",
        metadata: metadata.merging(event.metadata ?? [:]) { $1 })
      log.entries.withLock { $0.append(entry) }
    }
  }
}

@Suite struct JournaldFieldsTests {
  @Test func alarmsAreLoggedWithFixedMessageIDsAndOutpostFields() async throws {
    let captured = CapturedLog()
    let fixture = try await RecorderFixture()
    let recorder = try await Recorder(
      writer: fixture.writer, clock: fixture.clock.boxClock(), settings: AlarmSettings(),
      logger: captured.logger)
    _ = try await recorder.trigger(.help, source: "test")
    _ = try await recorder.trigger(.checkIn(who: "C1"), source: "test")
    _ = try await recorder.trigger(.report(.smuggling), source: "test")
    _ = try await recorder.sensorAlarm(sensor: "tank", alarm: .flood, milliValue: 900, raised: true)
    let entries = captured.entries.withLock { $0 }.filter { $0.metadata["message_id"] != nil }
    let ids = entries.map { "\($0.metadata["message_id"]!)" }
    #expect(ids == [MessageIDs.sos, MessageIDs.checkIn, MessageIDs.report, MessageIDs.sensorAlarm])
    #expect(Set(ids).count == 4)
    for entry in entries {
      #expect(entry.level == .notice)
      // The keys become the journald fields MESSAGE_ID, OUTPOST_SEQ and OUTPOST_KIND.
      let fields = entry.metadata.keys.map(JournaldLogHandler.fieldName(forMetadataKey:))
      #expect(fields.contains("MESSAGE_ID"))
      #expect(fields.contains("OUTPOST_SEQ"))
      #expect(fields.contains("OUTPOST_KIND"))
    }
    #expect("\(entries[0].metadata["outpost_kind"]!)" == "sos")
    #expect("\(entries[0].metadata["outpost_incident"]!)" == "0")
    // Message ids are 128-bit ids written as 32 lower-case hex digits, as journald wants them.
    for id in ids {
      #expect(id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }
  }
}
