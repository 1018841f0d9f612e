import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ServiceLifecycle
import SwitchboardApp
import SwitchboardCore
import TestSupport
import Testing

/// How a node says whether Redis is there: `/api/dev/redis-status` (the seed contract's
/// shape), `/api/status`'s redis state, `/readyz`.
@Suite("Redis status", .timeLimit(.minutes(1)))
struct RedisStatusRouteTests {
    /// A TestApp with `REDIS_URL` set, its Redis services running.
    static func with(redisURL: String, _ body: @Sendable (TestApp, any TestClientProtocol) async throws -> Void) async throws {
        var configuration = TestApp.configuration()
        configuration.redisURL = redisURL
        configuration.redisKeyPrefix = TestRedisBackend.prefix()
        try await TestApp.with(.sqlite, configuration: configuration) { app, client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for service in app.switchboard.redisServices(role: .web) { group.addTask { try await service.run() } }
                defer { group.cancelAll() }
                try await body(app, client)
            }
        }
    }

    /// Asks until Redis reads `state` (the link comes up, or gives up, in the background).
    /// Gives up after 20 s with what it last read, so a link that never gets there fails
    /// the test by name instead of running into the suite's time limit.
    static func redisStatus(
        _ client: any TestClientProtocol,
        _ app: TestApp,
        until state: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> TestResponse {
        let giveUp = ContinuousClock.now + .seconds(20)
        while true {
            let response = try await client.execute(uri: "/api/dev/redis-status", method: .get, headers: app.auth)
            if response.json["status"] as? String == state { return response }
            guard ContinuousClock.now < giveUp else {
                Issue.record(
                    "Redis status still \(response.status): \(response.text) after 20 s, waiting for \(state)",
                    sourceLocation: sourceLocation
                )
                return response
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("without REDIS_URL: not_configured, the embedded queue")
    func notConfigured() async throws {
        try await TestApp.with(.sqlite) { app, client in
            let response = try await client.execute(uri: "/api/dev/redis-status", method: .get, headers: app.auth)
            #expect(response.status == .ok)
            #expect(response.json.keys.sorted() == ["message", "status", "url"])
            #expect(response.json["status"] as? String == "not_configured")
            #expect(response.json["url"] is NSNull)
            #expect((response.json["message"] as? String)?.contains("embedded queue") == true)
            let status = try await client.execute(uri: "/api/status", method: .get, headers: app.auth)
            #expect((status.json["redis"] as? [String: Any])?["state"] as? String == "not_configured")
            #expect(try await client.execute(uri: "/readyz", method: .get).text == "ready")
            #expect(try await client.execute(uri: "/api/dev/redis-status", method: .get).status == .unauthorized)
        }
    }

    @Test("connected: exactly the seed contract's answer", .enabled(if: TestRedisBackend.available, "needs TEST_REDIS_URL"))
    func connected() async throws {
        let url = try TestRedisBackend.requiredURL()
        let port = try #require(url.split(separator: ":").last)
        try await Self.with(redisURL: url) { app, client in
            let response = try await Self.redisStatus(client, app, until: "connected")
            #expect(response.status == .ok)
            #expect(response.text == #"{"status":"connected","message":"Redis is running and accessible","url":"redis://127.0.0.1:\#(port)"}"#)
            let status = try await client.execute(uri: "/api/status", method: .get, headers: app.auth)
            #expect((status.json["redis"] as? [String: Any])?["state"] as? String == "connected")
            #expect(((status.json["queue"] as? [String: Any])?["streams"] as? [String: Any])?["lag"] as? Int == 0)
            #expect(try await client.execute(uri: "/readyz", method: .get).text == "ready")
        }
    }

    @Test("unreachable: disconnected with 503, password masked, and /readyz degraded but 200")
    func disconnected() async throws {
        // The password is checked for masking here, where the link is surely down: the test
        // server has none, and Redis then lets `HELLO 3 AUTH default <anything>` in, so a
        // wrong password against it may read "connected".
        try await Self.with(redisURL: "redis://:not-a-real-secret@127.0.0.1:1") { app, client in
            let response = try await Self.redisStatus(client, app, until: "disconnected")
            #expect(response.status == .serviceUnavailable)
            #expect(response.json.keys.sorted() == ["message", "status", "url"])
            #expect(response.json["url"] as? String == "redis://:****@127.0.0.1:1")
            #expect(!response.text.contains("not-a-real-secret"))
            let status = try await client.execute(uri: "/api/status", method: .get, headers: app.auth)
            #expect((status.json["redis"] as? [String: Any])?["state"] as? String == "disconnected")
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(ready.text.hasPrefix("degraded: Redis is unreachable"))
            // Webhooks are still accepted.
            let body = Webhook.body([Webhook.message(psid: "x", mid: "m_x", text: "t", timestamp: 1)])
            let accepted = try await client.execute(
                uri: "/api/webhook/facebook",
                method: .post,
                headers: TestApp.signed(body),
                body: ByteBuffer(bytes: body)
            )
            #expect(accepted.status == .ok)
            #expect(try await app.switchboard.queue.stats().ready == 1)
        }
    }
}
