/// Bytes from gpsd's socket in, fixes out, with counts of what was skipped: the whole gpsd path,
/// as ``NMEAReader`` is the whole path of a serial receiver. Send ``GPSDCommand/watch`` after
/// connecting; feed what the socket delivers; call ``finish()`` when the connection ends.
public struct GPSDReader: Sendable {
  private var splitter: LineSplitter
  private var tracker = GPSDFixTracker()
  /// Lines that were not reports (not JSON, no class, a bad member), each skipped alone.
  public private(set) var rejectedLines = 0
  /// The last reason a line was rejected, for a log line that says why.
  public private(set) var lastRejection: GPSDReportError?
  /// gpsd's `VERSION`, once it has been seen on this connection.
  public private(set) var version: GPSDVersion?
  /// The message of the last `ERROR` report (gpsd did not understand a command we sent).
  public private(set) var lastErrorMessage: String?

  /// A reader for a new connection, keeping lines up to `maxLineBytes` bytes.
  public init(maxLineBytes: Int = LineSplitter.gpsdMaxLineBytes) {
    splitter = LineSplitter(maxLineBytes: maxLineBytes)
  }

  /// Lines dropped for length by the splitter.
  public var overlongLines: Int { splitter.overlongLines }
  /// TPV reports that were not a fix.
  public var reportsWithoutFix: Int { tracker.reportsWithoutFix }

  /// Feeds bytes as they came from the socket; returns the fixes of the epochs they completed.
  public mutating func feed(_ bytes: some Sequence<UInt8>) -> [GPSFix] {
    var fixes: [GPSFix] = []
    for line in splitter.feed(bytes) {
      if let fix = feed(line: line) { fixes.append(fix) }
    }
    return fixes
  }

  /// Feeds one line (without its line ending); returns the fix of the epoch it completed.
  public mutating func feed(line: String) -> GPSFix? {
    do throws(GPSDReportError) {
      let report = try GPSDReport(line: line)
      switch report {
      case .version(let value): version = value
      case .error(let message): lastErrorMessage = message
      default: break
      }
      return tracker.add(report)
    } catch {
      rejectedLines += 1
      lastRejection = error
      return nil
    }
  }

  /// Ends the current epoch (the connection closed); returns its fix, if it had one.
  public mutating func finish() -> GPSFix? { tracker.finish() }
}
