import Logging
import OutpostHooks
import OutpostTestKit
import Synchronization
import Testing

@testable import OutpostAgent

@Suite(.timeLimit(.minutes(1))) struct WatchdogTests {
  @Test func aStuckJournalWriterWithholdsThePing() async {
    let release = Mutex<CheckedContinuation<Void, Never>?>(nil)
    let watchdog = Watchdog(
      period: .milliseconds(100),
      probes: [
        .init(name: "event loop") {},
        .init(name: "journal writer") {
          // Stands for a writer blocked in fdatasync: it does not answer until released.
          await withCheckedContinuation { continuation in
            release.withLock { $0 = continuation }
          }
        },
      ], logger: quietLogger)
    let book = ProbeBook(count: 2)
    watchdog.startProbes(book)
    let answered = await eventually { watchdog.stuckProbes(book) == ["journal writer"] }
    #expect(answered)
    // A round later the writer is still stuck: it is not probed again, and still no ping.
    watchdog.startProbes(book)
    try? await Task.sleep(for: .milliseconds(100))
    #expect(watchdog.stuckProbes(book) == ["journal writer"])
    release.withLock { $0?.resume() }
    let recovered = await eventually { watchdog.stuckProbes(book).isEmpty }
    #expect(recovered)
  }
}

@Suite(.timeLimit(.minutes(1))) struct FeedbackServiceTests {
  @Test func hooksRunAtEachMomentOfAnAlarmsLife() async throws {
    let fixture = try await RecorderFixture()
    let states = fixture.directory.file("led")
    let settings = [
      FeedbackSettings(
        moments: [.recorded, .delivered, .acknowledged, .cancelled], kinds: [],
        action: .command(
          argv: [
            "/bin/sh", "-c", "echo \"$OUTPOST_KIND $OUTPOST_MOMENT $OUTPOST_INCIDENT\" >> \"$0\"",
            states,
          ],
          timeout: .seconds(5)))
    ]
    let service = FeedbackService(
      recorder: fixture.recorder, settings: settings, runner: HookRunner(logger: quietLogger),
      logger: quietLogger)
    let task = Task { try await service.run() }
    defer { task.cancel() }
    // The service subscribes when it starts; give it that moment.
    try await Task.sleep(for: .milliseconds(100))
    let sos = try await fixture.recorder.trigger(.help, source: "test")
    _ = try await fixture.recorder.trigger(.checkIn(who: nil), source: "test")
    try await fixture.recorder.stationStored(sos.seq!...sos.seq!)
    await fixture.recorder.officerAcknowledged(seq: sos.seq!, officer: "Bat", note: "")
    _ = try await fixture.recorder.trigger(.help, source: "test")
    _ = try await fixture.recorder.trigger(.cancel, source: "test")
    // The second press joined the acknowledged incident (no new record within the record
    // interval); the cancel is recorded, then the incident's SOS is marked cancelled.
    let expected = [
      "sos recorded 0", "sos delivered 0", "sos acknowledged 0", "sos-cancel recorded 0",
      "sos cancelled 0",
    ]
    let done = await eventually {
      ((try? FileBytes.readText(states)) ?? "").split(separator: "\n").count >= expected.count
    }
    #expect(done)
    // The check-in ran no hook (hooks follow alarms unless kinds name it).
    let lines = try FileBytes.readText(states).split(separator: "\n").map(String.init)
    #expect(lines == expected)
  }
}
