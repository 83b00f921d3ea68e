import Testing

@testable import OutpostStation

/// How many refused datagrams get a log line, on a clock the test moves.
@Suite struct RefusalLogTests {
  let start = ContinuousClock.now

  @Test func eachSourceGetsAFewLinesPerIntervalAndTheNextLineCountsTheRest() {
    let log = RefusalLog(limits: .init(perSource: 3, overall: 100, interval: .seconds(10)))
    let first = (0..<10).map { _ in log.admit(source: "a", now: start) }
    #expect(first == [0, 0, 0, nil, nil, nil, nil, nil, nil, nil])
    // Another source is not held back by the first one's flood; its line tells of the seven.
    #expect(log.admit(source: "b", now: start + .seconds(1)) == 7)
    #expect(log.admit(source: "a", now: start + .seconds(9)) == nil)
    // A new interval: the flooding source is heard again, with the count of what was left out.
    #expect(log.admit(source: "a", now: start + .seconds(10)) == 1)
    #expect(log.admit(source: "a", now: start + .seconds(11)) == 0)
  }

  @Test func manySourcesTogetherMeetTheOverallLimit() {
    let log = RefusalLog(
      limits: .init(perSource: 5, overall: 10, interval: .seconds(10), sources: 4))
    let logged = (0..<100).compactMap { index in
      log.admit(source: "spoofed-\(index)", now: start + .milliseconds(index))
    }
    #expect(logged.count == 10)
    #expect(log.admit(source: "late", now: start + .seconds(10)) == 90)
  }
}
