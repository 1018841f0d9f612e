import Messenger
import Testing

/// The decoder never traps, whatever the bytes: every prefix of every fixture, and seeded
/// random byte damage. (A light stand-in for a fuzz target.)
@Suite struct WebhookRobustnessTests {
    /// SplitMix64, so failures reproduce.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(arguments: try Fixtures.allWebhookNames())
    func everyPrefixDecodesOrThrows(_ name: String) throws {
        let bytes = try Fixtures.webhook(name)
        for length in 0...bytes.count {
            _ = try? WebhookBatch.decode(Array(bytes.prefix(length)))
        }
    }

    @Test(arguments: try Fixtures.allWebhookNames())
    func randomDamageDecodesOrThrows(_ name: String) throws {
        let original = try Fixtures.webhook(name)
        guard !original.isEmpty else { return }
        var random = SeededGenerator(state: name.utf8.reduce(42) { $0 &* 31 &+ UInt64($1) })
        let interesting: [UInt8] = Array("{}[]\",:0123456789-.eE\\u tnfalsr".utf8) + [0x00, 0xFF, 0xC3, 0xF0]
        for _ in 0..<200 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[index] = interesting.randomElement(using: &random)!
                case 1: bytes.remove(at: index)
                default: bytes.insert(interesting.randomElement(using: &random)!, at: index)
                }
                if bytes.isEmpty { break }
            }
            if let events = try? WebhookBatch.decode(bytes) {
                for event in events { _ = event.payload.kind }
            }
        }
    }
}
