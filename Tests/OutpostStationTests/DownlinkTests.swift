import OutpostCore
import OutpostStore
import OutpostWire
import Testing

@testable import OutpostStation

@Suite struct DownlinkTests {
  /// Officer names and notes go into wire fields limited in bytes; a name in Cyrillic longer
  /// than the limit is cut at a character, and the message still encodes.
  @Test func longNonLatinOfficerNamesAndNotesStillMakeAnEncodableDownlink() throws {
    let officer = String(repeating: "Батбаяр ", count: 6)
    let note = String(repeating: "эргүүл замдаа ", count: 20)
    let incident = Incident(
      id: 7, deviceID: 1, device: "yurt-7", household: nil, kind: .sos, detail: nil, epoch: 9,
      seq: 10, openedAtMs: 1, receivedAtMs: 2, presses: 1, position: nil, state: .acknowledged,
      acknowledgedBy: officer, acknowledgedAtMs: 3, note: note, closedBy: nil, closedAtMs: nil,
      escalationLevel: 0, boxNotifiedState: nil)
    let message = try #require(StationCore.downlink(for: incident))
    guard case .incidentAcknowledged(let ack) = message else {
      Issue.record("\(message)")
      return
    }
    #expect(ack.officer.utf8.count <= WireLimits.maxOfficerName)
    #expect(officer.hasPrefix(ack.officer) && !ack.officer.isEmpty)
    #expect(ack.note.utf8.count <= WireLimits.maxNote)
    #expect(throws: Never.self) { _ = try StreamFrame.encode(message) }
  }
}
