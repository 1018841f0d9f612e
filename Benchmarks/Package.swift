// swift-tools-version:6.2
import PackageDescription

// Benchmarks, kept apart so the main build never compiles them. Build with -c release.
let package = Package(
    name: "switchboard-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchboard", path: "..")
    ],
    targets: [
        .executableTarget(
            name: "RESPBench",
            dependencies: [.product(name: "RESP", package: "switchboard")]
        )
    ]
)
