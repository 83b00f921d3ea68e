import Glibc
import OutpostSystemd
import Testing

extension ProcessEnvironmentTests {
  @Suite struct WatchdogIntervalTests {
    let notifier = SystemdNotifier()

    @Test func isHalfOfWatchdogUsecForThisProcess() throws {
      try withEnvironment(["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "\(getpid())"]) {
        #expect(try notifier.watchdogInterval() == .seconds(2))
      }
    }

    @Test func keepsSubMicrosecondPrecisionWhenHalving() throws {
      try withEnvironment(["WATCHDOG_USEC": "3", "WATCHDOG_PID": nil]) {
        #expect(try notifier.watchdogInterval() == .nanoseconds(1500))
      }
    }

    @Test func isNilWhenTheWatchdogIsMeantForAnotherProcess() throws {
      try withEnvironment(["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "\(getpid() + 1)"]) {
        #expect(try notifier.watchdogInterval() == nil)
      }
    }

    @Test func isNilWithoutWatchdogUsec() throws {
      try withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": "\(getpid())"]) {
        #expect(try notifier.watchdogInterval() == nil)
      }
    }

    @Test(arguments: ["soon", "0", "-5"])
    func malformedWatchdogUsecThrows(value: String) {
      withEnvironment(["WATCHDOG_USEC": value, "WATCHDOG_PID": "\(getpid())"]) {
        #expect(throws: SystemdError(.watchdog, errno: EINVAL)) {
          try notifier.watchdogInterval()
        }
      }
    }
  }
}
