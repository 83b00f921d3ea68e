import Glibc
import OutpostSystemd
import Testing

extension ProcessEnvironmentTests {
  @Suite struct WatchdogIntervalTests {
    let notifier = SystemdNotifier()

    @Test func isHalfOfWatchdogUsecForThisProcess() throws {
      let environment = EnvironmentOverride([
        "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "\(getpid())",
      ])
      defer { environment.restore() }
      #expect(try notifier.watchdogInterval() == .seconds(2))
    }

    @Test func keepsSubMicrosecondPrecisionWhenHalving() throws {
      let environment = EnvironmentOverride(["WATCHDOG_USEC": "3", "WATCHDOG_PID": nil])
      defer { environment.restore() }
      #expect(try notifier.watchdogInterval() == .nanoseconds(1500))
    }

    @Test func isNilWhenTheWatchdogIsMeantForAnotherProcess() throws {
      let environment = EnvironmentOverride([
        "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "\(getpid() + 1)",
      ])
      defer { environment.restore() }
      #expect(try notifier.watchdogInterval() == nil)
    }

    @Test func isNilWithoutWatchdogUsec() throws {
      let environment = EnvironmentOverride(["WATCHDOG_USEC": nil, "WATCHDOG_PID": "\(getpid())"])
      defer { environment.restore() }
      #expect(try notifier.watchdogInterval() == nil)
    }

    @Test(arguments: [("soon", EINVAL), ("0", EINVAL), ("-5", ERANGE)])
    func malformedWatchdogUsecThrows(value: String, errno: Int32) {
      let environment = EnvironmentOverride(["WATCHDOG_USEC": value, "WATCHDOG_PID": "\(getpid())"])
      defer { environment.restore() }
      #expect(throws: SystemdError(.watchdog, errno: errno)) {
        try notifier.watchdogInterval()
      }
    }
  }
}
