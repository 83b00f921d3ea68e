// swift-tools-version: 6.2
import PackageDescription

/// Benchmarks live in their own package so that GRDB (the SQLite contender) never becomes a
/// dependency of Outpost itself.
let package = Package(
  name: "outpost-benchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "outpost", path: ".."),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
  ],
  targets: [
    // statfs(2), which Swift's Glibc module does not export.
    .target(name: "CFileSystem"),
    // Journal durable append against raw pwrite+fdatasync and SQLite WAL (synchronous=FULL).
    .executableTarget(
      name: "journal-bench",
      dependencies: [
        "CFileSystem",
        .product(name: "OutpostCore", package: "outpost"),
        .product(name: "OutpostJournal", package: "outpost"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: [
        .swiftLanguageMode(.v6),
        .enableUpcomingFeature("ExistentialAny"),
        .treatAllWarnings(as: .error),
      ]
    ),
  ]
)
