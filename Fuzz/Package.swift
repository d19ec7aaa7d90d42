// swift-tools-version:6.0
// libFuzzer targets for the sans-I/O parsers. Built separately (`make fuzz`), with
// -sanitize=fuzzer,address, so Relay's own build never carries fuzzing flags.
import PackageDescription

let parseAsLibrary: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "RelayFuzz",
    dependencies: [.package(name: "Relay", path: "..")],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(name: "FuzzHTTPParser", dependencies: ["FuzzDriver", .product(name: "FuzzHarness", package: "Relay")],
                          swiftSettings: parseAsLibrary),
        .executableTarget(name: "FuzzFrameReader", dependencies: ["FuzzDriver", .product(name: "FuzzHarness", package: "Relay")],
                          swiftSettings: parseAsLibrary),
        .executableTarget(name: "FuzzJSONParser", dependencies: ["FuzzDriver", .product(name: "FuzzHarness", package: "Relay")],
                          swiftSettings: parseAsLibrary),
    ]
)
