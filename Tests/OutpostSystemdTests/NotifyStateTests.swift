import OutpostSystemd
import Testing

@Suite struct NotifyStateTests {
  @Test func rendersEachAssignmentAsSdNotifyDocumentsIt() {
    let expected: [(NotifyState, String)] = [
      (.ready, "READY=1"),
      (.reloading, "RELOADING=1"),
      (.stopping, "STOPPING=1"),
      (.status("3 pending, link up"), "STATUS=3 pending, link up"),
      (.errno(28), "ERRNO=28"),
      (.mainPID(1234), "MAINPID=1234"),
      (.watchdog, "WATCHDOG=1"),
      (.watchdogTrigger, "WATCHDOG=trigger"),
      (.watchdogTimeout(.seconds(30)), "WATCHDOG_USEC=30000000"),
      (.extendTimeout(.milliseconds(1500)), "EXTEND_TIMEOUT_USEC=1500000"),
      (.monotonicTimestamp(.microseconds(987_654_321)), "MONOTONIC_USEC=987654321"),
    ]
    for (state, rendered) in expected {
      #expect(state.rendered == rendered)
    }
  }

  @Test func replacesEveryLineBreakAndNulInStatusWithOneSpace() {
    #expect(NotifyState.status("a\nb").rendered == "STATUS=a b")
    #expect(NotifyState.status("a\r\nb").rendered == "STATUS=a  b")
    #expect(NotifyState.status("a\0b").rendered == "STATUS=a b")
    #expect(NotifyState.status("a\u{2028}b\u{85}c").rendered == "STATUS=a b c")
    #expect(NotifyState.status("\nREADY=1").rendered == "STATUS= READY=1")
    #expect(NotifyState.status("ünïcode ok").rendered == "STATUS=ünïcode ok")
  }

  @Test func roundsDurationsDownToMicrosecondsAndClampsNegativeToZero() {
    #expect(NotifyState.extendTimeout(.nanoseconds(1999)).rendered == "EXTEND_TIMEOUT_USEC=1")
    #expect(NotifyState.extendTimeout(.seconds(-1)).rendered == "EXTEND_TIMEOUT_USEC=0")
    #expect(NotifyState.extendTimeout(.milliseconds(-1)).rendered == "EXTEND_TIMEOUT_USEC=0")
    #expect(
      NotifyState.watchdogTimeout(.seconds(Int64.max)).rendered
        == "WATCHDOG_USEC=\(UInt64.max)")
  }

  @Test func joinsStatesWithNewlines() {
    #expect(NotifyState.message([.ready, .status("3 pending")]) == "READY=1\nSTATUS=3 pending")
    #expect(NotifyState.message([]) == "")
  }
}
