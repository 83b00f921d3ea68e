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
    .executable(name: "outpostd", targets: ["outpostd"]),
    .executable(name: "outpostctl", targets: ["outpostctl"]),
    .library(name: "OutpostCore", targets: ["OutpostCore"]),
    .library(name: "OutpostJournal", targets: ["OutpostJournal"]),
    .library(name: "OutpostSystemd", targets: ["OutpostSystemd"]),
    .library(name: "OutpostWire", targets: ["OutpostWire"]),
    .library(name: "OutpostGPS", targets: ["OutpostGPS"]),
    .library(name: "OutpostInput", targets: ["OutpostInput"]),
    .library(name: "OutpostConfig", targets: ["OutpostConfig"]),
    .library(name: "OutpostSensors", targets: ["OutpostSensors"]),
    .library(name: "OutpostHooks", targets: ["OutpostHooks"]),
    .library(name: "OutpostControl", targets: ["OutpostControl"]),
    .library(name: "OutpostAgent", targets: ["OutpostAgent"]),
    .library(name: "OutpostTestKit", targets: ["OutpostTestKit"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    .package(url: "https://github.com/apple/swift-crypto", "4.0.0"..<"5.0.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
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
    // The kernel's GPIO character device (v2 uAPI): its structs and ioctls, from <linux/gpio.h>.
    .target(name: "CLinuxGPIO", cSettings: [.unsafeFlags(["-Wall", "-Werror"])]),
    // GPIO lines through the character device: requested as inputs with edge events, or as
    // outputs that the feedback hooks drive.
    .target(
      name: "OutpostGPIO", dependencies: ["CLinuxGPIO", "OutpostInput"], swiftSettings: strict),
    // Feedback for the herder: run a command, set a GPIO line or write a file when an alarm is
    // recorded, delivered, acknowledged or cancelled.
    .target(
      name: "OutpostHooks",
      dependencies: ["OutpostGPIO", .product(name: "Logging", package: "swift-log")],
      swiftSettings: strict
    ),
    // The control socket's protocol between outpostd and outpostctl: JSON lines, pure.
    .target(
      name: "OutpostControl",
      dependencies: ["OutpostCore", "OutpostJournal"],
      swiftSettings: strict
    ),
    // The field agent: configuration, sources, alarm desk, control socket, systemd integration,
    // each long-running part a Service in one ServiceGroup. outpostd is a thin shell over it.
    .target(
      name: "OutpostAgent",
      dependencies: [
        "OutpostCore", "OutpostJournal", "OutpostGPS", "OutpostInput", "OutpostConfig",
        "OutpostSensors", "OutpostHooks", "OutpostControl", "OutpostSystemd", "OutpostGPIO",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "outpostd",
      dependencies: [
        "OutpostAgent", "OutpostSystemd",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
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
        "OutpostControl",
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
      name: "OutpostHooksTests",
      dependencies: ["OutpostHooks", "OutpostGPIO", "OutpostInput", "OutpostTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostAgentTests",
      dependencies: [
        "OutpostAgent", "OutpostCore", "OutpostJournal", "OutpostControl", "OutpostConfig",
        "OutpostGPS", "OutpostInput", "OutpostHooks", "OutpostSystemd", "OutpostTestKit",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostSystemdTests",
      dependencies: ["OutpostSystemd", "OutpostTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostctlTests",
      dependencies: ["OutpostCore", "OutpostJournal", "OutpostTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostdTests",
      dependencies: ["OutpostCore", "OutpostJournal", "OutpostTestKit"],
      swiftSettings: strict
    ),
  ]
)
