#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// µs of `CLOCK_MONOTONIC`: the clock every process on a machine shares, for times one process
/// reports and another compares (the agent's ack receipt against `outpostctl`'s press).
public func monotonicMicros() -> UInt64 {
  var now = timespec()
  clock_gettime(CLOCK_MONOTONIC, &now)
  return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
}
