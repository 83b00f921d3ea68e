import OutpostConfig
import OutpostCore
import OutpostTestKit
import Testing

@testable import OutpostAgent

@Suite struct ConfigurationTests {
  /// The sample in Config/, found from this file's path.
  static var samplePath: String {
    let here = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
    return "/\(here)/Config/agent.toml"
  }

  @Test func theSampleConfigurationIsValidAndStatesTheDefaults() throws {
    let text = try FileBytes.readText(Self.samplePath)
    let parsed = try AgentConfiguration.parse(text)
    let defaults = AgentConfiguration()
    #expect(parsed.device == defaults.device)
    #expect(parsed.journalPath == defaults.journalPath)
    #expect(parsed.journal.size == defaults.journal.size)
    #expect(parsed.journal.groupCommit == defaults.journal.groupCommit)
    #expect(parsed.alarm.joinWindow == defaults.alarm.joinWindow)
    #expect(parsed.alarm.recordInterval == defaults.alarm.recordInterval)
    #expect(parsed.controlSocketPath == defaults.controlSocketPath)
    #expect(parsed.control.group == defaults.control.group)
    #expect(parsed.positions == defaults.positions)
    #expect(parsed.health.interval == defaults.health.interval)
  }

  @Test func everyCommentedExampleInTheSampleIsValidToo() throws {
    // Uncomment every "# key = value" and "# [table]" line: the examples must parse.
    let text = try FileBytes.readText(Self.samplePath)
    var lines: [String] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let body = line.hasPrefix("# ") ? line.dropFirst(2) : line[...]
      let looksLikeTOML =
        body.hasPrefix("[") || (body.first?.isLetter == true && body.contains(" = "))
      lines.append(line.hasPrefix("# ") && looksLikeTOML ? String(body) : String(line))
    }
    let parsed = try AgentConfiguration.parse(lines.joined(separator: "\n"))
    #expect(parsed.inputDevices.count == 1)
    #expect(parsed.inputDevices[0].keys[59] == .help)
    #expect(parsed.inputDevices[0].longPressKeys[61] == .cancel)
    #expect(parsed.gpioButtons.count == 1)
    #expect(parsed.cardReaders.count == 1)
    #expect(parsed.sensors.count == 1)
    #expect(parsed.sensors[0].alarm?.threshold.raiseAt == 60_000)
    #expect(parsed.feedback.count == 3)
    #expect(parsed.health.supplyPath != nil)
  }

  @Test(arguments: [
    (
      "[gps]\nsource = \"serial\"\nserial = \"/dev/ttyUSB0\"\nbaud = 9601\n", "gps.baud", 4,
      "standard rate"
    ),
    ("[journal]\nsize = \"big\"\n", "journal.size", 2, "expected an integer, found a string"),
    ("[journal]\nsize = 1000\n", "journal.size", 2, "from 1048576 to"),
    ("[journal]\nsise = 1048576\n", "journal.sise", 2, "unknown key; valid keys here:"),
    (
      "[[input]]\ndevice = \"/dev/input/event0\"\nkeys = { KEY_BOGUS = \"help\" }\n",
      "input[1].keys.KEY_BOGUS", 3, "unknown key name"
    ),
    (
      "[[input]]\ndevice = \"/dev/input/event0\"\nkeys = { KEY_F1 = \"panic\" }\n",
      "input[1].keys.KEY_F1", 3, "is not a button role"
    ),
    (
      "[[gpio]]\nchip = \"/dev/gpiochip0\"\naction = \"help\"\n", "gpio[1].line", 1,
      "missing: the line offset"
    ),
    (
      "[[sensor]]\nname = \"t\"\npath = \"/x\"\nalarm = \"fire\"\nraise_at = 60\nclear_at = 70\n",
      "sensor[1].clear_at", 6, "must lie below raise_at"
    ),
    (
      "[[feedback]]\non = [\"recorded\"]\ncommand = [\"led\"]\n", "feedback[1].command", 3,
      "absolute path"
    ),
    (
      "[[feedback]]\non = [\"done\"]\ncommand = [\"/bin/true\"]\n", "feedback[1].on", 2,
      "\"done\" is not one of"
    ),
    ("[agent]\ndevice = \"box 1\"\n", "agent.device", 2, "without spaces"),
    ("[alarm\n", "", 1, "column"),
  ])
  func errorsNameTheKeyTheLineAndWhatIsValid(
    text: String, key: String, line: Int, message: String
  ) {
    do {
      _ = try AgentConfiguration.parse(text)
      Issue.record("accepted: \(text)")
    } catch {
      #expect(error.key == key)
      #expect(error.line == line)
      #expect(error.message.contains(message), "\(error)")
      #expect(error.inFile("agent.toml").description.hasPrefix("agent.toml:\(line): "))
    }
  }

  @Test func buttonRolesAndKeyNamesRoundTrip() {
    for role in [ButtonRole.help, .checkIn, .cancel, .report(.livestockLost)] {
      #expect(ButtonRole(role.description) == role)
    }
    #expect(ButtonRole("report:fishing") == nil)
  }
}
