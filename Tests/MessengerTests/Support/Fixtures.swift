import Foundation

/// The webhook payload corpus in `Tests/Fixtures/webhooks`, found next to this source file
/// so it works from any build directory.
enum Fixtures {
    static let webhooksDirectory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // MessengerTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/webhooks")

    static func webhook(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: webhooksDirectory.appendingPathComponent(name)))
    }

    static func allWebhookNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: webhooksDirectory.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
    }
}
