// swift-tools-version: 6.2
import PackageDescription

/// The libFuzzer targets of the wire codec, in a package of their own so that the main package
/// never links libFuzzer. Build and run them with `make fuzz` from the repository root (see
/// `README.md`); they build only with `-Xswiftc -sanitize=fuzzer,address -Xswiftc
/// -parse-as-library`.
let strict: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .treatAllWarnings(as: .error),
]

let package = Package(
  name: "outpost-fuzz",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "outpost", path: ".."),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
  ],
  targets: [
    // Hands `main` to libFuzzer's driver (see its header for why this is needed).
    .target(name: "CFuzzerDriver", cSettings: [.unsafeFlags(["-Wall", "-Werror"])]),
    // Stream frames: single-step decoding, drip-fed decoding, and decode → encode → decode.
    .executableTarget(
      name: "FuzzStreamDecoder",
      dependencies: [
        "CFuzzerDriver",
        .product(name: "OutpostWire", package: "outpost"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // Datagrams: header and opening of raw input, the message decoder behind the AEAD, and the
    // replay window against a model.
    .executableTarget(
      name: "FuzzDatagramOpen",
      dependencies: [
        "CFuzzerDriver",
        .product(name: "OutpostWire", package: "outpost"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
  ]
)
