import Glibc
import OutpostInput

/// Reading the configuration file.
public enum ConfigFile {
  /// The file does not exist.
  public struct Missing: Error, CustomStringConvertible {
    public var path: String
    public var description: String { "\(path): no such file" }
  }

  /// The file's text.
  ///
  /// - Throws: ``Missing`` when there is no such file; ``AgentError`` when it cannot be read
  ///   (permissions) or is not UTF-8.
  public static func read(_ path: String) throws -> String {
    guard access(path, F_OK) == 0 else { throw Missing(path: path) }
    let text = try readSmallFile(path, limit: 1 << 20)
    guard text.utf8.count < 1 << 20 else {
      throw AgentError("\(path): larger than 1 MiB; is this the configuration file?")
    }
    return text
  }
}

/// What `outpostd --check-config` prints after `OK`: the settings that decide what the agent
/// will do, so an administrator can see that the file says what they meant.
public enum ConfigSummary {
  public static func text(_ c: AgentConfiguration) -> String {
    var lines = [
      "device \(c.device)",
      "journal \(c.journalPath), \(c.journal.size) bytes, group commit \(c.journal.groupCommit)",
      "control socket \(c.controlSocketPath) (group \(c.control.group ?? "own"))",
      "alarm: presses join an incident for \(c.alarm.joinWindow), "
        + "at most one SOS record per \(c.alarm.recordInterval)",
    ]
    for input in c.inputDevices {
      let keys = input.keys.sorted { $0.key < $1.key }.map { "\(KeyName.of($0.key))=\($0.value)" }
      let long = input.longPressKeys.sorted { $0.key < $1.key }.map {
        "\(KeyName.of($0.key))(long)=\($0.value)"
      }
      lines.append("input \(input.device): \((keys + long).joined(separator: " "))")
    }
    for gpio in c.gpioButtons {
      var roles: [String] = []
      if let role = gpio.role { roles.append("press=\(role)") }
      if let role = gpio.longRole { roles.append("long=\(role)") }
      lines.append("gpio \(gpio.chip) line \(gpio.line): \(roles.joined(separator: " "))")
    }
    for reader in c.cardReaders {
      lines.append("card reader \(reader.device) (ids \(reader.minLength)-\(reader.maxLength))")
    }
    switch c.gps {
    case .gpsd(let host, let port): lines.append("gps: gpsd at \(host):\(port)")
    case .serial(let path, let baud): lines.append("gps: NMEA on \(path) at \(baud) baud")
    case nil: lines.append("gps: none")
    }
    for sensor in c.sensors {
      var line =
        "sensor \(sensor.name): \(sensor.format.rawValue) \(sensor.path) every \(sensor.period)"
      if let alarm = sensor.alarm {
        line +=
          ", \(alarm.kind) alarm \(alarm.threshold.direction) \(alarm.threshold.raiseAt) "
          + "(clears at \(alarm.threshold.clearAt)) milli-units"
      }
      lines.append(line)
    }
    lines.append("health record every \(c.health.interval)")
    for hook in c.feedback {
      let moments = hook.moments.map(\.rawValue).sorted().joined(separator: ",")
      lines.append("feedback on \(moments): \(hook.action)")
    }
    return lines.joined(separator: "\n")
  }
}

/// Key names for summaries.
enum KeyName {
  static func of(_ code: UInt16) -> String { KeyCode.name(of: code) }
}
