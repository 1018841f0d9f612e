import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

@testable import SwitchboardApp

/// `GET /api/stats`: the Status screen's numbers on both databases, counted from a day of
/// messages at known times, the ETag that makes an unchanged answer a 304, and `since`.
@Suite("Stats route")
struct StatsRouteTests {
    /// 2026-03-10T10:00:00Z.
    static let morning = Date(millisecondsSince1970: 1_773_136_800_000)
    static let midnight = "2026-03-10T00:00:00.000Z"

    @Test("counts, first responses, the hourly trend and the ETag", arguments: TestDatabaseKind.all)
    func stats(kind: TestDatabaseKind) async throws {
        let clock = ManualWallClock(Self.morning)
        try await TestApp.with(kind, clock: clock) { app, client in
            let store = app.switchboard.store
            let t0 = Self.morning
            // Yesterday afternoon Cleo wrote; this morning Ana, then Ben twice, later Dan.
            let cleo = try await RetryRouteTests.customerWrote(app, psid: "cleo", at: t0.addingTimeInterval(-20 * 3600))
            let ana = try await RetryRouteTests.customerWrote(app, psid: "ana", at: t0)
            let ben = try await RetryRouteTests.customerWrote(app, psid: "ben", at: t0.addingTimeInterval(60))
            _ = try await RetryRouteTests.customerWrote(app, psid: "ben", at: t0.addingTimeInterval(70))
            // Ana: an agent answers a minute later.
            clock.set(t0.addingTimeInterval(60))
            _ = try await RetryRouteTests.send(app, client, ana, "Hi Ana")
            try await Self.sent(store)
            // Ben: the bot answers after 100 s, a person after 400 s.
            clock.set(t0.addingTimeInterval(160))
            _ = try await store.enqueueOutbound(OutboundDraft(conversationId: ben, text: "I'm the bot", clientId: "bot-ben", author: .bot))
            try await Self.sent(store)
            clock.set(t0.addingTimeInterval(460))
            _ = try await RetryRouteTests.send(app, client, ben, "Hi Ben, Sam here")
            try await Self.sent(store)
            // Cleo: a reply that Meta refuses (it ends no wait).
            let refused = try await RetryRouteTests.send(app, client, cleo, "Sorry for the wait")
            try await RetryRouteTests.failNextSend(store, message: refused, "Meta had a problem")
            _ = try await RetryRouteTests.customerWrote(app, psid: "dan", at: t0.addingTimeInterval(500))
            try await app.switchboard.database.transaction { db in
                try await db.query("UPDATE conversations SET bot_state = 'paused' WHERE id = $1", .int(Int64(ben)!))
                try await db.query("UPDATE conversations SET status = 'resolved' WHERE id = $1", .int(Int64(ana)!))
            }

            let answer = try await client.execute(uri: "/api/stats?since=\(Self.midnight)", method: .get, headers: app.auth)
            #expect(answer.status == .ok, "\(answer.text)")
            let stats = answer.json
            #expect(stats["since"] as? String == Self.midnight)
            let conversations = try #require(stats["conversations"] as? [String: Int])
            #expect(conversations == ["total": 4, "open": 3, "active": 4, "waiting": 1, "unread": 4, "needsHuman": 1, "unassigned": 4])
            #expect(stats["messages"] as? [String: Int] == ["in": 4, "out": 3, "failed": 1])
            let firstResponse = try #require(stats["firstResponse"] as? [String: Any])
            #expect(firstResponse["medianSeconds"] as? Double == 80, "Ana 60 s, Ben 100 s (the bot)")
            #expect(firstResponse["count"] as? Int == 2)
            #expect(firstResponse["humanMedianSeconds"] as? Double == 230, "Ana 60 s, Ben 400 s (a person)")
            #expect(firstResponse["humanCount"] as? Int == 2)
            let hourly = try #require(stats["hourly"] as? [[String: Any]])
            #expect(hourly.count == 24)
            #expect(hourly.last?["at"] as? String == "2026-03-10T10:00:00.000Z")
            #expect(hourly.last?["in"] as? Int == 4 && hourly.last?["out"] as? Int == 4, "the refused reply counts in its hour")
            let afternoon = hourly.first { $0["at"] as? String == "2026-03-09T14:00:00.000Z" }
            #expect(afternoon?["in"] as? Int == 1)
            #expect(hourly.map { ($0["in"] as? Int ?? 0) + ($0["out"] as? Int ?? 0) }.reduce(0, +) == 9)
            #expect((stats["agents"] as? [String: Int]) == ["online": 0, "away": 0])
            #expect((stats["database"] as? [String: Any])?["state"] as? String == "connected")
            #expect(stats["queue"] is [String: Any] && stats["redis"] is [String: Any] && stats["sockets"] is Int)

            // Unchanged: a 304 without a body. A new message: a new ETag.
            let etag = try #require(answer.headers[.eTag])
            #expect(answer.headers[.cacheControl]?.contains("no-cache") == true)
            let same = try await client.execute(uri: "/api/stats?since=\(Self.midnight)", method: .get, headers: app.auth + [.ifNoneMatch: etag])
            #expect(same.status == .notModified)
            #expect(same.body.readableBytes == 0)
            _ = try await RetryRouteTests.customerWrote(app, psid: "eve", at: t0.addingTimeInterval(520))
            let changed = try await client.execute(uri: "/api/stats?since=\(Self.midnight)", method: .get, headers: app.auth + [.ifNoneMatch: etag])
            #expect(changed.status == .ok)
            #expect(changed.headers[.eTag] != etag)
            #expect((changed.json["messages"] as? [String: Int])?["in"] == 5)

            // An agent limited to another Page sees none of it.
            let outsider = try await client.signIn(app, "olga@example.com", pageIds: ["999"])
            let theirs = try await client.execute(uri: "/api/stats", method: .get, headers: [.cookie: outsider.cookie])
            #expect((theirs.json["conversations"] as? [String: Int])?["total"] == 0)
            #expect((theirs.json["messages"] as? [String: Int]) == ["in": 0, "out": 0, "failed": 0])
        }
    }

    @Test("since must be a time in the last 31 days")
    func since() async throws {
        let clock = ManualWallClock(Self.morning)
        try await TestApp.with(.sqlite, clock: clock) { app, client in
            let plain = try await client.execute(uri: "/api/stats", method: .get, headers: app.auth)
            #expect(plain.json["since"] as? String == Self.midnight, "midnight UTC by default")
            for bad in ["yesterday", "2026-03-11T00:00:00Z", "2026-01-01T00:00:00Z"] {
                let answer = try await client.execute(uri: "/api/stats?since=\(bad)", method: .get, headers: app.auth)
                #expect(answer.status == .badRequest, "\(bad)")
                #expect(answer.errorCode == "invalid_argument")
            }
            let local = try await client.execute(uri: "/api/stats?since=2026-03-09T23:00:00Z", method: .get, headers: app.auth)
            #expect(local.json["since"] as? String == "2026-03-09T23:00:00.000Z", "the viewer's midnight")
        }
    }

    /// The sender takes the next job and Meta accepts the message.
    static func sent(_ store: SQLStore) async throws {
        let job = try #require(try await store.queue.claim(limit: 1, worker: "test", lease: .seconds(60)).first)
        let id = String(decoding: job.payload, as: UTF8.self)
        _ = try await store.markOutboundSent(messageId: id, mid: "m_out_\(id)", requestedAt: store.clock.now().millisecondsSince1970, completing: job)
    }
}
