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
    .executable(name: "outpost-station", targets: ["outpost-station"]),
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
    .library(name: "OutpostEnrollment", targets: ["OutpostEnrollment"]),
    .library(name: "OutpostUplink", targets: ["OutpostUplink"]),
    .library(name: "OutpostCA", targets: ["OutpostCA"]),
    .library(name: "OutpostStore", targets: ["OutpostStore"]),
    .library(name: "OutpostStation", targets: ["OutpostStation"]),
    .library(name: "OutpostTestKit", targets: ["OutpostTestKit"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    .package(url: "https://github.com/apple/swift-crypto", "4.0.0"..<"5.0.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
    .package(url: "https://github.com/apple/swift-certificates", from: "1.6.0"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
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
        "OutpostUplink", "OutpostEnrollment",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
    // What enrollment gives a box: its key and certificate, the CA certificate, the station
    // addresses and datagram keys, in one JSON file. Written by the station, installed by
    // `outpostctl enroll`, read by outpostd. FoundationEssentials only (the agent links it).
    .target(name: "OutpostEnrollment", swiftSettings: strict),
    // The uplink: TLS 1.3 with a device certificate to the first reachable station, resuming
    // from the journal, alarms first, a window of batches in flight, pings. Shared by outpostd
    // and by a station forwarding to a higher station.
    .target(
      name: "OutpostUplink",
      dependencies: [
        "OutpostCore", "OutpostJournal", "OutpostWire", "OutpostEnrollment",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    // The station's certificate authority: its key, the station's server certificate, device
    // certificates. Station side only.
    .target(
      name: "OutpostCA",
      dependencies: [
        "OutpostEnrollment",
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    // The station's store: SQLite through GRDB (WAL) by default, PostgreSQL through
    // postgres-nio, with the same schema semantics. Station side only.
    .target(
      name: "OutpostStore",
      dependencies: [
        "OutpostCore",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    // The station: listener, sessions, ingest, incidents, timers, escalation, forwarding.
    .target(
      name: "OutpostStation",
      dependencies: [
        "OutpostCore", "OutpostWire", "OutpostStore", "OutpostCA", "OutpostEnrollment",
        "OutpostConfig", "OutpostSystemd", "OutpostUplink", "OutpostJournal", "OutpostHooks",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "outpost-station",
      dependencies: [
        "OutpostStation", "OutpostStore", "OutpostCA", "OutpostSystemd", "OutpostConfig",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "outpostd",
      dependencies: [
        "OutpostAgent", "OutpostSystemd", "OutpostEnrollment",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      exclude: ["read-only-data.ld", "hot-functions.txt"],
      swiftSettings: strict,
      // Linked by lld with read-only-data.ld, so that constants stay in the read-only segment
      // and can be given back after start-up; symbols bound at start-up (BIND_NOW, as Debian's
      // hardening flags ask) rather than at each function's first call, which searched the
      // executable's dynamic symbol table (megabytes, as `-export-dynamic` leaves it) and
      // brought its pages back after the agent gave them away (docs/benchmarks.md, "Agent
      // footprint").
      linkerSettings: [
        .unsafeFlags(
          [
            "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "now", "-Xlinker", "-T", "-Xlinker",
            Context.packageDirectory + "/Sources/outpostd/read-only-data.ld",
            "-Xlinker",
            "--symbol-ordering-file=" + Context.packageDirectory
              + "/Sources/outpostd/hot-functions.txt",
            "-Xlinker", "--no-warn-symbol-ordering",
          ], .when(platforms: [.linux]))
      ]
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
        "OutpostEnrollment",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    // The station's bars, end to end: SOS latency through the real outpostd and
    // outpost-station (idle link, and while a 100,000-record backlog drains), and ingest from
    // 1,000 simulated boxes on SQLite and PostgreSQL beside in-process baselines
    // (`make station-bench`). In this package, not in Benchmarks/, so that one release build
    // makes it and the daemons it drives; it adds no dependency the station does not have.
    .executableTarget(
      name: "station-bench",
      dependencies: [
        "OutpostCore", "OutpostJournal", "OutpostWire", "OutpostUplink", "OutpostEnrollment",
        "OutpostCA", "OutpostStore", "OutpostControl", "OutpostTestKit",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
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
      name: "OutpostCATests",
      dependencies: [
        "OutpostCA", "OutpostEnrollment", "OutpostTestKit", "OutpostStation", "OutpostUplink",
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOTLS", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostStoreTests",
      dependencies: ["OutpostStore", "OutpostCore", "OutpostTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "OutpostStationTests",
      dependencies: [
        "OutpostStation", "OutpostStore", "OutpostCA", "OutpostEnrollment", "OutpostUplink",
        "OutpostWire", "OutpostCore", "OutpostJournal", "OutpostConfig", "OutpostTestKit",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
    // Faults on the link and kill -9 loops, with the real binaries behind a fault proxy.
    .testTarget(name: "OutpostFaultTests", dependencies: ["OutpostTestKit"], swiftSettings: strict),
    .testTarget(
      name: "OutpostdTests",
      dependencies: ["OutpostCore", "OutpostJournal", "OutpostStore", "OutpostTestKit"],
      swiftSettings: strict
    ),
  ]
)
