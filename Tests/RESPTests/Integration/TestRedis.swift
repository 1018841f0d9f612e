import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import RESP

/// Where the test servers are (exported by scripts/lib/redis.sh). A test that needs one is
/// enabled when its variable is set, or when SWITCHBOARD_TEST_REQUIRE_SERVICES=1 — then a
/// missing variable fails the test instead of skipping it.
enum TestRedis {
    static func env(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var requireServices: Bool { env("SWITCHBOARD_TEST_REQUIRE_SERVICES") == "1" }

    static var plainAvailable: Bool { requireServices || env("TEST_REDIS_URL") != nil }
    static var tlsAvailable: Bool { requireServices || (env("TEST_REDIS_TLS_URL") != nil && env("TEST_REDIS_TLS_CA") != nil) }
    static var legacyAvailable: Bool { requireServices || env("TEST_REDIS_LEGACY_URL") != nil }

    static func required(_ name: String) throws -> String {
        try #require(env(name), "\(name) is not set: source scripts/lib/redis.sh and run sb_start_redis_all")
    }

    static func configuration(_ name: String = "TEST_REDIS_URL", caFile: String? = nil) throws -> RedisConfiguration {
        var c = try RedisConfiguration(url: try required(name), caFile: caFile)
        c.connectTimeout = .seconds(5)
        c.commandTimeout = .seconds(10)
        c.pool.acquireTimeout = .seconds(10)
        c.reconnectBackoff = .init(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(200))
        return c
    }

    /// A key prefix no other test (or earlier run) uses.
    static func key(_ name: String = #function) -> String {
        "test:\(name.prefix { $0 != "(" }):\(UInt64.random(in: 0...UInt64.max))"
    }
}

/// Parent of the integration suites: they run one at a time, because some kill server-side
/// connections and wait for reconnection, which is flaky against a loaded shared server when
/// everything runs at once (see docs/resp.md).
@Suite(.serialized) enum RedisIntegration {}

/// Runs `body` with a client whose `run()` is going, then shuts it down.
func withRedisClient<R: Sendable>(
    _ configuration: RedisConfiguration,
    _ body: @Sendable (RedisClient) async throws -> R
) async throws -> R {
    let client = RedisClient(configuration: configuration)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

/// Opens one connection for `body`, then closes it.
func withRedisConnection<R: Sendable>(
    _ configuration: RedisConfiguration,
    _ body: @Sendable (RedisConnection) async throws -> R
) async throws -> R {
    let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: RedisClientTestsEventLoop.loop)
    do {
        let result = try await body(connection)
        await connection.close()
        return result
    } catch {
        await connection.close()
        throw error
    }
}

enum RedisClientTestsEventLoop {
    static var loop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
}

extension RedisError {
    /// Shorthand for asserting on the error a block throws.
    static func caught(_ body: () async throws -> Void) async -> RedisError? {
        do {
            try await body()
            return nil
        } catch let error as RedisError {
            return error
        } catch {
            Issue.record("not a RedisError: \(error)")
            return nil
        }
    }
}
