import Glibc
import Logging
import NIOCore
import NIOPosix
import OutpostGPS
import Synchronization

/// Hands fixes to the recorder (for alarms and the clock) and records the ones the position
/// policy picks. Shared by both GPS sources.
final class FixSink: Sendable {
  private let recorder: Recorder
  private let policy: Mutex<PositionPolicy>
  private let logger: Logger
  private let name: String

  init(name: String, recorder: Recorder, settings: PositionSettings, logger: Logger) {
    self.name = name
    self.recorder = recorder
    policy = Mutex(PositionPolicy(settings))
    self.logger = logger
  }

  func take(_ fix: GPSFix) async {
    await recorder.fix(fix)
    let now = recorder.clock.sinceBootMs()
    guard policy.withLock({ $0.shouldRecord(fix, atMs: now) }) else { return }
    do {
      try await recorder.routine(.position(fix.position))
    } catch {
      // The recorder logs journal failures; nothing more to do for a routine position.
    }
  }
}

/// Reports garbage on a GPS line without flooding the log: the first rejection, then a count
/// at most every ten minutes.
struct RejectionLog: Sendable {
  private var reported = 0
  private var lastReportMs: Int64 = .min

  mutating func update(rejected: Int, last: String?, source: String, logger: Logger) {
    guard rejected > reported else { return }
    let now = monotonicNowMs()
    if reported == 0 || now - lastReportMs >= 600_000 {
      logger.warning(
        "\(source): \(rejected - reported) malformed line(s) skipped\(last.map { "; last: \($0)" } ?? "")",
        metadata: ["source": "\(source)"])
      reported = rejected
      lastReportMs = now
    }
  }
}

/// Raw NMEA 0183 from a serial receiver: the port is opened raw at the configured baud rate;
/// checksums are verified, GGA/RMC/GSA/GNS of any talker are assembled into fixes, and junk,
/// partial lines and bad checksums are skipped and counted.
struct SerialNMEASource: FieldSource {
  let path: String
  let baud: Int
  let recorder: Recorder
  let sink: FixSink
  let eventLoops: any EventLoopGroup
  let logger: Logger

  var name: String { "gps:\(path)" }

  func run(firstAttempt: @escaping @Sendable () -> Void) async throws {
    let loop = DeviceLoop(name: name, recorder: recorder, eventLoops: eventLoops, logger: logger)
    let path = path
    let baud = baud
    let sink = sink
    let name = name
    let logger = logger
    await loop.run(firstAttempt: firstAttempt) {
      let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
      guard fd >= 0 else { throw AgentError.system("open", path: path, errno: errno) }
      if isatty(fd) == 1 {
        do {
          try SerialPort.configureRaw(fd, baud: baud, path: path)
        } catch {
          close(fd)
          throw error
        }
      }
      return (fd, {})
    } session: { chunks in
      var reader = NMEAReader()
      var rejections = RejectionLog()
      for try await chunk in chunks {
        for fix in reader.feed(chunk.readableBytesView) { await sink.take(fix) }
        rejections.update(
          rejected: reader.rejectedLines + reader.malformedSentences,
          last: reader.lastRejection.map { "\($0)" }, source: name, logger: logger)
      }
      if let fix = reader.finish() { await sink.take(fix) }
    }
  }
}

/// The serial port settings NMEA receivers need.
enum SerialPort {
  /// Raw 8N1 at `baud`, no flow control, no echo, no line editing.
  static func configureRaw(_ fd: Int32, baud: Int, path: String) throws(AgentError) {
    var settings = termios()
    guard tcgetattr(fd, &settings) == 0 else {
      throw AgentError.system("tcgetattr", path: path, errno: errno)
    }
    cfmakeraw(&settings)
    settings.c_cflag |= tcflag_t(CLOCAL | CREAD)
    let speeds: [Int: Int32] = [
      4800: B4800, 9600: B9600, 19200: B19200, 38400: B38400, 57600: B57600,
      115_200: B115200, 230_400: B230400, 460_800: B460800, 921_600: B921600,
    ]
    guard let speed = speeds[baud] else { throw AgentError("\(path): unsupported baud \(baud)") }
    cfsetispeed(&settings, speed_t(speed))
    cfsetospeed(&settings, speed_t(speed))
    guard tcsetattr(fd, TCSANOW, &settings) == 0 else {
      throw AgentError.system("tcsetattr", path: path, errno: errno)
    }
  }
}

/// gpsd's JSON protocol over TCP: connect, ask to watch, read TPV and SKY reports; reconnect
/// with backoff when gpsd is not there or restarts.
struct GPSDSource: FieldSource {
  let host: String
  let port: Int
  let recorder: Recorder
  let sink: FixSink
  let eventLoops: any EventLoopGroup
  let logger: Logger

  var name: String { "gps:gpsd" }

  func run(firstAttempt: @escaping @Sendable () -> Void) async throws {
    let loop = DeviceLoop(name: name, recorder: recorder, eventLoops: eventLoops, logger: logger)
    let (host, port, eventLoops) = (host, port, eventLoops)
    let (sink, name, logger) = (sink, name, logger)
    let place = "gpsd at \(host):\(port)"
    await loop.run(firstAttempt: firstAttempt, ended: "gpsd closed the connection (restarting?)") {
      do {
        return try await ClientBootstrap(group: eventLoops)
          .connectTimeout(.seconds(5))
          .connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
              try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
          }
      } catch {
        throw AgentError("\(place): \(error)")
      }
    } session: { channel in
      do {
        try await channel.executeThenClose { inbound, outbound in
          try await outbound.write(ByteBuffer(string: GPSDCommand.watch))
          var reader = GPSDReader()
          var rejections = RejectionLog()
          for try await chunk in inbound {
            for fix in reader.feed(chunk.readableBytesView) { await sink.take(fix) }
            rejections.update(
              rejected: reader.rejectedLines, last: reader.lastRejection.map { "\($0)" },
              source: name, logger: logger)
          }
          // The last epoch's fix is complete when gpsd goes away.
          if let fix = reader.finish() { await sink.take(fix) }
        }
      } catch is CancellationError {
        throw CancellationError()
      } catch {
        throw AgentError("\(place): \(error)")
      }
    }
  }
}
