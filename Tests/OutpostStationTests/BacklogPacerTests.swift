import Testing

@testable import OutpostUplink

/// The uplink's pacing of a backlog, fed the round trips a link would show.
@Suite struct BacklogPacerTests {
  /// A loopback or LAN link, where a round trip is the station's work: a second batch in
  /// flight only doubles the round trip, so the window comes back to one.
  @Test func onALinkWhoseRoundTripIsWorkTheWindowStaysNearOne() {
    var pacer = BacklogPacer(limit: 8)
    var now = ContinuousClock.now
    let work = Duration.milliseconds(3)
    var inFlightSeen: [Int] = []
    for _ in 0..<400 {
      // Each batch in flight waits for the ones ahead of it at the station.
      let rtt = work * pacer.allowed
      now += rtt
      pacer.roundTrip(rtt, at: now)
      inFlightSeen.append(pacer.allowed)
    }
    let atOne = inFlightSeen.suffix(200).count { $0 == 1 }
    #expect(atOne >= 150, "window one for \(atOne) of the last 200 round trips")
    #expect(inFlightSeen.suffix(200).allSatisfy { $0 <= 2 })
  }

  /// A cellular or satellite link, where a round trip is mostly distance: more batches in
  /// flight barely queue, so the window opens to the station's.
  @Test func onALinkWhoseRoundTripIsDistanceTheWindowOpens() {
    var pacer = BacklogPacer(limit: 8)
    var now = ContinuousClock.now
    for _ in 0..<400 {
      let rtt = Duration.milliseconds(600) + .milliseconds(3) * pacer.allowed
      now += rtt / pacer.allowed
      pacer.roundTrip(rtt, at: now)
    }
    #expect(pacer.allowed == 8)
    #expect(pacer.base! >= .milliseconds(600))
  }

  /// A link that became congested: queueing far above the target closes the window at once,
  /// by half at most per round trip.
  @Test func queueingAboveTheTargetClosesTheWindowByHalfAtMost() {
    var pacer = BacklogPacer(limit: 8)
    var now = ContinuousClock.now
    for _ in 0..<200 {
      now += .milliseconds(100)
      pacer.roundTrip(.milliseconds(100), at: now)
    }
    #expect(pacer.allowed == 8)
    now += .seconds(1)
    pacer.roundTrip(.seconds(1), at: now)
    #expect(pacer.allowed == 4)
    now += .seconds(1)
    pacer.roundTrip(.seconds(1), at: now)
    #expect(pacer.allowed == 2)
  }

  @Test func theShareSetsThePauseAfterEachBatch() {
    var half = BacklogPacer(limit: 8, share: 0.5)
    let now = ContinuousClock.now
    #expect(half.mayStart(at: now))
    half.roundTrip(.milliseconds(4), at: now)
    // One batch in flight took 4 ms of the link's time; at half, as long again to rest.
    #expect(half.resumeAt == now + .milliseconds(4))
    #expect(!half.mayStart(at: now + .milliseconds(3)))
    #expect(half.mayStart(at: now + .milliseconds(4)))

    var quarter = BacklogPacer(limit: 8, share: 0.25)
    quarter.roundTrip(.milliseconds(4), at: now)
    #expect(quarter.resumeAt == now + .milliseconds(12))

    var full = BacklogPacer(limit: 8, share: 1)
    full.roundTrip(.milliseconds(4), at: now)
    #expect(full.resumeAt == nil)
    #expect(full.mayStart(at: now))
  }
}
