#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Allocation counts from ordo-one's malloc interposer (`libMallocInterposerSwift.so`, built
/// with the WireCodec benchmark), when it is preloaded (`LD_PRELOAD`, as `make wire-bench` and
/// ordo-one's benchmark plugin do). Its counters are found with `dlsym`, so that wire-bench
/// never links it: the speed runs go through the plain system allocator.
struct MallocCounter {
  private typealias Toggle = @convention(c) () -> Void
  private typealias Stats =
    @convention(c) (
      UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?,
      UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?, UnsafeMutablePointer<Int64>?
    ) -> Void

  private let enable: Toggle
  private let disable: Toggle
  private let reset: Toggle
  private let stats: Stats

  /// Nil unless the interposer is loaded.
  init?() {
    func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(nil, name) }
    guard let enable = symbol("malloc_interposer_enable"),
      let disable = symbol("malloc_interposer_disable"),
      let reset = symbol("malloc_interposer_reset"),
      let stats = symbol("malloc_interposer_get_stats")
    else { return nil }
    self.enable = unsafeBitCast(enable, to: Toggle.self)
    self.disable = unsafeBitCast(disable, to: Toggle.self)
    self.reset = unsafeBitCast(reset, to: Toggle.self)
    self.stats = unsafeBitCast(stats, to: Stats.self)
  }

  /// Mallocs (malloc, calloc, growing realloc, aligned allocations) and requested bytes during
  /// `body`.
  func count(_ body: () -> Void) -> (mallocs: Int, bytes: Int) {
    reset()
    enable()
    body()
    disable()
    // The interposer writes all six counters; none may be nil.
    var mallocs: Int64 = 0
    var bytes: Int64 = 0
    var small: Int64 = 0
    var large: Int64 = 0
    var frees: Int64 = 0
    var freedBytes: Int64 = 0
    stats(&mallocs, &bytes, &small, &large, &frees, &freedBytes)
    return (Int(mallocs), Int(bytes))
  }
}
