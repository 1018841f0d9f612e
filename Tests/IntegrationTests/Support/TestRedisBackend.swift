import Foundation
import Logging
import RESP
import SwitchboardRedis
import TestSupport

/// Redis for the Switchboard-level tests: the server scripts/lib/redis.sh started
/// (`TEST_REDIS_URL`), each test under its own key prefix, removed afterwards.
enum TestRedisBackend {
    static var url: String? {
        ProcessInfo.processInfo.environment["TEST_REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Tests that need Redis run when it is there, or fail without it under
    /// SWITCHBOARD_TEST_REQUIRE_SERVICES=1.
    static var available: Bool {
        url != nil || ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_REQUIRE_SERVICES"] == "1"
    }

    static func requiredURL() throws -> String {
        guard let url else { throw RedisUnavailable(description: "TEST_REDIS_URL is not set; run the tests through scripts/test") }
        return url
    }

    /// A fresh prefix no other test uses.
    static func prefix() -> String { "test-\(UUID().uuidString.prefix(12))" }

    /// Runs `body` with backends (one per node id) sharing `prefix`, each connected, then
    /// deletes every key under the prefix.
    static func with<T: Sendable>(
        nodes: [String] = ["node-a"],
        prefix: String = prefix(),
        url: String? = nil,
        waitForConnection: Bool = true,
        _ body: @Sendable ([RedisBackend]) async throws -> T
    ) async throws -> T {
        let url = try url ?? requiredURL()
        let backends = try nodes.map { try RedisBackend(url: url, keyPrefix: prefix, nodeID: $0, logger: TestDatabase.logger) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for backend in backends { group.addTask { await backend.run() } }
            defer { group.cancelAll() }
            if waitForConnection {
                let deadline = ContinuousClock.now + .seconds(30)
                for backend in backends {
                    while !backend.isConnected {
                        guard ContinuousClock.now < deadline else { throw RedisUnavailable(description: "Redis at \(url) did not answer") }
                        await backend.waitForChange(timeout: .seconds(1))
                    }
                }
            }
            do {
                let result = try await body(backends)
                if waitForConnection { try await deleteKeys(prefix, with: backends[0].client) }
                return result
            } catch {
                if waitForConnection { try? await deleteKeys(prefix, with: backends[0].client) }
                throw error
            }
        }
    }

    static func deleteKeys(_ prefix: String, with client: RedisClient) async throws {
        let script = RedisScript("for _, k in ipairs(redis.call('KEYS', ARGV[1] .. ':*')) do redis.call('DEL', k) end return 0")
        _ = try await client.evalScript(script, arguments: [RedisArgument(prefix)])
    }

    /// A URL nothing listens on (Redis "down").
    static func unreachableURL() -> String {
        "redis://127.0.0.1:1"
    }
}

struct RedisUnavailable: Error, CustomStringConvertible {
    var description: String
}
