import Glibc
import Logging
import Testing

@testable import OutpostSystemd

@Suite struct JournaldLogHandlerTests {
  @Test func mapsEverySwiftLogLevelToItsSyslogPriority() {
    let expected: [Logger.Level: Int] = [
      .trace: 7, .debug: 7, .info: 6, .notice: 5, .warning: 4, .error: 3, .critical: 2,
    ]
    #expect(expected.count == Logger.Level.allCases.count)
    for (level, priority) in expected {
      #expect(SyslogPriority(level).rawValue == priority, "level \(level)")
    }
    #expect(SyslogPriority.allCases.map(\.rawValue) == Array(0...7))
  }

  @Test(arguments: [
    ("message_id", "MESSAGE_ID"),
    ("device.id", "DEVICE_ID"),
    ("Link-State", "LINK_STATE"),
    ("errno", "ERRNO"),
    ("already_VALID_9", "ALREADY_VALID_9"),
    ("_pid", "PID"),
    ("__", "X_"),
    ("", "X_"),
    ("1st", "X_1ST"),
    ("_1st", "X_1ST"),
    ("temp°C", "TEMP_C"),
    ("ÿ", "X_"),
    ("message", "X_MESSAGE"),
    ("priority", "X_PRIORITY"),
    ("syslog_identifier", "X_SYSLOG_IDENTIFIER"),
    ("code_file", "X_CODE_FILE"),
    ("code_line", "X_CODE_LINE"),
    ("code_func", "X_CODE_FUNC"),
    (String(repeating: "a", count: 100), String(repeating: "A", count: 64)),
    ("9" + String(repeating: "b", count: 100), "X_9" + String(repeating: "B", count: 61)),
  ])
  func convertsMetadataKeysToJournalFieldNames(key: String, name: String) {
    #expect(JournaldLogHandler.fieldName(forMetadataKey: key) == name)
  }

  @Test func everyConvertedKeyIsAValidFieldName() {
    var keys = (0..<128).map { String(Unicode.Scalar(UInt8($0))) }
    keys += ["a b", "\n", "é", "🛰️ uplink", "_", "0", "a.b.c-d", "X_", "MESSAGE", "_MESSAGE"]
    keys += keys.map { $0 + $0 + "z" }
    for key in keys {
      let name = JournaldLogHandler.fieldName(forMetadataKey: key)
      #expect(JournalField.isValidName(name), "key \(key.debugDescription) gave \(name)")
      #expect(!JournaldLogHandler.reservedFieldNames.contains(name))
    }
  }

  @Test func fieldNameValidityFollowsJournaldRules() {
    for valid in ["A", "MESSAGE_ID", "A1_", String(repeating: "Z", count: 64)] {
      #expect(JournalField.isValidName(valid), "\(valid)")
    }
    for invalid in ["", "_A", "1A", "a", "A-B", "Ä", String(repeating: "Z", count: 65)] {
      #expect(!JournalField.isValidName(invalid), "\(invalid)")
    }
  }

  @Test func entryCarriesMessageLevelIdentifierCallSiteAndMergedMetadata() {
    var handler = JournaldLogHandler(
      label: "outpostd",
      metadataProvider: Logger.MetadataProvider { ["link": "up", "trace": "provided"] }
    )
    handler.metadata = ["device.id": "7", "link": "down"]
    let event = LogEvent(
      level: .critical,
      message: "SOS recorded\nseq 41",
      metadata: [
        JournaldLogHandler.messageIDMetadataKey: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "trace": "explicit",
        "message": "shadow",
      ],
      source: nil,
      file: "OutpostAgent/HelpTrigger.swift",
      function: "press()",
      line: 42
    )

    let fields = handler.entry(for: event).map {
      ($0.name, String(decoding: $0.value, as: UTF8.self))
    }

    let expected = [
      ("MESSAGE", "SOS recorded\nseq 41"),
      ("PRIORITY", "2"),
      ("SYSLOG_IDENTIFIER", "outpostd"),
      ("CODE_FILE", "OutpostAgent/HelpTrigger.swift"),
      ("CODE_LINE", "42"),
      ("CODE_FUNC", "press()"),
      ("DEVICE_ID", "7"),
      ("LINK", "up"),
      ("X_MESSAGE", "shadow"),
      ("MESSAGE_ID", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
      ("TRACE", "explicit"),
    ]
    #expect(fields.map(\.0) == expected.map(\.0))
    #expect(fields.map(\.1) == expected.map(\.1))
  }

  @Test func entryRecordsAnAttachedErrorAndOmitsAnEmptyLabel() {
    struct LinkDown: Error, CustomStringConvertible {
      var description: String { "link down" }
    }
    let handler = JournaldLogHandler(label: "", metadataProvider: nil)
    let event = LogEvent(
      level: .error, message: "uplink failed", error: LinkDown(), metadata: nil, source: nil,
      file: "F.swift", function: "f()", line: 1)

    let fields = handler.entry(for: event)
    let names = fields.map(\.name)

    #expect(!names.contains("SYSLOG_IDENTIFIER"))
    #expect(fields.first { $0.name == "PRIORITY" }?.value == Array("3".utf8))
    #expect(fields.first { $0.name == "ERROR_MESSAGE" }?.value == Array("link down".utf8))
    let errorType = fields.first { $0.name == "ERROR_TYPE" }.map {
      String(decoding: $0.value, as: UTF8.self)
    }
    #expect(errorType?.hasSuffix("LinkDown") == true)
  }

  @Test func metadataSubscriptChangesOnlyThisCopy() {
    var handler = JournaldLogHandler(label: "outpostd", metadataProvider: nil)
    let copy = handler
    handler[metadataKey: "device.id"] = "7"
    #expect(handler[metadataKey: "device.id"] == "7")
    #expect(copy[metadataKey: "device.id"] == nil)
  }

  @Test func fallbackLineIsOneLineNamingTheFailure() {
    let handler = JournaldLogHandler(label: "outpostd", metadataProvider: nil)
    let event = LogEvent(
      level: .warning, message: "two\nlines", metadata: nil, source: nil, file: "F.swift",
      function: "f()", line: 1)
    let failure = SystemdError(.journalSend, errno: ENOENT)

    let line = handler.fallbackLine(for: event, failure: failure)

    #expect(line == "outpostd: warning: two\\nlines [not in journal: \(failure)]\n")
  }

  /// Sends a real entry when journald runs here; otherwise checks that the missing socket is
  /// reported as an error rather than ignored.
  @Test func sendsToJournaldOrReportsItMissing() throws {
    let handler = JournaldLogHandler(label: "outpost-systemd-tests", metadataProvider: nil)
    let event = LogEvent(
      level: .debug, message: "OutpostSystemdTests: journald round trip\nsecond line",
      metadata: ["test.run": "\(getpid())"], source: nil, file: #fileID, function: #function,
      line: #line)
    let fields = handler.entry(for: event)

    if access(JournaldLogHandler.journalSocketPath, F_OK) == 0 {
      try JournaldLogHandler.send(fields)
    } else {
      #expect(throws: SystemdError(.journalSend, errno: ENOENT)) {
        try JournaldLogHandler.send(fields)
      }
    }
  }
}
