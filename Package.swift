// swift-tools-version:6.2
import PackageDescription

/// Settings every target of ours shares: Swift 6 mode, explicit existentials, imports that
/// do not leak into public API, and warnings that fail the build.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .treatAllWarnings(as: .error),
]

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let hummingbirdTesting = Target.Dependency.product(name: "HummingbirdTesting", package: "hummingbird")
let hummingbirdCore = Target.Dependency.product(name: "HummingbirdCore", package: "hummingbird")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let httpClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
        .executable(name: "socketio-conformance-server", targets: ["socketio-conformance-server"]),
        .library(name: "RESP", targets: ["RESP"]),
        .library(name: "SMTP", targets: ["SMTP"]),
        .library(name: "EngineIO", targets: ["EngineIO"]),
        .library(name: "SocketIO", targets: ["SocketIO"]),
        .library(name: "SocketIOHummingbird", targets: ["SocketIOHummingbird"]),
        .library(name: "Messenger", targets: ["Messenger"]),
        .library(name: "LLM", targets: ["LLM"]),
        // For the benchmarks package (Benchmarks/), which drives the Streams queue directly.
        .library(name: "SwitchboardRedis", targets: ["SwitchboardRedis"]),
        .library(name: "SwitchboardStore", targets: ["SwitchboardStore"]),
        .library(name: "SwitchboardServices", targets: ["SwitchboardServices"]),
        .library(name: "SwitchboardCore", targets: ["SwitchboardCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.0"),
    ],
    targets: [
        // MARK: Protocol libraries (no Switchboard knowledge)
        .target(name: "RESP", dependencies: [nioCore, nioPosix, nioSSL, logging], swiftSettings: strictSettings),
        .target(
            name: "SMTP",
            dependencies: [nioCore, nioPosix, nioSSL, .product(name: "NIOTLS", package: "swift-nio"), logging],
            swiftSettings: strictSettings
        ),
        .target(name: "EngineIO", dependencies: [nioCore], swiftSettings: strictSettings),
        .target(name: "SocketIO", dependencies: ["EngineIO", nioCore, logging, metrics, serviceLifecycle], swiftSettings: strictSettings),
        .target(
            name: "SocketIOHummingbird",
            dependencies: [
                "EngineIO", "SocketIO", hummingbird, hummingbirdCore, nioCore, logging,
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Messenger",
            dependencies: [crypto, httpClient, nioCore, .product(name: "NIOHTTP1", package: "swift-nio"), logging],
            swiftSettings: strictSettings
        ),
        .target(name: "LLM", dependencies: [httpClient, nioCore, .product(name: "NIOHTTP1", package: "swift-nio"), logging], swiftSettings: strictSettings),

        // MARK: Switchboard
        .target(name: "SwitchboardCore", dependencies: ["Messenger", crypto, logging], swiftSettings: strictSettings),
        // What Swift cannot call in the SQLite that sqlite-nio builds (variadic functions).
        .target(name: "CSQLiteSupport", dependencies: [.product(name: "SQLiteNIO", package: "sqlite-nio")]),
        .target(
            name: "SwitchboardStore",
            dependencies: [
                "SwitchboardCore", "Messenger", "CSQLiteSupport", logging, metrics, nioCore, nioPosix,
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SwitchboardServices",
            dependencies: ["SwitchboardCore", "Messenger", "LLM", logging, metrics, serviceLifecycle],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SwitchboardRedis",
            dependencies: ["SwitchboardCore", "SwitchboardStore", "RESP", "SocketIO", logging, metrics, serviceLifecycle],
            swiftSettings: strictSettings
        ),
        .target(
            name: "GraphEmulator",
            dependencies: [
                "Messenger", hummingbird, httpClient, crypto, logging, nioCore,
                .product(name: "NIOHTTP1", package: "swift-nio"), serviceLifecycle,
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "LLMEmulator",
            dependencies: ["LLM", "GraphEmulator", hummingbird, nioCore, logging, serviceLifecycle],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SwitchboardApp",
            dependencies: [
                "SwitchboardCore", "SwitchboardStore", "SwitchboardServices", "SwitchboardRedis", "Messenger", "GraphEmulator", "LLM",
                "SocketIO", "SocketIOHummingbird", "SMTP", hummingbird, httpClient, crypto, logging, metrics,
                serviceLifecycle, nioCore,
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Dashboard/Assets")],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: ["SwitchboardApp", "SwitchboardCore", "SwitchboardStore", "GraphEmulator", "LLMEmulator", "Messenger", hummingbird, serviceLifecycle, .product(name: "UnixSignals", package: "swift-service-lifecycle"), argumentParser, logging],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "socketio-conformance-server",
            dependencies: [
                "SocketIO", "SocketIOHummingbird", "EngineIO", hummingbird, argumentParser, logging,
                serviceLifecycle, nioCore, nioPosix, .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["SwitchboardCore", "SwitchboardStore", "SwitchboardServices", "Messenger", crypto, logging],
            swiftSettings: strictSettings
        ),

        // MARK: Tests
        .testTarget(name: "RESPTests", dependencies: ["RESP", nioCore, nioPosix], swiftSettings: strictSettings),
        .testTarget(
            name: "SMTPTests",
            dependencies: [
                "SMTP", nioCore, nioPosix, .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "EngineIOTests", dependencies: ["EngineIO", nioCore], swiftSettings: strictSettings),
        .testTarget(name: "SocketIOTests", dependencies: ["SocketIO", "EngineIO", nioCore], swiftSettings: strictSettings),
        .testTarget(
            name: "SocketIOHummingbirdTests",
            dependencies: [
                "SocketIOHummingbird", "EngineIO", hummingbirdCore, nioCore, logging, .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "MessengerTests", dependencies: ["Messenger", "TestSupport", crypto, nioCore], swiftSettings: strictSettings),
        .testTarget(
            name: "GraphEmulatorTests",
            dependencies: [
                "GraphEmulator", "Messenger", hummingbird, httpClient, nioCore,
                .product(name: "NIOHTTP1", package: "swift-nio"), serviceLifecycle, logging,
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "LLMTests", dependencies: ["LLM", "LLMEmulator", "TestSupport", httpClient, nioCore, logging], swiftSettings: strictSettings),
        .testTarget(
            name: "LLMEmulatorTests",
            dependencies: ["LLMEmulator", "LLM", httpClient, nioCore, .product(name: "NIOHTTP1", package: "swift-nio"), logging],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SwitchboardServicesTests",
            dependencies: ["SwitchboardServices", "SwitchboardCore", "LLM", "LLMEmulator", httpClient, logging],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "SwitchboardCoreTests", dependencies: ["SwitchboardCore", "Messenger"], swiftSettings: strictSettings),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "SwitchboardApp", "SwitchboardCore", "SwitchboardStore", "SwitchboardServices", "SwitchboardRedis", "RESP", "SocketIO",
                "Messenger", "GraphEmulator", "TestSupport", "SMTP", "LLM", "LLMEmulator", hummingbird, hummingbirdTesting, httpClient, crypto, nioCore,
                logging, .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
