// swift-tools-version:6.1
// The hummingbird-websocket peer for Relay's load tests. A package of its own so that Relay's
// Package.swift never depends on it; build it with LoadTests/peers/install.sh. It lives one folder
// down because SwiftPM names a root package after its folder, and "hummingbird" is a dependency.
import PackageDescription

let package = Package(
    name: "hummingbird-peer",
    platforms: [.macOS(.v14)],
    dependencies: [
        // Exact versions: the figures in ../../README.md are for these.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", exact: "2.8.1"),
    ],
    targets: [
        .executableTarget(
            name: "hummingbird-peer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ],
            path: "Sources/HummingbirdPeer"
        )
    ]
)
