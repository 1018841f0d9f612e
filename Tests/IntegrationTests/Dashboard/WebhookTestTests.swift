import Foundation
import GraphEmulator
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Messenger
import NIOCore
import SwitchboardCore
import SwitchboardRedis
import SwitchboardStore
import TestSupport
import Testing

@testable import SwitchboardApp

/// Bot Settings' "Test Webhook" against a real server on a port (its worker running) and
/// the Graph emulator: every check says truthfully what passed and what failed, and the
/// round trip's test event leaves no conversation behind.
@Suite("Test Webhook", .serialized, .timeLimit(.minutes(3)))
struct WebhookTestTests {
    /// Graph calls as in production: the outbound tests' 1 s is for provoking timeouts, and a
    /// loaded machine can take longer than that to answer `/me`.
    static let graphTimeout: Duration = .seconds(20)

    @Test(
        "all green: the event goes through and is removed; the summary names the embedded queue, or Redis once connected",
        arguments: TestDatabaseKind.all
    )
    func allGreen(kind: TestDatabaseKind) async throws {
        try await LiveRig.with(kind, graphTimeout: Self.graphTimeout) { rig in
            #expect(try await rig.connectPage().status == .created)
            let stored = try await rig.store.counts().webhooksReceived
            let report = await rig.webhookTest().run(pageId: LiveRig.pageId)
            #expect(report.ok, "\(report)")
            #expect(report.summary == "✅ Webhook test successful! Embedded queue in use (no Redis configured).")
            #expect(report.checks.map(\.name) == ["database", "redis", "webhook", "facebook_token", "facebook_subscription"])
            #expect(report.checks.allSatisfy { $0.ok })
            let roundTrip = try #require(report.checks.first { $0.name == "webhook" })
            #expect(roundTrip.detail.contains("stored and applied"))
            #expect(report.checks.first { $0.name == "redis" }?.detail.contains("embedded queue") == true)
            let database = kind == .postgres ? "postgresql answers" : "sqlite answers"
            #expect(report.checks.first { $0.name == "database" }?.detail.hasPrefix(database) == true)
            #expect(report.checks.first { $0.name == "facebook_token" }?.detail.contains("Live Shop") == true)
            // Nothing of the test stays: no conversation, no contact, no stored webhook.
            #expect(try await rig.store.conversations(ConversationQuery(limit: 500)).items.isEmpty)
            #expect(try await rig.store.counts().contacts == 0)
            #expect(try await rig.store.counts().webhooksReceived == stored)
            let splitsLeft = try await rig.switchboard.database.read { db in
                try await db.first("SELECT COUNT(*) AS n FROM webhook_splits WHERE webhook_event_id NOT IN (SELECT id FROM webhook_events)")
            }
            #expect(splitsLeft?.int("n") == 0, "the probe's split went with its webhook")
            // With Redis configured and answering, the headline says so.
            if TestRedisBackend.available {
                let connected = try await TestRedisBackend.with { backends in
                    await rig.webhookTest(redis: backends[0]).run(pageId: LiveRig.pageId)
                }
                #expect(connected.summary == "✅ Webhook test successful! Redis connected.", "\(connected)")
                #expect(connected.checks.first { $0.name == "redis" }?.ok == true)
            }
        }
    }

    @Test(
        "a token Facebook refuses, a Page we are not subscribed to, a wrong secret, an unreachable URL, Redis down",
        arguments: TestDatabaseKind.all
    )
    func failures(kind: TestDatabaseKind) async throws {
        try await LiveRig.with(kind, graphTimeout: Self.graphTimeout) { rig in
            let box = SecretBox(secret: rig.switchboard.configuration.secret.value)
            // A token Meta does not know: the token line fails with Meta's code; the rest still runs.
            try await rig.store.savePage(PageRecord(id: LiveRig.pageId, name: "Live Shop", sealedAccessToken: try box.seal("EAAexpired-token")))
            var report = await rig.webhookTest().run(pageId: LiveRig.pageId)
            #expect(!report.ok)
            #expect(report.summary == "❌ Webhook test failed: Facebook Page token, Facebook subscription.")
            #expect(report.checks.first { $0.name == "facebook_token" }?.detail.contains("190") == true)
            #expect(report.checks.first { $0.name == "facebook_subscription" }?.detail.contains("Not checked") == true)
            #expect(report.checks.first { $0.name == "webhook" }?.ok == true)

            // The right token, but the app was never subscribed to the Page.
            try await rig.store.savePage(PageRecord(id: LiveRig.pageId, name: "Live Shop", sealedAccessToken: try box.seal(LiveRig.token)))
            report = await rig.webhookTest().run(pageId: LiveRig.pageId)
            #expect(report.checks.first { $0.name == "facebook_token" }?.ok == true)
            let subscription = try #require(report.checks.first { $0.name == "facebook_subscription" })
            #expect(!subscription.ok && subscription.detail.contains("not subscribed"))

            // Our public URL signs with another secret than the server there checks; nothing listens at another.
            let base = rig.webhookTest()
            let wrongSecret = WebhookTest(
                store: base.store,
                status: base.status,
                graph: base.graph,
                box: base.box,
                publicURL: base.publicURL,
                appSecret: AppSecret("not-the-servers-secret"),
                appId: base.appId,
                logger: TestDatabase.logger
            )
            let refused = try #require(await wrongSecret.run(pageId: LiveRig.pageId).checks.first { $0.name == "webhook" })
            #expect(!refused.ok && refused.detail.contains("403") && refused.detail.contains("FACEBOOK_APP_SECRET"))
            let nowhere = try #require(
                await rig.webhookTest(publicURL: "http://127.0.0.1:1").run(pageId: LiveRig.pageId).checks.first { $0.name == "webhook" }
            )
            #expect(!nowhere.ok && nowhere.detail.contains("Could not reach http://127.0.0.1:1/api/webhook/facebook"))

            // REDIS_URL set, and no Redis answers there.
            let unstarted = try RedisBackend(url: TestRedisBackend.unreachableURL(), nodeID: "webhook-test", logger: TestDatabase.logger)
            let redisDown = await rig.webhookTest(redis: unstarted).run(pageId: LiveRig.pageId)
            let redis = try #require(redisDown.checks.first { $0.name == "redis" })
            #expect(!redis.ok && redis.detail.contains("redis://127.0.0.1:1"))
            #expect(redisDown.summary.hasPrefix("❌") && redisDown.summary.contains("Redis"))
            #expect(try await rig.store.counts().contacts == 0, "every round trip cleaned up after itself")
        }
    }

    @Test("the route: admins only, a known Page, one line per check")
    func route() async throws {
        var configuration = TestApp.configuration()
        configuration.publicURL = "http://127.0.0.1:1"  // nothing listens: the round trip fails at once
        try await TestApp.with(.sqlite, configuration: configuration) { app, client in
            let missing = try await client.execute(uri: "/api/pages/42/webhook-test", method: .post, headers: app.auth)
            #expect(missing.status == .notFound)
            try await app.switchboard.store.savePage(PageRecord(id: "42", name: "Shop", sealedAccessToken: nil))
            let agent = try await client.signIn(app, "agent@example.com")
            let refused = try await client.execute(
                uri: "/api/pages/42/webhook-test",
                method: .post,
                headers: [.cookie: agent.cookie, .csrfToken: agent.csrf]
            )
            #expect(refused.status == .forbidden)
            let answer = try await client.execute(uri: "/api/pages/42/webhook-test", method: .post, headers: app.auth)
            #expect(answer.status == .ok)
            let checks = try #require(answer.json["checks"] as? [[String: Any]])
            #expect(checks.compactMap { $0["name"] as? String } == ["database", "redis", "webhook", "facebook_token", "facebook_subscription"])
            #expect(
                checks.first { $0["name"] as? String == "facebook_token" }?["detail"] as? String
                    == "No access token is stored for Page 42: connect it on the Pages screen."
            )
            #expect(answer.json["ok"] as? Bool == false)
        }
    }
}

extension LiveRig {
    /// The webhook test of this rig's server, posting to its real port; with `redis`, as a
    /// node using that Redis link would run it.
    func webhookTest(publicURL: String? = nil, redis: RedisBackend? = nil) -> WebhookTest {
        var status = switchboard.statusReporter(role: .all)
        if let redis {
            status = StatusReporter(
                store: status.store,
                queue: status.queue,
                databaseKind: status.databaseKind,
                schemaVersion: status.schemaVersion,
                redis: redis,
                role: status.role,
                concurrency: status.concurrency,
                demoMode: status.demoMode,
                sockets: status.sockets
            )
        }
        return switchboard.webhookTest(status: status, publicURL: publicURL ?? "http://127.0.0.1:\(client.port ?? 0)")
    }
}
