import NIOCore
import OutpostCore
import OutpostWire
import WireWorkload

/// The operations timed and counted: a 256-record batch encoded into and decoded from the
/// stream form, and, as the baseline in the same process, the journal's own body coding of the
/// same records.
struct CodecWorkload {
  let records: [WireRecord]
  let bodies: [RecordBody]
  let message: WireMessage
  let frame: ByteBuffer
  var output: ByteBuffer

  init() throws(BenchError) {
    records = Workloads.mixedBatch()
    var bodies: [RecordBody] = []
    for record in records {
      do {
        bodies.append(try RecordBody(kind: record.kind, bytes: record.body))
      } catch {
        throw BenchError("workload body of seq \(record.seq) does not decode: \(error)")
      }
    }
    self.bodies = bodies
    let batch = Batch(epoch: Workloads.epoch, records: records)
    message = .batch(batch)
    frame = try Outpost.streamFrame(batch)
    output = ByteBufferAllocator().buffer(capacity: frame.readableBytes)
  }

  var count: Int { records.count }

  /// The kinds in the batch, for the report.
  var mix: String {
    var counts: [(String, Int)] = []
    for record in records {
      let name = record.kind.description
      if let index = counts.firstIndex(where: { $0.0 == name }) {
        counts[index].1 += 1
      } else {
        counts.append((name, 1))
      }
    }
    return counts.sorted { $0.1 > $1.1 }.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
  }

  /// The operations, each handling the whole batch once per call.
  enum Operation: CaseIterable {
    case wireEncode
    case wireDecode
    case bodyEncode
    case bodyDecode

    var label: String {
      switch self {
      case .wireEncode: "wire encode: `StreamFrame.write(.batch)` into a reused buffer"
      case .wireDecode: "wire decode: `StreamFrame.decode`"
      case .bodyEncode: "baseline: journal body encode, `RecordBody.encoded()` × 256"
      case .bodyDecode: "baseline: journal body decode, `RecordBody(kind:bytes:)` × 256"
      }
    }
  }

  mutating func run(_ operation: Operation) {
    switch operation {
    case .wireEncode:
      output.clear()
      try! StreamFrame.write(message, into: &output)
      consume(output.readableBytes)
    case .wireDecode:
      var input = frame
      let message = try! StreamFrame.decode(from: &input)
      consume(message)
    case .bodyEncode:
      for body in bodies { consume(body.encoded()) }
    case .bodyDecode:
      for record in records { consume(try! RecordBody(kind: record.kind, bytes: record.body)) }
    }
  }
}

/// Records per second of each operation: `runs` timed runs of a fixed number of batches
/// (calibrated to last about `runSeconds`), the median reported with the spread.
struct SpeedResult {
  var operation: CodecWorkload.Operation
  var batchesPerRun: Int
  var recordsPerSecond: [Double]

  var median: Double { medianOf(recordsPerSecond) }
}

enum Speed {
  static func measure(
    _ workload: inout CodecWorkload, runs: Int, runSeconds: Double
  ) -> [SpeedResult] {
    let clock = ContinuousClock()
    var results: [SpeedResult] = []
    for operation in CodecWorkload.Operation.allCases {
      // Calibrate (and warm up): how many batches take about 50 ms.
      var batches = 0
      let start = clock.now
      while (clock.now - start).seconds < 0.05 {
        workload.run(operation)
        batches += 1
      }
      let perBatch = (clock.now - start).seconds / Double(batches)
      let batchesPerRun = max(1, Int(runSeconds / perBatch))
      var rates: [Double] = []
      for _ in 0..<runs {
        let runStart = clock.now
        for _ in 0..<batchesPerRun { workload.run(operation) }
        let elapsed = (clock.now - runStart).seconds
        rates.append(Double(batchesPerRun * workload.count) / elapsed)
      }
      results.append(
        SpeedResult(operation: operation, batchesPerRun: batchesPerRun, recordsPerSecond: rates))
    }
    return results
  }
}
