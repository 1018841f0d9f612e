// swift-tools-version:6.2
import PackageDescription

// Benchmarks, kept apart so the main build never compiles them. Build with -c release.
let package = Package(
    name: "switchboard-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchboard", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
    ],
    targets: [
        .executableTarget(
            name: "RESPBench",
            dependencies: [.product(name: "RESP", package: "switchboard")]
        ),
        .executableTarget(
            name: "QueueBench",
            dependencies: [
                .product(name: "SwitchboardRedis", package: "switchboard"),
                .product(name: "SwitchboardStore", package: "switchboard"),
                .product(name: "SwitchboardServices", package: "switchboard"),
                .product(name: "SwitchboardCore", package: "switchboard"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
