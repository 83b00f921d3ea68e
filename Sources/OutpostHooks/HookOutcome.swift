import Glibc
import OutpostGPIO

/// How one action of a hook ran.
public struct HookOutcome: Sendable, Hashable {
  /// The action.
  public var action: FeedbackAction
  /// The moment it ran for.
  public var moment: FeedbackMoment
  /// Why it failed; nil when it did what it was configured to do (a command exited with
  /// status 0, the line was set, the file was written).
  public var failure: HookFailure?
  /// The last few hundred bytes a failed command wrote to standard output and standard error,
  /// trimmed; empty otherwise.
  public var outputTail: String

  /// An outcome with these fields.
  public init(
    action: FeedbackAction, moment: FeedbackMoment, failure: HookFailure?, outputTail: String = ""
  ) {
    self.action = action
    self.moment = moment
    self.failure = failure
    self.outputTail = outputTail
  }

  /// Whether the action succeeded.
  public var succeeded: Bool { failure == nil }
}

/// Why a hook's action failed, with a ``description`` that says what to do. Two failures are
/// equal when their reason is the same, which is what repeated failures are logged once by.
public enum HookFailure: Error, Sendable, Hashable, CustomStringConvertible {
  /// The command's argv is empty.
  case emptyCommand
  /// No executable file named `name` is in any directory of `searchPath`.
  case commandNotFound(name: String, searchPath: String)
  /// `posix_spawn` of `executable` failed with `errno` (`ENOENT`: no such file; `EACCES`:
  /// not executable; `ENOEXEC`: not a program).
  case spawnFailed(executable: String, errno: Int32)
  /// The command exited with a status other than 0.
  case exited(status: Int32)
  /// The command was killed by `signal`, not by the runner.
  case signalled(signal: Int32)
  /// The command ran past its timeout and was killed: `SIGTERM` to its process group, and
  /// `SIGKILL` when it outlived the grace period too.
  case timedOut(after: Duration, killedWith: Int32)
  /// `waitpid` failed with `errno` (`ECHILD`: someone else reaped the child, e.g. `SIGCHLD`
  /// is ignored), so how the command ended is unknown.
  case waitFailed(errno: Int32)
  /// The task running the hooks was cancelled; the command was killed.
  case cancelled
  /// The GPIO line could not be requested or set.
  case gpio(GPIOError)
  /// `operation` (`open`, `write`, `close`) on the file at `path` failed with `errno`.
  case file(path: String, operation: String, errno: Int32)

  /// What went wrong and what to do, in words an administrator can act on.
  public var description: String {
    switch self {
    case .emptyCommand:
      return "the command is empty; give the program to run and its arguments"
    case .commandNotFound(let name, let searchPath):
      return "no executable \"\(name)\" in \(searchPath); install it or give its absolute path"
    case .spawnFailed(let executable, let errno):
      let advice =
        switch errno {
        case ENOENT: "the file does not exist; fix the path or install the program"
        case EACCES: "it is not executable by the agent's user; check its mode and directories"
        case ENOEXEC: "it is not a program the kernel can run; add a #! line to a script"
        default: "check the program"
        }
      return "cannot start \(executable): \(Self.errnoText(errno)); \(advice)"
    case .exited(let status):
      return "the command exited with status \(status); run it by hand with the OUTPOST_* "
        + "variables set to see why"
    case .signalled(let signal):
      return "the command was killed by \(Self.signalName(signal)), not by the agent"
    case .timedOut(let after, let killedWith):
      return "the command ran longer than its timeout of \(after) and was killed with "
        + "\(Self.signalName(killedWith)); make it return sooner (start long work in the "
        + "background) or raise the timeout"
    case .waitFailed(let errno):
      return "cannot learn how the command ended: waitpid failed with \(Self.errnoText(errno)); "
        + "is SIGCHLD ignored in the agent?"
    case .cancelled:
      return "the agent stopped running hooks (shutting down); the command was killed"
    case .gpio(let error):
      return error.description
    case .file(let path, let operation, let errno):
      let advice =
        switch errno {
        case ENOENT: "the directory does not exist; create it or fix the path"
        case EACCES, EPERM:
          "the agent's user may not write it; fix its owner or mode (a udev rule for sysfs)"
        case EINVAL: "the file refused these contents (a sysfs attribute takes only some values)"
        case EROFS: "it is on a read-only file system; allow it in the unit's ReadWritePaths="
        case EISDIR: "it is a directory; name a file"
        default: "check the path"
        }
      return "\(operation) \(path) failed: \(Self.errnoText(errno)); \(advice)"
    }
  }

  static func errnoText(_ errno: Int32) -> String {
    "\(String(cString: strerror(errno))) (errno \(errno))"
  }

  static func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGTERM: "SIGTERM"
    case SIGKILL: "SIGKILL"
    case SIGINT: "SIGINT"
    case SIGHUP: "SIGHUP"
    case SIGPIPE: "SIGPIPE"
    case SIGSEGV: "SIGSEGV"
    case SIGABRT: "SIGABRT"
    default: "signal \(signal)"
    }
  }
}
