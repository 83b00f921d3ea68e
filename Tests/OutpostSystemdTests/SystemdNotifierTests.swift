import Glibc
import OutpostSystemd
import OutpostTestKit
import Testing

extension ProcessEnvironmentTests {
  /// Each test binds its own datagram socket, points `NOTIFY_SOCKET` at it, and reads back the
  /// exact bytes `sd_notify` sent.
  @Suite struct SystemdNotifierTests {
    let notifier = SystemdNotifier()

    @Test func readyWithStatusArrivesAsOneDatagram() throws {
      let listener = try NotifyListener()
      let environment = EnvironmentOverride(["NOTIFY_SOCKET": listener.notifySocket])
      defer { environment.restore() }

      #expect(notifier.isEnabled)
      #expect(try notifier.ready(status: "3 pending"))

      #expect(listener.receive() == "READY=1\nSTATUS=3 pending")
      #expect(listener.receiveIfQueued() == nil)
    }

    @Test func reachesAnAbstractSocketNamedWithAtSign() throws {
      let listener = try NotifyListener(abstract: true)
      let environment = EnvironmentOverride(["NOTIFY_SOCKET": listener.notifySocket])
      defer { environment.restore() }

      #expect(listener.notifySocket.hasPrefix("@"))
      #expect(try notifier.status("link up, 0 pending"))

      #expect(listener.receive() == "STATUS=link up, 0 pending")
    }

    @Test func statusCannotInjectAnotherAssignment() throws {
      let listener = try NotifyListener()
      let environment = EnvironmentOverride(["NOTIFY_SOCKET": listener.notifySocket])
      defer { environment.restore() }

      try notifier.status("1 pending\nREADY=1\r\nWATCHDOG=1")

      let message = try #require(listener.receive())
      #expect(message == "STATUS=1 pending READY=1  WATCHDOG=1")
      #expect(!message.contains("\n"))
    }

    @Test func conveniencesSendTheirAssignmentInOrder() throws {
      let listener = try NotifyListener()
      let environment = EnvironmentOverride(["NOTIFY_SOCKET": listener.notifySocket])
      defer { environment.restore() }

      try notifier.watchdog()
      try notifier.stopping()
      try notifier.mainPID(4242)
      try notifier.errno(EIO)
      try notifier.notify([.status("draining"), .extendTimeout(.seconds(90))])

      #expect(listener.receive() == "WATCHDOG=1")
      #expect(listener.receive() == "STOPPING=1")
      #expect(listener.receive() == "MAINPID=4242")
      #expect(listener.receive() == "ERRNO=5")
      #expect(listener.receive() == "STATUS=draining\nEXTEND_TIMEOUT_USEC=90000000")
      #expect(listener.receiveIfQueued() == nil)
    }

    @Test func reloadingCarriesTheCurrentMonotonicTime() throws {
      let listener = try NotifyListener()
      let environment = EnvironmentOverride(["NOTIFY_SOCKET": listener.notifySocket])
      defer { environment.restore() }

      let before = monotonicMicroseconds()
      try notifier.reloading()
      let after = monotonicMicroseconds()

      let message = try #require(listener.receive())
      let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
      #expect(lines.count == 2)
      #expect(lines.first == "RELOADING=1")
      let last = try #require(lines.last)
      #expect(last.hasPrefix("MONOTONIC_USEC="))
      let stamp = try #require(UInt64(last.dropFirst("MONOTONIC_USEC=".count)))
      #expect(before <= stamp && stamp <= after)
    }

    @Test(arguments: [nil, ""] as [String?])
    func sendsNothingWithoutNotifySocket(value: String?) throws {
      let listener = try NotifyListener()
      let environment = EnvironmentOverride(["NOTIFY_SOCKET": value])
      defer { environment.restore() }

      #expect(!notifier.isEnabled)
      #expect(try !notifier.ready())
      #expect(try !notifier.watchdog())

      #expect(listener.receiveIfQueued() == nil)
    }

    @Test func emptyStateListSendsNothing() throws {
      let listener = try NotifyListener()
      let environment = EnvironmentOverride(["NOTIFY_SOCKET": listener.notifySocket])
      defer { environment.restore() }

      #expect(try !notifier.notify([]))

      #expect(listener.receiveIfQueued() == nil)
    }

    @Test func unreachableSocketThrowsWithErrno() {
      let environment = EnvironmentOverride(["NOTIFY_SOCKET": "/nonexistent/outpost/notify"])
      defer { environment.restore() }

      #expect(notifier.isEnabled)
      #expect(throws: SystemdError(.notify, errno: ENOENT)) {
        try notifier.ready()
      }
    }

    private func monotonicMicroseconds() -> UInt64 {
      var now = timespec()
      clock_gettime(CLOCK_MONOTONIC, &now)
      return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
  }
}
