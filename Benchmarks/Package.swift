// swift-tools-version:6.2
import PackageDescription

// Benchmarks, kept apart so the main build never compiles them. Build with -c release.
let package = Package(
    name: "switchboard-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchboard", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
    ],
    targets: [
        .executableTarget(
            name: "RESPBench",
            dependencies: [
                .product(name: "RESP", package: "switchboard"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Raw Engine.IO v4 / Socket.IO v5 clients over WebSocket on NIO: a load generator
        // that is not the bottleneck (scripts/bench realtime, scripts/bench e2e).
        .executableTarget(
            name: "socketio-load",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .treatAllWarnings(as: .error)]
        ),
        .executableTarget(
            name: "QueueBench",
            dependencies: [
                .product(name: "SwitchboardRedis", package: "switchboard"),
                .product(name: "SwitchboardStore", package: "switchboard"),
                .product(name: "SwitchboardServices", package: "switchboard"),
                .product(name: "SwitchboardCore", package: "switchboard"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
