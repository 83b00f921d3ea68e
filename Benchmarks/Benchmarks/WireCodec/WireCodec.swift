import Benchmark
import NIOCore
import OutpostCore
import OutpostWire
import WireWorkload

/// The wire codec on wire-bench's mixed 256-record batch, measured by ordo-one's harness for
/// its allocation counts: every figure is per batch of 256 records (divide by 256 for one
/// record; `make wire-bench` also prints wire-bench's own per-record counts from the same
/// interposer). The journal's body coding of the same records is the baseline.
///
/// `swift package --package-path Benchmarks benchmark --target WireCodec`
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 10,
    maxDuration: .seconds(2),
    maxIterations: 1_000_000
  )

  let records = Workloads.mixedBatch()
  let bodies = records.map { try! RecordBody(kind: $0.kind, bytes: $0.body) }
  let message = WireMessage.batch(Batch(epoch: Workloads.epoch, records: records))
  let frame = try! StreamFrame.encode(message)

  Benchmark("wire encode, 256-record batch (StreamFrame.write)") { benchmark in
    // The output buffer is the pipeline's, made outside the measurement.
    var output = ByteBufferAllocator().buffer(capacity: frame.readableBytes)
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      output.clear()
      try! StreamFrame.write(message, into: &output)
      blackHole(output.readableBytes)
    }
    benchmark.stopMeasurement()
  }

  Benchmark("wire decode, 256-record batch (StreamFrame.decode)") { benchmark in
    for _ in benchmark.scaledIterations {
      var input = frame
      blackHole(try! StreamFrame.decode(from: &input))
    }
  }

  Benchmark("baseline: journal body encode, 256 records (RecordBody.encoded)") { benchmark in
    for _ in benchmark.scaledIterations {
      for body in bodies { blackHole(body.encoded()) }
    }
  }

  Benchmark("baseline: journal body decode, 256 records (RecordBody(kind:bytes:))") {
    benchmark in
    for _ in benchmark.scaledIterations {
      for record in records { blackHole(try! RecordBody(kind: record.kind, bytes: record.body)) }
    }
  }
}
