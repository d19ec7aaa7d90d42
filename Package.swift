// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Relay",
    products: [
        .executable(name: "relay", targets: ["relay"]),
        .executable(name: "relay-swarm", targets: ["relay-swarm"]),
        .executable(name: "relay-micro", targets: ["relay-micro"]),
        .library(name: "WebSocket", targets: ["WebSocket"]),
        .library(name: "Reactor", targets: ["Reactor"]),
        .library(name: "RelayServer", targets: ["RelayServer"]),
        // For the libFuzzer package in Fuzz/ and the tests that replay its crashers.
        .library(name: "FuzzHarness", targets: ["FuzzHarness"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The metrics API (counters, gauges, timers) and its Prometheus backend for /metrics.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // HDR histograms for the load tester's latency percentiles.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // Linux headers Swift does not import on its own (epoll, eventfd, timerfd, signalfd).
        .target(name: "CSystem"),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),

        // Sans-I/O RFC 6455: HTTP upgrade, frames, UTF-8, close codes, the connection state machine;
        // permessage-deflate (RFC 7692) negotiation and message compression over zlib.
        .target(name: "WebSocket", dependencies: ["Buffers", "COpenSSL", "CZlib"]),
        // TLS on the reactor's sockets: OpenSSL contexts (certificates, SNI, ALPN, resumption) and
        // the per-connection session the reactor drives.
        .target(name: "TLS", dependencies: ["COpenSSL"]),
        // Byte buffers with explicit ownership, and the byte encodings (Base64, UTF-8 validation)
        // that the protocol core, the JSON parser and the reactor share.
        .target(name: "Buffers"),
        // Strict JSON (RFC 8259) over bytes, keeping each value's byte range so a payload can be
        // forwarded without being re-serialized; and a writer for replies and pushes.
        .target(name: "JSON", dependencies: ["Buffers"]),
        // JSON Web Token verification with OpenSSL: keys from PEM, JWKS or secrets; claims.
        .target(name: "Auth", dependencies: ["Buffers", "COpenSSL"]),
        // The epoll event loop: sockets, timers, buffers, cross-loop queues, signals.
        .target(name: "Reactor", dependencies: ["Buffers", "CSystem", .product(name: "Logging", package: "swift-log")]),
        // The seam between the gateway and its engines (streams, history, presence, idempotency),
        // and the in-memory engine sharded over the loops.
        .target(name: "Broker", dependencies: ["Buffers", "Reactor"]),
        // Redis on the loops: RESP (hiredis's parser) over our own non-blocking sockets.
        .target(
            name: "Redis",
            dependencies: ["Buffers", "CHiredis", "CSystem", "Reactor", .product(name: "Logging", package: "swift-log")]
        ),
        // The engine for replicas: channels, history, presence, online status and the inbox in Redis,
        // through Relay's Redis functions.
        .target(
            name: "RedisEngine",
            dependencies: ["Broker", "Buffers", "JSON", "Reactor", "Redis", .product(name: "Logging", package: "swift-log")]
        ),
        // Moves bytes between the reactor and the WebSocket core; config; the echo application.
        .target(
            name: "RelayServer",
            dependencies: [
                "JSON", "Reactor", "TLS", "WebSocket",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The client protocol: commands, auth, namespaces and fan-out to local subscribers.
        .target(
            name: "Gateway",
            dependencies: [
                "Auth", "Broker", "Buffers", "JSON", "Reactor", "Redis", "RedisEngine", "RelayServer", "WebSocket",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "relay",
            dependencies: [
                "Auth", "Broker", "Buffers", "Gateway", "Reactor", "RelayServer", "TLS", "WebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // The load tester: client connections on the project's own reactor and WebSocket codec,
        // over TLS (wss://) with the TLS module's client context, and publications into Redis.
        .executableTarget(
            name: "relay-swarm",
            dependencies: [
                "Auth", "Buffers", "CSystem", "JSON", "Reactor", "Redis", "TLS", "WebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "LoadTests/Swarm"
        ),

        // Micro-benchmarks of the hot code next to memcpy (`relay-micro`).
        .executableTarget(name: "relay-micro", dependencies: ["Buffers", "JSON", "Reactor", "WebSocket"], path: "LoadTests/Micro"),

        .target(name: "FuzzHarness", dependencies: ["WebSocket", "JSON"], path: "Fuzz/Harness"),

        // Helpers shared by the test targets (a seeded random generator).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzHarness"]),
        .testTarget(name: "BuffersTests", dependencies: ["Buffers", "TestSupport"]),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket", "TestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "TestSupport"]),
        .testTarget(name: "AuthTests", dependencies: ["Auth"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BrokerTests", dependencies: ["Broker", "Buffers", "Reactor"]),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "CSystem"]),
        .testTarget(name: "RelayServerTests", dependencies: ["RelayServer"]),
        .testTarget(name: "RedisTests", dependencies: ["Redis", "Reactor", "TestSupport"]),
        .testTarget(name: "RedisEngineTests", dependencies: ["RedisEngine", "Broker", "Buffers"]),
    ]
)
