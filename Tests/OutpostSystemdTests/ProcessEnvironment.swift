import Glibc
import Testing

/// The tests that set process environment variables (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
/// `JOURNAL_STREAM`, ...). The environment is shared by the whole process, so every such test is
/// nested in this suite and the suite runs them one at a time; each restores what it changed.
@Suite(.serialized) struct ProcessEnvironmentTests {}

/// Sets (or, for `nil`, unsets) the variables in `values` for the duration of `body`, then
/// restores their previous values.
func withEnvironment<Result>(
  _ values: [String: String?],
  _ body: () throws -> Result
) rethrows -> Result {
  var saved: [String: String?] = [:]
  for (name, value) in values {
    saved[name] = getenv(name).map { String(cString: $0) }
    setEnvironment(name, value)
  }
  defer {
    for (name, value) in saved { setEnvironment(name, value) }
  }
  return try body()
}

private func setEnvironment(_ name: String, _ value: String?) {
  if let value {
    setenv(name, value, 1)
  } else {
    unsetenv(name)
  }
}
