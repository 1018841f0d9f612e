// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets over our wire codecs. Kept apart so the main build never compiles
// them; scripts/test.d builds each with `-sanitize=fuzzer` and runs it for a bounded time.
let package = Package(
    name: "switchboard-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchboard", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(
            name: "FuzzRESP",
            dependencies: [
                "FuzzDriver", .product(name: "RESP", package: "switchboard"), .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzEngineIO",
            dependencies: [
                "FuzzDriver", .product(name: "EngineIO", package: "switchboard"), .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzSocketIO",
            dependencies: [
                "FuzzDriver", .product(name: "SocketIO", package: "switchboard"), .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
