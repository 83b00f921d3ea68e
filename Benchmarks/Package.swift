// swift-tools-version: 6.2
import PackageDescription

/// Swift 6 language mode, strict concurrency, warnings as errors, as in the root package.
let strict: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .treatAllWarnings(as: .error),
]

/// Benchmarks live in their own package so that GRDB (the SQLite contender) and the benchmark
/// harness never become dependencies of Outpost itself.
let package = Package(
  name: "outpost-benchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "outpost", path: ".."),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    // Allocation counts (`.mallocCountTotal`) for the WireCodec benchmark; the interposer trait
    // is what counts mallocs on Linux.
    .package(
      url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    // What every report prints the same way: fixed-point numbers, the machine and the date.
    .target(name: "BenchSupport", swiftSettings: strict),
    // statfs(2), which Swift's Glibc module does not export.
    .target(name: "CFileSystem"),
    // Journal durable append against raw pwrite+fdatasync and SQLite WAL (synchronous=FULL).
    .executableTarget(
      name: "journal-bench",
      dependencies: [
        "BenchSupport",
        "CFileSystem",
        .product(name: "OutpostCore", package: "outpost"),
        .product(name: "OutpostJournal", package: "outpost"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    // What the wire benchmarks send: seeded synthetic tracks, the mixed 256-record batch.
    .target(
      name: "WireWorkload",
      dependencies: [
        .product(name: "OutpostCore", package: "outpost"),
        .product(name: "OutpostTestKit", package: "outpost"),
        .product(name: "OutpostWire", package: "outpost"),
      ],
      swiftSettings: strict
    ),
    // Wire sizes (SOS datagram, batched tracks, Codec 8 and JT/T 808 beside them) and codec
    // speed. `make wire-bench`.
    .executableTarget(
      name: "wire-bench",
      dependencies: [
        "BenchSupport",
        "WireWorkload",
        .product(name: "OutpostCore", package: "outpost"),
        .product(name: "OutpostWire", package: "outpost"),
        .product(name: "OutpostGPS", package: "outpost"),
        .product(name: "OutpostTestKit", package: "outpost"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // Allocations and time per 256-record batch, encoded and decoded, through ordo-one's
    // benchmark harness: `swift package --package-path Benchmarks benchmark --target WireCodec`.
    .executableTarget(
      name: "WireCodec",
      dependencies: [
        "WireWorkload",
        .product(name: "OutpostCore", package: "outpost"),
        .product(name: "OutpostWire", package: "outpost"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Benchmark", package: "benchmark"),
      ],
      path: "Benchmarks/WireCodec",
      swiftSettings: strict,
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
  ]
)
