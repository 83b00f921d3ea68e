import Testing

@testable import OutpostHooks

@Suite struct FeedbackContextTests {
  @Test func momentsAreNamedInLowerCase() {
    #expect(
      FeedbackMoment.allCases.map(\.rawValue) == [
        "recorded", "delivered", "acknowledged", "cancelled",
      ])
  }

  @Test func environmentCarriesEveryFieldTheAlarmHas() {
    let sos = FeedbackContext(
      moment: .delivered, kind: "sos", seq: 42, presses: 3, incident: "inc-7")
    #expect(
      sos.environment == [
        "OUTPOST_MOMENT": "delivered", "OUTPOST_KIND": "sos", "OUTPOST_SEQ": "42",
        "OUTPOST_PRESSES": "3", "OUTPOST_INCIDENT": "inc-7",
      ])
    let report = FeedbackContext(
      moment: .recorded, kind: "report", seq: 9, category: "poaching", incident: "inc-8")
    #expect(report.environment["OUTPOST_CATEGORY"] == "poaching")
    #expect(report.environment["OUTPOST_PRESSES"] == nil)
  }

  @Test func placeholdersAreSubstitutedOnceAndUnknownOnesKept() {
    let context = FeedbackContext(
      moment: .acknowledged, kind: "sos", seq: 18_446_744_073_709_551_615, incident: "{seq}")
    #expect(
      context.substitute(in: "{moment} {kind} #{seq} in {incident}\n")
        == "acknowledged sos #18446744073709551615 in {seq}\n")
    #expect(context.substitute(in: "{other} {{kind}} {kind") == "{other} {sos} {kind")
    #expect(context.substitute(in: "a {b") == "a {b")
    #expect(context.substitute(in: "{seq}{seq}") == "18446744073709551615" + "18446744073709551615")
    #expect(context.substitute(in: "1") == "1")
    #expect(context.substitute(in: "") == "")
  }

  @Test func actionsDescribeThemselvesForTheLog() {
    #expect(
      FeedbackAction.command(argv: ["/usr/bin/beep", "-f", "880"], timeout: .seconds(5))
        .description == "command [\"/usr/bin/beep\", \"-f\", \"880\"] (timeout 5.0 seconds)")
    #expect(
      FeedbackAction.gpio(chip: "gpiochip0", line: 17, value: true).description
        == "GPIO gpiochip0 line 17 = 1")
    #expect(
      FeedbackAction.file(path: "/run/outpost/state", contents: "{moment}\n").description
        == "file /run/outpost/state <- \"{moment}\\n\"")
  }
}
