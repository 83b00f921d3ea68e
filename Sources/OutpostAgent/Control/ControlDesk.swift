import Logging
import OutpostControl
import OutpostCore
import OutpostJournal

/// Answers control-socket requests: the same triggers a hardware button pulls, the status, and
/// the journal commands of `outpostctl` on the live journal.
public struct ControlDesk: Sendable {
  let recorder: Recorder
  let device: String
  let logger: Logger
  /// Called when `outpostctl enroll` installed a bundle.
  let enrolled: @Sendable () -> Void

  public init(
    recorder: Recorder, device: String, logger: Logger,
    enrolled: @escaping @Sendable () -> Void = {}
  ) {
    self.recorder = recorder
    self.device = device
    self.logger = logger
    self.enrolled = enrolled
  }

  /// Handles one request; `send` writes a reply line to the client (false when it has gone).
  public func handle(
    _ request: ControlRequest, send: @escaping @Sendable (ControlReply) async -> Bool
  ) async {
    do {
      switch request.command {
      case "sos", "checkin", "cancel", "report":
        try await trigger(request, send: send)
      case "status":
        let status = try await recorder.status(freshJournal: true)
        if request.json == true {
          _ = await send(
            ControlReply(event: "status", status: StatusReport.json(status, device: device)))
        } else {
          _ = await send(
            ControlReply(event: "line", text: StatusReport.readable(status, device: device)))
        }
      case "enrolled":
        enrolled()
        _ = await send(
          ControlReply(event: "line", text: "the agent is connecting with the new enrollment"))
      case "journal-stat":
        let statistics = try await recorder.journalWriter.withJournal { try $0.statistics() }
        let text =
          request.json == true
          ? JournalReport.json(statistics) : JournalReport.readable(statistics)
        _ = await send(ControlReply(event: "line", text: text))
      case "journal-verify":
        let (report, path) = try await recorder.journalWriter.withJournal {
          (try $0.verify(), $0.path)
        }
        for line in JournalReport.verifyLines(report, path: path) {
          guard await send(ControlReply(event: "line", text: line)) else { return }
        }
        _ = await send(ControlReply(event: "exit", code: report.isClean ? 0 : 1))
      case "journal-dump":
        // The records are read from the file by outpostctl, once everything appended is durable
        // and the acknowledgements are checkpointed, so a dump of a busy journal streams from
        // the page cache instead of through the daemon's memory.
        let path = try await recorder.journalWriter.withJournal { ring in
          try ring.sync()
          try ring.checkpoint()
          return ring.path
        }
        _ = await send(ControlReply(event: "journal", text: path))
      default:
        _ = await send(
          .error(
            "unknown command \"\(request.command)\"; valid: sos, checkin, cancel, report, "
              + "status, journal-stat, journal-dump, journal-verify"))
      }
    } catch {
      logger.error("control request \(request.command) failed: \(error)")
      _ = await send(.error("\(request.command) failed: \(error)"))
    }
  }

  private func trigger(
    _ request: ControlRequest, send: @escaping @Sendable (ControlReply) async -> Bool
  )
    async throws
  {
    let trigger: Trigger
    switch request.command {
    case "sos": trigger = .help
    case "cancel": trigger = .cancel
    case "checkin":
      if let who = request.who {
        guard !who.isEmpty, who.utf8.count <= 64 else {
          _ = await send(.error("--who must be 1 to 64 bytes"))
          return
        }
      }
      trigger = .checkIn(who: request.who)
    default:
      guard let name = request.category, let category = ReportCategory(name: name) else {
        let valid = ReportCategory.allCases.map(\.description).joined(separator: ", ")
        _ = await send(
          .error("report needs a category, one of: \(valid) (got \(request.category ?? "none"))"))
        return
      }
      trigger = .report(category)
    }
    var wanted: AlarmProgress?
    if let wait = request.wait {
      guard let progress = AlarmProgress(rawValue: wait), progress != .recorded else {
        _ = await send(.error("--wait must be delivered or acknowledged (got \(wait))"))
        return
      }
      wanted = progress
    }
    // Subscribe before recording, so no change can slip between the two.
    let changes = wanted == nil ? nil : await recorder.changes()
    let outcome = try await recorder.trigger(trigger, source: "outpostctl")
    let alarm = outcome.alarm
    guard
      await send(
        ControlReply(
          event: outcome.joined && outcome.seq == nil ? "joined" : "recorded", seq: alarm.seq,
          kind: alarm.kind.description, incident: alarm.incident, presses: alarm.presses,
          progress: alarm.progress.rawValue))
    else { return }
    guard let wanted, let changes else { return }
    if alarm.progress >= wanted { return }
    let timeout = Duration.milliseconds(max(0, min(request.timeoutMs ?? 60_000, 86_400_000)))
    let reached = await withTaskGroup(of: Bool.self) { group in
      group.addTask {
        // The subscription also sees the recording itself, already reported: only progress
        // beyond what was said goes out.
        var reported = alarm.progress
        for await change in changes {
          guard case .alarm(let updated, _) = change else { continue }
          // An SOS follows its whole incident (a later record's delivery, the officer's
          // acknowledgement); a cancel follows only itself, not the SOS it cancelled.
          let mine =
            updated.seq == alarm.seq
            || (alarm.kind == .sos && alarm.incident != nil && updated.incident == alarm.incident
              && updated.kind == .sos)
          guard mine, updated.progress > reported else { continue }
          reported = updated.progress
          let reply = ControlReply(
            event: updated.progress.rawValue, seq: updated.seq, kind: updated.kind.description,
            incident: updated.incident, presses: updated.presses,
            progress: updated.progress.rawValue, text: updated.acknowledgedBy,
            message: updated.note,
            ackedAtMicros: updated.progress == .delivered ? updated.ackReceivedAtMicros : nil)
          guard await send(reply) else { return false }
          if updated.progress >= wanted { return true }
        }
        return false
      }
      group.addTask {
        try? await Task.sleep(for: timeout)
        return false
      }
      let first = await group.next() ?? false
      group.cancelAll()
      return first
    }
    if !reached {
      _ = await send(
        ControlReply(
          event: "timeout", seq: alarm.seq, kind: alarm.kind.description,
          message: "not \(wanted.rawValue) within \(timeout)"))
    }
  }
}
