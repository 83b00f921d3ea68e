import Glibc
import Testing

/// The tests that set process environment variables (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
/// `JOURNAL_STREAM`, ...). The environment is shared by the whole process, so every such test is
/// nested in this suite and the suite runs them one at a time; each restores what it changed.
@Suite(.serialized) struct ProcessEnvironmentTests {}

/// Variables set (or, for `nil`, unset) by a test, and what they were before.
///
/// Call ``restore()`` in a `defer` right after creating it, so the next test sees the
/// environment as it was.
struct EnvironmentOverride {
  private var saved: [(name: String, value: String?)] = []

  /// Sets every variable in `values`, remembering the previous values.
  init(_ values: KeyValuePairs<String, String?>) {
    for (name, value) in values {
      saved.append((name, getenv(name).map { String(cString: $0) }))
      Self.set(name, value)
    }
  }

  /// Puts back the values the variables had before ``init(_:)``.
  func restore() {
    for (name, value) in saved.reversed() { Self.set(name, value) }
  }

  private static func set(_ name: String, _ value: String?) {
    if let value {
      setenv(name, value, 1)
    } else {
      unsetenv(name)
    }
  }
}
