/// One thing to do at a moment of an alarm's life.
public enum FeedbackAction: Sendable, Hashable, CustomStringConvertible {
  /// Run the program `argv[0]` with the arguments `argv[1...]`, without a shell. A name
  /// without a `/` is looked up in the runner's search path. The program gets the context's
  /// ``FeedbackContext/environment`` and `PATH`, standard input from `/dev/null`, and must end
  /// within `timeout`; after that its process group is sent `SIGTERM`, then `SIGKILL`.
  case command(argv: [String], timeout: Duration = .seconds(10))
  /// Drive the GPIO line at offset `line` of chip `chip` (a name as ``OutpostGPIO/GPIOChip``
  /// takes it) to `value`. The line is requested once and kept, so the value (a lit LED) holds
  /// after the hook returns.
  case gpio(chip: String, line: UInt32, value: Bool)
  /// Write `contents`, with the context's placeholders substituted (see
  /// ``FeedbackContext/substitute(in:)``), to the file at `path`, created if missing and
  /// truncated otherwise; written in place, so sysfs attributes such as
  /// `/sys/class/leds/…/brightness` work.
  case file(path: String, contents: String)

  /// The action as a log line shows it.
  public var description: String {
    switch self {
    case .command(let argv, let timeout):
      "command \(argv) (timeout \(timeout))"
    case .gpio(let chip, let line, let value):
      "GPIO \(chip) line \(line) = \(value ? 1 : 0)"
    case .file(let path, let contents):
      "file \(path) <- \(String(reflecting: contents))"
    }
  }
}
