import Glibc
import Logging
import OutpostGPIO
import OutpostTestKit
import Testing

@testable import OutpostHooks

/// The hook runner with real processes and real files. Every command here ends by itself or
/// by its timeout, and each test has a time limit, so none can hang the suite.
@Suite(.timeLimit(.minutes(1))) struct HookRunnerTests {
  let sos = FeedbackContext(
    moment: .recorded, kind: "sos", seq: 1234, presses: 2, incident: "inc-42")

  @Test func aCommandSeesTheAlarmInItsEnvironment() async throws {
    let directory = TemporaryDirectory()
    let output = directory.file("env")
    let (logger, records) = RecordingLogHandler.logger()
    let runner = HookRunner(logger: logger)
    let report = FeedbackContext(
      moment: .acknowledged, kind: "report", seq: 77, presses: 5, category: "fire",
      incident: "inc-9")
    let outcomes = await runner.run(
      [.command(argv: ["/bin/sh", "-c", "env > \"$1\"", "sh", output], timeout: .seconds(30))],
      for: report)
    #expect(outcomes.map(\.failure) == [nil])
    let lines = try FileBytes.readText(output).split(separator: "\n").map(String.init)
    for expected in [
      "OUTPOST_MOMENT=acknowledged", "OUTPOST_KIND=report", "OUTPOST_SEQ=77",
      "OUTPOST_PRESSES=5", "OUTPOST_CATEGORY=fire", "OUTPOST_INCIDENT=inc-9",
      "PATH=\(HookRunner.defaultSearchPath)",
    ] {
      #expect(lines.contains(expected), "\(expected) in \(lines)")
    }
    #expect(records.at(.error).isEmpty)
  }

  @Test func optionalVariablesAreAbsentWhenTheAlarmHasNone() async throws {
    let directory = TemporaryDirectory()
    let output = directory.file("env")
    let (logger, _) = RecordingLogHandler.logger()
    let context = FeedbackContext(moment: .cancelled, kind: "sos-cancel", seq: 3, incident: "i")
    _ = await HookRunner(logger: logger).run(
      [.command(argv: ["/bin/sh", "-c", "env > \"$1\"", "sh", output], timeout: .seconds(30))],
      for: context)
    let text = try FileBytes.readText(output)
    #expect(text.contains("OUTPOST_MOMENT=cancelled\n"))
    #expect(!text.contains("OUTPOST_PRESSES"))
    #expect(!text.contains("OUTPOST_CATEGORY"))
  }

  @Test func aProgramNameIsLookedUpInThePath() async {
    let (logger, _) = RecordingLogHandler.logger()
    let outcomes = await HookRunner(logger: logger).run(
      [.command(argv: ["sh", "-c", "exit 0"], timeout: .seconds(30))], for: sos)
    #expect(outcomes.map(\.failure) == [nil])
  }

  @Test func aNonZeroExitIsReportedWithItsStatusAndOutput() async {
    let (logger, records) = RecordingLogHandler.logger()
    let action = FeedbackAction.command(
      argv: ["/bin/sh", "-c", "echo starting; echo buzzer not found >&2; exit 3"],
      timeout: .seconds(30))
    let outcomes = await HookRunner(logger: logger).run([action], for: sos)
    #expect(outcomes.map(\.failure) == [.exited(status: 3)])
    #expect(outcomes.first?.outputTail == "starting\nbuzzer not found")
    let errors = records.at(.error)
    #expect(errors.count == 1)
    #expect(errors.first?.message.contains("exited with status 3") == true)
    #expect(errors.first?.message.contains("at moment recorded") == true)
    #expect(errors.first?.message.contains("buzzer not found") == true)
    #expect(errors.first?.metadata["hook.moment"] == "recorded")
  }

  @Test func aCommandKilledByASignalIsReportedWithTheSignal() async {
    let (logger, _) = RecordingLogHandler.logger()
    let outcomes = await HookRunner(logger: logger).run(
      [.command(argv: ["/bin/sh", "-c", "kill -USR1 $$"], timeout: .seconds(30))], for: sos)
    #expect(outcomes.map(\.failure) == [.signalled(signal: SIGUSR1)])
  }

  @Test func aCommandPastItsTimeoutIsKilledWithItsChildren() async throws {
    let directory = TemporaryDirectory()
    let pidFile = directory.file("sleeper.pid")
    let (logger, records) = RecordingLogHandler.logger()
    let timeout = Duration.milliseconds(200)
    // The shell starts a child of its own; the timeout must end that one too.
    let action = FeedbackAction.command(
      argv: ["/bin/sh", "-c", "sleep 30 & echo $! > \"$1\"; wait", "sh", pidFile],
      timeout: timeout)
    let outcomes = await HookRunner(logger: logger, killGrace: .seconds(10)).run(
      [action], for: sos)
    #expect(outcomes.map(\.failure) == [.timedOut(after: timeout, killedWith: SIGTERM)])
    #expect(records.at(.error).first?.message.contains("ran longer than its timeout") == true)

    let sleeper = try #require(
      pid_t(try FileBytes.readText(pidFile).filter { !$0.isWhitespace }))
    #expect(await processEnds(sleeper), "the command's child \(sleeper) outlived its timeout")
  }

  @Test func aCommandIgnoringSIGTERMIsKilledWithSIGKILL() async {
    let (logger, _) = RecordingLogHandler.logger()
    let timeout = Duration.milliseconds(200)
    let action = FeedbackAction.command(
      argv: ["/bin/sh", "-c", "trap '' TERM; sleep 30"], timeout: timeout)
    let outcomes = await HookRunner(logger: logger, killGrace: .milliseconds(100)).run(
      [action], for: sos)
    #expect(outcomes.map(\.failure) == [.timedOut(after: timeout, killedWith: SIGKILL)])
  }

  @Test func aChattyCommandNeitherBlocksNorFloodsTheLog() async {
    let (logger, _) = RecordingLogHandler.logger()
    // 300 KB is more than a pipe holds: the runner must keep reading while it waits.
    let action = FeedbackAction.command(
      argv: [
        "/bin/sh", "-c",
        "i=0; while [ $i -lt 3000 ]; do echo line $i: 0123456789012345678901234567890123456789"
          + "0123456789012345678901234567890123456789; i=$((i+1)); done; echo the end; exit 1",
      ], timeout: .seconds(50))
    let outcomes = await HookRunner(logger: logger).run([action], for: sos)
    #expect(outcomes.map(\.failure) == [.exited(status: 1)])
    let tail = outcomes.first?.outputTail ?? ""
    #expect(tail.utf8.count <= 400)
    #expect(tail.hasSuffix("0123456789\nthe end"))
  }

  @Test func cancellingTheRunKillsTheCommand() async throws {
    let directory = TemporaryDirectory()
    let pidFile = directory.file("hook.pid")
    let (logger, _) = RecordingLogHandler.logger()
    let runner = HookRunner(logger: logger)
    let sos = sos
    let task = Task {
      await runner.run(
        [.command(argv: ["/bin/sh", "-c", "echo $$ > \"$1\"; exec sleep 30", "sh", pidFile])],
        for: sos)
    }
    var hook: pid_t?
    for _ in 0..<1000 where hook == nil {
      hook = (try? FileBytes.readText(pidFile)).flatMap { pid_t($0.filter(\.isNumber)) }
      if hook == nil { try await Task.sleep(for: .milliseconds(5)) }
    }
    task.cancel()
    let outcomes = await task.value
    #expect(outcomes.map(\.failure) == [.cancelled])
    let pid = try #require(hook)
    #expect(await processEnds(pid), "the cancelled hook \(pid) kept running")
  }

  @Test func aMissingExecutableIsAClearFailure() async {
    let (logger, records) = RecordingLogHandler.logger()
    let outcomes = await HookRunner(logger: logger).run(
      [
        .command(argv: ["/nonexistent/outpost-buzzer"], timeout: .seconds(5)),
        .command(argv: ["outpost-no-such-hook"], timeout: .seconds(5)),
        .command(argv: [], timeout: .seconds(5)),
      ], for: sos)
    #expect(
      outcomes.map(\.failure) == [
        .spawnFailed(executable: "/nonexistent/outpost-buzzer", errno: ENOENT),
        .commandNotFound(name: "outpost-no-such-hook", searchPath: HookRunner.defaultSearchPath),
        .emptyCommand,
      ])
    let messages = records.at(.error).map(\.message)
    #expect(messages.count == 3)
    #expect(messages[0].contains("cannot start /nonexistent/outpost-buzzer"))
    #expect(messages[0].contains("the file does not exist"))
    #expect(messages[1].contains("no executable \"outpost-no-such-hook\""))
  }

  @Test func aFileHookSubstitutesPlaceholdersAndTruncates() async throws {
    let directory = TemporaryDirectory()
    let path = directory.file("status")
    try FileBytes.write(Array(String(repeating: "old contents ", count: 50).utf8), to: path)
    let (logger, _) = RecordingLogHandler.logger()
    let outcomes = await HookRunner(logger: logger).run(
      [.file(path: path, contents: "{moment} {kind} {seq} {incident} {unknown}\n")], for: sos)
    #expect(outcomes.map(\.failure) == [nil])
    #expect(try FileBytes.readText(path) == "recorded sos 1234 inc-42 {unknown}\n")
  }

  @Test func aFileHookCreatesAMissingFile() async throws {
    let directory = TemporaryDirectory()
    let path = directory.file("brightness")
    let (logger, _) = RecordingLogHandler.logger()
    _ = await HookRunner(logger: logger).run([.file(path: path, contents: "1")], for: sos)
    #expect(try FileBytes.readText(path) == "1")
  }

  @Test func aFileHookIntoAMissingDirectoryFailsClearly() async {
    let directory = TemporaryDirectory()
    let path = directory.file("missing/status")
    let (logger, records) = RecordingLogHandler.logger()
    let outcomes = await HookRunner(logger: logger).run(
      [.file(path: path, contents: "x")], for: sos)
    #expect(outcomes.map(\.failure) == [.file(path: path, operation: "open", errno: ENOENT)])
    let message = records.at(.error).first?.message ?? ""
    #expect(message.contains("open \(path) failed"))
    #expect(message.contains("the directory does not exist"))
  }

  @Test func aGPIOHookWithoutAGPIOChipFailsAndTheNextActionStillRuns() async throws {
    let directory = TemporaryDirectory()
    let path = directory.file("after")
    let (logger, records) = RecordingLogHandler.logger()
    let outcomes = await HookRunner(logger: logger).run(
      [
        .gpio(chip: "/dev/gpiochip-outpost-test-missing", line: 3, value: true),
        .gpio(chip: "/dev/null", line: 0, value: true),
        .file(path: path, contents: "{moment}"),
      ], for: sos)
    #expect(
      outcomes.map(\.failure) == [
        .gpio(GPIOError(.chipMissing, chip: "/dev/gpiochip-outpost-test-missing")),
        .gpio(GPIOError(.notAGPIOChip(errno: ENOTTY), chip: "/dev/null")),
        nil,
      ])
    #expect(try FileBytes.readText(path) == "recorded")
    let messages = records.at(.error).map(\.message)
    #expect(messages.count == 2)
    #expect(messages.first?.contains("GPIO /dev/gpiochip-outpost-test-missing line 3 = 1") == true)
    #expect(messages.first?.contains("does not exist") == true)
  }

  @Test func repeatedIdenticalFailuresAreLoggedOnceUntilTheHookWorksAgain() async throws {
    let directory = TemporaryDirectory()
    let parent = directory.file("leds")
    let path = parent + "/state"
    let action = FeedbackAction.file(path: path, contents: "{seq}")
    let (logger, records) = RecordingLogHandler.logger()
    let runner = HookRunner(logger: logger)

    for _ in 0..<3 { _ = await runner.run([action], for: sos) }
    #expect(records.at(.error).count == 1)

    // A different reason is logged.
    #expect(mkdir(parent, 0o755) == 0)
    #expect(mkdir(path, 0o755) == 0)
    for _ in 0..<2 { _ = await runner.run([action], for: sos) }
    #expect(records.at(.error).count == 2)
    #expect(records.at(.error).last?.message.contains("it is a directory") == true)

    // Success ends the quiet period, once.
    #expect(rmdir(path) == 0)
    for _ in 0..<2 { _ = await runner.run([action], for: sos) }
    #expect(records.at(.notice).count == 1)
    #expect(records.at(.notice).first?.message.contains("works again") == true)

    // And the same failure as at first is logged again.
    #expect(unlink(path) == 0)
    #expect(rmdir(parent) == 0)
    for _ in 0..<2 { _ = await runner.run([action], for: sos) }
    #expect(records.at(.error).count == 3)
    #expect(records.at(.notice).count == 1)
  }

  @Test func failuresOfDifferentActionsAreEachLogged() async {
    let (logger, records) = RecordingLogHandler.logger()
    let runner = HookRunner(logger: logger)
    let actions: [FeedbackAction] = [
      .command(argv: ["/bin/sh", "-c", "exit 4"], timeout: .seconds(30)),
      .command(argv: ["/bin/sh", "-c", "exit 5"], timeout: .seconds(30)),
    ]
    for _ in 0..<2 { _ = await runner.run(actions, for: sos) }
    #expect(records.at(.error).count == 2)
  }

  /// Whether `pid` is gone or a zombie (its parent, init, not yet having reaped it) within a
  /// generous bound; the bound only keeps a failing test from hanging.
  private func processEnds(_ pid: pid_t) async -> Bool {
    for _ in 0..<500 {
      guard let stat = try? FileBytes.readText("/proc/\(pid)/stat") else { return true }
      // The state follows the parenthesised command name.
      if let close = stat.lastIndex(of: ")"),
        stat[stat.index(after: close)...].trimmingPrefix(" ").first == "Z"
      {
        return true
      }
      try? await Task.sleep(for: .milliseconds(10))
    }
    return false
  }
}
