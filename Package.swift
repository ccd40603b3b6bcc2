// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "parley",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "parley", targets: ["parley"]),
        .executable(name: "parley-bench", targets: ["parley-bench"]),
        .library(name: "ParleyChat", targets: ["ParleyChat"]),
        .executable(name: "parley-chat-example", targets: ["parley-chat-example"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // The domain: resources, their rules, identifiers, errors and chat tokens.
        .target(
            name: "ParleyDomain",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // AWS Signature Version 4: verifying API requests (and, later, signing outbound calls).
        .target(
            name: "AWSSigV4",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Storage: the SQLite database behind the `ParleyStore` protocol.
        .target(
            name: "ParleyStorage",
            dependencies: [
                "ParleyDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Messaging: live rooms, their connections, limits and fan-out.
        .target(
            name: "ParleyMessaging",
            dependencies: [
                "ParleyDomain",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Message review: calling rooms' handlers (webhooks, Lambda, built-in filters) before delivery.
        .target(
            name: "ParleyReview",
            dependencies: [
                "ParleyDomain", "AWSSigV4",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(name: "CZlib"),
        // Chat logging: the durable outbox and its shipping to S3, CloudWatch Logs, Firehose and local files.
        .target(
            name: "ParleyLogging",
            dependencies: [
                "ParleyDomain", "AWSSigV4", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Metrics and quotas: counting, storage with retention, the query API, Prometheus, alarms.
        .target(
            name: "ParleyMetrics",
            dependencies: [
                "ParleyDomain", "ParleyMessaging", "ParleyReview", "ParleyLogging",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP application: control-plane API, WebSocket endpoint; `buildApplication` is the composition root.
        .target(
            name: "ParleyApp",
            dependencies: [
                "ParleyDomain", "AWSSigV4", "ParleyStorage", "ParleyMessaging", "ParleyReview", "ParleyLogging", "ParleyMetrics",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "WSCore", package: "swift-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `parley` command: serve, keys.
        .executableTarget(
            name: "parley",
            dependencies: [
                "ParleyApp", "ParleyStorage", "ParleyDomain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks: measured, never timed in tests.
        .executableTarget(
            name: "parley-bench",
            dependencies: [
                "ParleyDomain", "ParleyMessaging", "ParleyMetrics", "AWSSigV4", "ParleyChat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Swift client SDK, shaped like the IVS iOS chat SDK; no dependency on the server's modules.
        .target(
            name: "ParleyChat",
            dependencies: [
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // A terminal chat on ParleyChat.
        .executableTarget(
            name: "parley-chat-example",
            dependencies: [
                "ParleyChat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // libFuzzer targets (Fuzz/README.md): built with `-sanitize=fuzzer,address -DFUZZING` by scripts/reliability/fuzz.sh;
        // a normal build makes them replayers of the committed corpus (Tests/conformance/test_fuzz_corpus.py).
        .target(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Fuzz/FuzzSupport", swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzClientFrames",
            dependencies: ["FuzzSupport", "ParleyDomain", "ParleyMessaging", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/FuzzClientFrames", swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FuzzControlPlane", dependencies: ["FuzzSupport", "ParleyApp", "ParleyDomain", "ParleyMessaging", "ParleyStorage"],
            path: "Fuzz/FuzzControlPlane", swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FuzzSigV4", dependencies: ["FuzzSupport", "AWSSigV4"], path: "Fuzz/FuzzSigV4", swiftSettings: swiftSettings
        ),
        .testTarget(name: "ParleyDomainTests", dependencies: ["ParleyDomain"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AWSSigV4Tests",
            dependencies: ["AWSSigV4"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyStorageTests",
            dependencies: [
                "ParleyStorage", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "ParleyMessagingTests", dependencies: ["ParleyMessaging"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyReviewTests", dependencies: ["ParleyReview"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyLoggingTests", dependencies: ["ParleyLogging", "ParleyStorage"], swiftSettings: swiftSettings),
        .testTarget(name: "ParleyMetricsTests", dependencies: ["ParleyMetrics", "ParleyStorage"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ParleyAppTests",
            dependencies: [
                "ParleyApp", "AWSSigV4", "ParleyChat",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ParleyChatTests",
            dependencies: [
                "ParleyChat", "ParleyApp", "ParleyDomain", "AWSSigV4",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
