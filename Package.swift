// swift-tools-version: 6.2
import PackageDescription

/// Every target of ours builds in Swift 6 language mode with strict concurrency and treats
/// warnings as errors.
let strict: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .treatAllWarnings(as: .error),
]

let package = Package(
  name: "outpost",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "outpostctl", targets: ["outpostctl"]),
    .library(name: "OutpostCore", targets: ["OutpostCore"]),
    .library(name: "OutpostJournal", targets: ["OutpostJournal"]),
    .library(name: "OutpostSystemd", targets: ["OutpostSystemd"]),
    .library(name: "OutpostWire", targets: ["OutpostWire"]),
    .library(name: "OutpostGPS", targets: ["OutpostGPS"]),
    .library(name: "OutpostInput", targets: ["OutpostInput"]),
    .library(name: "OutpostConfig", targets: ["OutpostConfig"]),
    .library(name: "OutpostSensors", targets: ["OutpostSensors"]),
    .library(name: "OutpostTestKit", targets: ["OutpostTestKit"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    .package(url: "https://github.com/apple/swift-crypto", "4.0.0"..<"5.0.0"),
  ],
  targets: [
    // Pure core: event model, record format, checksums. No I/O.
    .target(name: "OutpostCore", dependencies: ["CCRC32C"], swiftSettings: strict),
    // The wire protocol: messages, stream framing, sealed datagrams. Pure; shared by agent and
    // station. See docs/protocol.md.
    .target(
      name: "OutpostWire",
      dependencies: [
        "OutpostCore",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    // GPS input, pure: NMEA 0183 sentences checked and assembled into fixes.
    .target(name: "OutpostGPS", dependencies: ["OutpostCore"], swiftSettings: strict),
    // Configuration, pure: a TOML reader (the TOML packages at hand import Foundation).
    .target(name: "OutpostConfig", swiftSettings: strict),
    // Sensors, pure: values out of hwmon, IIO and 1-Wire files; thresholds with hysteresis.
    .target(name: "OutpostSensors", swiftSettings: strict),
    // Buttons, pure: kernel input and GPIO event records, debouncing and long presses.
    .target(name: "OutpostInput", swiftSettings: strict),
    // Messages and records as JSON, for outpostctl and the golden vectors.
    .target(
      name: "OutpostWireJSON",
      dependencies: ["OutpostCore", "OutpostWire"],
      swiftSettings: strict
    ),
    // CRC-32C with the CPU's instruction where there is one.
    .target(name: "CCRC32C", cSettings: [.unsafeFlags(["-O2", "-Wall", "-Werror"])]),
    // The crash-safe ring-buffer journal and its storage adapters.
    .target(
      name: "OutpostJournal",
      dependencies: ["OutpostCore", .product(name: "Logging", package: "swift-log")],
      // The journal is single-owner by construction (one writer, `JournalWriter` serialises
      // access); release builds skip the runtime exclusivity checks on its hot paths, which
      // cost about a tenth of an append. Debug builds keep them.
      swiftSettings: strict + [
        .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
      ]
    ),
    // libsystemd, seen through the one module that imports it.
    .systemLibrary(
      name: "CSystemd",
      pkgConfig: "libsystemd",
      providers: [.apt(["libsystemd-dev"])]
    ),
    .target(
      name: "OutpostSystemd",
      dependencies: ["CSystemd", .product(name: "Logging", package: "swift-log")],
      swiftSettings: strict
    ),
    // Fakes for tests: simulated disk, seeded randomness, reference models.
    .target(
      name: "OutpostTestKit",
      dependencies: ["OutpostCore", "OutpostJournal"],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "outpostctl",
      dependencies: [
        "OutpostCore",
        "OutpostJournal",
        "OutpostWire",
        "OutpostWireJSON",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    .testTarget(name: "OutpostCoreTests", dependencies: ["OutpostCore"], swiftSettings: strict),
    .testTarget(
      name: "OutpostGPSTests",
      dependencies: ["OutpostCore", "OutpostGPS", "OutpostTestKit"],
      exclude: ["Data"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostConfigTests",
      dependencies: ["OutpostConfig", "OutpostTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostSensorsTests",
      dependencies: ["OutpostSensors"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostInputTests",
      dependencies: ["OutpostInput", "OutpostTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostWireTests",
      dependencies: [
        "OutpostCore", "OutpostWire", "OutpostWireJSON", "OutpostTestKit",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"),
        .product(name: "NIOTestUtils", package: "swift-nio"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      exclude: ["Vectors"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostJournalTests",
      dependencies: [
        "OutpostCore", "OutpostJournal", "OutpostTestKit",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostSystemdTests",
      dependencies: ["OutpostSystemd"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostctlTests",
      dependencies: ["OutpostCore", "OutpostJournal", "OutpostTestKit"],
      swiftSettings: strict
    ),
  ]
)
