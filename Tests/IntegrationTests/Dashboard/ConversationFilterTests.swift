import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

@testable import SwitchboardApp

/// `GET /api/conversations`' filters, in the query on both databases: unread, mine,
/// unassigned, a teammate's, the bot's state, the reply window and "closing", combined,
/// paged, and refused with a 400 when a value is not one it knows.
@Suite("Conversation filters")
struct ConversationFilterTests {
    static let now = Date(millisecondsSince1970: 1_800_000_000_000)

    /// Five customers, by how long ago they last wrote.
    static let customers: [(psid: String, hoursAgo: Double)] = [
        ("recent", 1),  // open, 23 h left
        ("unread", 2),  // open, the only one left unread
        ("late", 21),  // open, 3 h left: closing
        ("agent", 72),  // human agent only: closing
        ("closed", 8 * 24),  // closed
    ]

    @Test("each filter, combined and paged", arguments: TestDatabaseKind.all)
    func filters(kind: TestDatabaseKind) async throws {
        let clock = ManualWallClock(Self.now)
        try await TestApp.with(kind, clock: clock) { app, client in
            let ids = try await Self.seed(app, clock: clock)
            let me = try await client.signIn(app, "ann@example.com")
            let teammate = try #require(try await app.switchboard.store.createUser(email: "bob@example.com", name: "Bob", role: .agent))
            let ann = try #require(try await app.switchboard.store.user(email: "ann@example.com"))
            try await app.switchboard.database.transaction { db in
                try await db.query("UPDATE conversations SET assignee_id = $1 WHERE id = $2", .text(ann.id), .int(Int64(ids["recent"]!)!))
                try await db.query("UPDATE conversations SET assignee_id = $1 WHERE id = $2", .text(teammate.id), .int(Int64(ids["late"]!)!))
                try await db.query("UPDATE conversations SET bot_state = 'active' WHERE id = $1", .int(Int64(ids["recent"]!)!))
                try await db.query(
                    "UPDATE conversations SET bot_state = 'paused', bot_reason = 'agent_replied' WHERE id = $1",
                    .int(Int64(ids["agent"]!)!)
                )
                try await db.query("UPDATE conversations SET status = 'resolved' WHERE id = $1", .int(Int64(ids["closed"]!)!))
            }
            func list(_ query: String, cookie: String? = nil) async throws -> [String] {
                let headers: HTTPFields = cookie.map { [.cookie: $0] } ?? app.auth
                let answer = try await client.execute(uri: "/api/conversations?\(query)", method: .get, headers: headers)
                #expect(answer.status == .ok, "\(query): \(answer.text)")
                let psids = (answer.json["conversations"] as? [[String: Any]])?.compactMap { ($0["contact"] as? [String: Any])?["psid"] as? String }
                return psids ?? []
            }
            #expect(try await list("") == ["recent", "unread", "late", "agent", "closed"], "newest activity first")
            #expect(try await list("unread=true") == ["unread"])
            #expect(try await list("assignee=me", cookie: me.cookie) == ["recent"])
            #expect(try await list("assignee=none") == ["unread", "agent", "closed"])
            #expect(try await list("assignee=\(teammate.id)") == ["late"])
            #expect(try await list("bot=active") == ["recent"])
            #expect(try await list("bot=paused") == ["agent"])
            #expect(try await list("needsHuman=true") == ["agent"])
            #expect(try await list("bot=off") == ["unread", "late", "closed"])
            #expect(try await list("window=open") == ["recent", "unread", "late"])
            #expect(try await list("window=human_agent") == ["agent"])
            #expect(try await list("window=closed") == ["closed"])
            #expect(try await list("window=closing") == ["late", "agent"])
            #expect(try await list("window=closing&closingWithinHours=2") == ["agent"], "3 h left is not closing within 2 h")
            #expect(try await list("window=closing&assignee=none") == ["agent"])
            #expect(try await list("window=open&unread=true&bot=off") == ["unread"])
            #expect(try await list("q=late&window=closing") == ["late"], "search combines with filters")
            #expect(try await list("status=resolved") == ["closed"])
            #expect(try await list("status=open&assignee=none") == ["unread", "agent"])

            // Paging keeps the filter: one per page, in order, to the end.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let answer = try await client.execute(
                    uri: "/api/conversations?window=closing&limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""),
                    method: .get,
                    headers: app.auth
                )
                seen += (answer.json["conversations"] as? [[String: Any]])?.compactMap { ($0["contact"] as? [String: Any])?["psid"] as? String } ?? []
                cursor = answer.json["nextCursor"] as? String
            } while cursor != nil
            #expect(seen == ["late", "agent"])

            // Time moves: "late" leaves the open window and stays closing (human agent only).
            clock.advance(by: 4 * 3600)
            #expect(try await list("window=open") == ["recent", "unread"])
            #expect(try await list("window=human_agent") == ["late", "agent"])
        }
    }

    @Test("values it does not know are a 400 naming the parameter", arguments: TestDatabaseKind.all)
    func refusals(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            for (query, word) in [
                ("bot=sleepy", "bot"), ("window=soon", "window"), ("window=closing&closingWithinHours=30", "closingWithinHours"),
                ("closingWithinHours=abc", "closingWithinHours"), ("assignee=abc", "assignee"), ("assignee=me", "assignee=me"),
                ("unread=yes", "unread"), ("needsHuman=true&bot=active", "needsHuman"), ("status=closed", "status"),
            ] {
                let answer = try await client.execute(uri: "/api/conversations?\(query)", method: .get, headers: app.auth)
                #expect(answer.status == .badRequest, "\(query)")
                #expect(answer.errorCode == "invalid_argument", "\(query)")
                let message = (answer.json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains(word), "\(query): \(message)")
            }
        }
    }

    /// One message from each customer `hoursAgo` before `now`; every conversation read but
    /// "unread". Returns the conversation ids by PSID.
    static func seed(_ app: TestApp, clock: ManualWallClock) async throws -> [String: String] {
        let store = app.switchboard.store
        for (n, customer) in customers.enumerated() {
            let at = clock.now().addingTimeInterval(-customer.hoursAgo * 3600).millisecondsSince1970
            _ = try await store.storeWebhook(
                body: Webhook.body([Webhook.message(psid: customer.psid, mid: "m_filter_\(n)", text: "hello from \(customer.psid)", timestamp: at)])
            )
        }
        try await InboundDrain(store: store).run()
        var ids: [String: String] = [:]
        for conversation in try await store.conversations(ConversationQuery(limit: 50)).items {
            ids[conversation.contact.psid] = conversation.id
            if conversation.contact.psid != "unread" { _ = try await store.markRead(conversationId: conversation.id) }
        }
        return ids
    }
}
