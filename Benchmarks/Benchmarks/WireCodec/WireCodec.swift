import Benchmark

let benchmarks: @Sendable () -> Void = {
  Benchmark("noop", configuration: .init(metrics: [.mallocCountTotal])) { benchmark in
    for _ in benchmark.scaledIterations { blackHole(1) }
  }
}
