import Glibc
import Logging
import NIOCore
import NIOPosix
import OutpostStore

/// What happens to an incident nobody acknowledged in time: the configured commands run with
/// the incident in `OUTPOST_*` variables, each webhook gets it as a JSON POST, and the store
/// records the escalation (audited) so it happens once.
final class Escalation: Sendable {
  let core: StationCore
  let eventLoops: any EventLoopGroup
  /// The higher station, when `[upstream]` is configured.
  let upstream: Upstream?

  init(core: StationCore, eventLoops: any EventLoopGroup, upstream: Upstream? = nil) {
    self.core = core
    self.eventLoops = eventLoops
    self.upstream = upstream
  }

  func escalate(_ incident: Incident) async {
    let settings = core.configuration.escalation
    var done: [String] = []
    for command in settings.commands {
      let status = await run(command, environment: Self.environment(incident))
      done.append("command \(command.first ?? ""): \(status)")
    }
    for url in settings.webhooks {
      let status = await post(url, body: Self.json(incident))
      done.append("webhook \(url): \(status)")
    }
    if let upstream {
      do {
        let seq = try await upstream.forward(incident)
        done.append("forwarded to the higher station as \(upstream.bundle.device) record \(seq)")
      } catch {
        done.append("forwarding to the higher station failed: \(error)")
      }
    }
    let detail = done.isEmpty ? "no hooks configured" : done.joined(separator: "; ")
    core.logger.critical(
      "\(StationCore.title(incident)): incident \(incident.id) not acknowledged after \(settings.afterSeconds) s, escalated (\(detail))",
      metadata: StationCore.metadata(incident, messageID: StationMessageID.escalated))
    do {
      try await core.store.markEscalated(
        id: incident.id, level: 1, detail: detail, atMs: wallClockMs())
    } catch {
      core.logger.error("could not record the escalation of incident \(incident.id): \(error)")
    }
  }

  static func environment(_ incident: Incident) -> [String: String] {
    var environment = [
      "OUTPOST_INCIDENT": "\(incident.id)", "OUTPOST_DEVICE": incident.device,
      "OUTPOST_KIND": incident.kind.rawValue, "OUTPOST_STATE": incident.state.rawValue,
      "OUTPOST_OPENED_MS": "\(incident.openedAtMs)", "OUTPOST_PRESSES": "\(incident.presses)",
    ]
    environment["OUTPOST_HOUSEHOLD"] = incident.household
    environment["OUTPOST_DETAIL"] = incident.detail
    if let position = incident.position {
      environment["OUTPOST_LATITUDE"] = Self.degrees(position.latitudeE7)
      environment["OUTPOST_LONGITUDE"] = Self.degrees(position.longitudeE7)
    }
    return environment
  }

  static func degrees(_ e7: Int32) -> String {
    let sign = e7 < 0 ? "-" : ""
    let magnitude = Int64(e7).magnitude
    let fraction = String(magnitude % 10_000_000)
    return
      "\(sign)\(magnitude / 10_000_000).\(String(repeating: "0", count: 7 - fraction.count))\(fraction)"
  }

  static func json(_ incident: Incident) -> String {
    func quoted(_ text: String) -> String {
      var out = "\""
      for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20: out += "\\u" + hex4(scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
      }
      return out + "\""
    }
    func hex4(_ value: UInt32) -> String {
      let text = String(value, radix: 16)
      return String(repeating: "0", count: 4 - text.count) + text
    }
    var fields = [
      "\"incident\":\(incident.id)", "\"device\":\(quoted(incident.device))",
      "\"kind\":\(quoted(incident.kind.rawValue))", "\"state\":\(quoted(incident.state.rawValue))",
      "\"opened_ms\":\(incident.openedAtMs)", "\"presses\":\(incident.presses)",
    ]
    if let household = incident.household { fields.append("\"household\":\(quoted(household))") }
    if let detail = incident.detail { fields.append("\"detail\":\(quoted(detail))") }
    if let position = incident.position {
      fields.append("\"latitude\":\(degrees(position.latitudeE7))")
      fields.append("\"longitude\":\(degrees(position.longitudeE7))")
    }
    return "{" + fields.joined(separator: ",") + "}"
  }

  /// Runs a command with `environment` added, waits at most 30 s; says how it ended.
  private func run(_ command: [String], environment: [String: String]) async -> String {
    guard !command.isEmpty else { return "empty command" }
    do {
      return try await NIOThreadPool.singleton.runIfActive {
        Self.spawnAndWait(command, environment)
      }
    } catch {
      return "could not run: \(error)"
    }
  }

  private static func spawnAndWait(_ command: [String], _ environment: [String: String]) -> String {
    var variables = ["PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"]
    variables += environment.map { "\($0.key)=\($0.value)" }
    var pid: pid_t = 0
    let argv = command.map { strdup($0) } + [nil]
    let envp = variables.map { strdup($0) } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    let spawned = posix_spawnp(&pid, command[0], nil, nil, argv, envp)
    guard spawned == 0 else { return "could not start (\(String(cString: strerror(spawned))))" }
    var status: Int32 = 0
    for _ in 0..<300 {
      if waitpid(pid, &status, WNOHANG) == pid {
        if status & 0x7f == 0 { return "exit \((status >> 8) & 0xff)" }
        return "killed by signal \(status & 0x7f)"
      }
      usleep(100_000)
    }
    kill(pid, SIGKILL)
    waitpid(pid, &status, 0)
    return "killed after 30 s"
  }

  /// POSTs `body` to an `http://HOST[:PORT]/PATH` URL; returns the status line or the failure.
  private func post(_ url: String, body: String) async -> String {
    guard let target = WebhookURL(url) else { return "not an http:// URL" }
    do {
      let channel = try await ClientBootstrap(group: eventLoops)
        .connectTimeout(.seconds(10))
        .connect(host: target.host, port: target.port) { channel in
          channel.eventLoop.makeCompletedFuture {
            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
          }
        }
      return try await channel.executeThenClose { inbound, outbound in
        let request =
          "POST \(target.path) HTTP/1.1\r\nHost: \(target.host)\r\nContent-Type: application/json\r\n"
          + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        try await outbound.write(ByteBuffer(string: request))
        var response = ""
        for try await chunk in inbound {
          response += String(buffer: chunk)
          if response.contains("\r\n") || response.utf8.count > 1024 { break }
        }
        return response.split(separator: "\r\n").first.map(String.init) ?? "no answer"
      }
    } catch {
      return "failed: \(error)"
    }
  }
}

struct WebhookURL {
  var host: String
  var port: Int
  var path: String

  init?(_ url: String) {
    guard url.hasPrefix("http://") else { return nil }
    let rest = url.dropFirst(7)
    let authority = rest.prefix { $0 != "/" }
    path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
    if let colon = authority.lastIndex(of: ":"),
      let port = Int(authority[authority.index(after: colon)...])
    {
      host = String(authority[..<colon])
      self.port = port
    } else {
      host = String(authority)
      port = 80
    }
    if host.isEmpty { return nil }
  }
}
