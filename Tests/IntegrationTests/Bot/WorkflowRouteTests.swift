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

@Suite("Assignment and resolution routes")
struct WorkflowRouteTests {
    /// A conversation of `Webhook.page` whose Page has the bot on.
    static func conversation(_ app: TestApp, psid: String = "p1", settings: BotSettings = BotSettings()) async throws -> String {
        let store = app.switchboard.store
        try await store.savePage(PageRecord(id: Webhook.page, name: "Shop", sealedAccessToken: nil))
        try await store.saveBotSettings(pageId: Webhook.page, BotPageSettings(enabled: true, settings: settings))
        let now = Date().millisecondsSince1970
        _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: psid, mid: "m_\(psid)_\(now)", text: "hi", timestamp: now)]))
        try await InboundDrain(store: store).run()
        return try #require(try await store.conversations(ConversationQuery()).items.first { $0.contact.psid == psid }?.id)
    }

    static func events(_ app: TestApp, _ name: String) async throws -> [[String: Any]] {
        try await app.switchboard.store.realtimeEvents(after: 0, limit: 500).filter { $0.name == name }.map {
            (try JSONSerialization.jsonObject(with: Data($0.payload.utf8))) as? [String: Any] ?? [:]
        }
    }

    @Test("assignee: agents take or drop, admins assign anyone active who can see the Page; taking pauses the bot", arguments: TestDatabaseKind.all)
    func assignee(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let store = app.switchboard.store
            let id = try await Self.conversation(app)
            let (admin, adminCSRF) = try await client.signIn(app, "ann@example.com", role: .admin)
            let (agent, agentCSRF) = try await client.signIn(app, "bob@example.com", role: .agent)
            let (elsewhere, elsewhereCSRF) = try await client.signIn(app, "carol@example.com", role: .agent, pageIds: ["other-page"])
            let ann = try #require(try await store.user(email: "ann@example.com")).id
            let bob = try #require(try await store.user(email: "bob@example.com")).id
            let carol = try #require(try await store.user(email: "carol@example.com")).id
            let dave = try #require(try await store.createUser(email: "dave@example.com", name: nil, role: .agent)).id
            #expect(try await store.disableUser(id: dave))
            func put(_ cookie: String, _ csrf: String, _ body: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/api/conversations/\(id)/assignee",
                    method: .put,
                    headers: [.cookie: cookie, .csrfToken: csrf, .contentType: "application/json"],
                    body: ByteBuffer(string: body)
                )
            }

            let taken = try await put(agent, agentCSRF, #"{"assigneeId":"\#(bob)"}"#)
            #expect(taken.status == .ok)
            let conversation = try #require(taken.json["conversation"] as? [String: Any])
            #expect(conversation["assigneeId"] as? String == bob)
            #expect((conversation["bot"] as? [String: Any])?["reason"] as? String == "agent_took_over")
            let assigned = try await Self.events(app, "conversation:assignee")
            #expect(assigned.count == 1)
            #expect(assigned.first?["assigneeId"] as? String == bob)
            #expect(assigned.first?["by"] as? String == "user:\(bob)")
            #expect(assigned.first?["conversationId"] as? String == id)
            #expect(try await Self.events(app, "conversation:bot").first?["reason"] as? String == "agent_took_over")
            let audit = try await store.auditLog(limit: 20)
            #expect(audit.contains { $0.action == "bot.paused" && $0.detail == "agent_took_over" && $0.actor == "user:\(bob)" })
            #expect(audit.contains { $0.action == "conversation.assigned" && $0.detail == "user:\(bob)" })

            // The same again changes nothing and says nothing.
            #expect(try await put(agent, agentCSRF, #"{"assigneeId":"\#(bob)"}"#).status == .ok)
            #expect(try await Self.events(app, "conversation:assignee").count == 1)

            let other = try await put(agent, agentCSRF, #"{"assigneeId":"\#(ann)"}"#)
            #expect(other.status == .forbidden)
            #expect(other.errorCode == "forbidden")
            let dropped = try await put(agent, agentCSRF, #"{"assigneeId":null}"#)
            #expect(dropped.status == .ok)
            #expect((dropped.json["conversation"] as? [String: Any])?["assigneeId"] is NSNull)
            #expect(try await Self.events(app, "conversation:assignee").last?["assigneeId"] is NSNull)
            #expect(try await put(agent, agentCSRF, "{}").status == .badRequest)

            for (body, why) in [(carol, "cannot see the Page"), (dave, "disabled"), ("999999", "unknown"), ("not-a-number", "not an id")] {
                let refused = try await put(admin, adminCSRF, #"{"assigneeId":"\#(body)"}"#)
                #expect(refused.status == .unprocessableContent, "\(why)")
                #expect(refused.errorCode == "assignee_invalid", "\(why)")
            }
            let byAdmin = try await put(admin, adminCSRF, #"{"assigneeId":"\#(bob)"}"#)
            #expect((byAdmin.json["conversation"] as? [String: Any])?["assigneeId"] as? String == bob)
            #expect(try await Self.events(app, "conversation:assignee").last?["by"] as? String == "user:\(ann)")
            // An agent of another Page does not see the conversation at all.
            #expect(try await put(elsewhere, elsewhereCSRF, #"{"assigneeId":"\#(carol)"}"#).status == .notFound)
            #expect(try await client.execute(uri: "/api/conversations/404404/resolve", method: .post, headers: app.auth).status == .notFound)
        }
    }

    @Test("resolve and reopen; a customer's new message reopens; every change once, with its event", arguments: TestDatabaseKind.all)
    func resolution(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let store = app.switchboard.store
            let id = try await Self.conversation(app)
            func post(_ action: String) async throws -> String? {
                let response = try await client.execute(uri: "/api/conversations/\(id)/\(action)", method: .post, headers: app.auth)
                #expect(response.status == .ok)
                return (response.json["conversation"] as? [String: Any])?["status"] as? String
            }
            #expect(try await store.conversation(id: id)?.status == .open)
            #expect(try await post("resolve") == "resolved")
            #expect(try await post("resolve") == "resolved")
            #expect(try await post("reopen") == "open")
            #expect(try await post("resolve") == "resolved")
            var changes = try await Self.events(app, "conversation:status")
            #expect(changes.map { $0["status"] as? String } == ["resolved", "open", "resolved"])
            #expect(changes.allSatisfy { $0["by"] as? String == "token:test" && $0["conversationId"] as? String == id })
            let audit = try await store.auditLog(limit: 20).map(\.action)
            #expect(audit.filter { $0 == "conversation.resolved" }.count == 2)
            #expect(audit.filter { $0 == "conversation.reopened" }.count == 1)

            let now = Date().millisecondsSince1970
            _ = try await store.storeWebhook(
                body: Webhook.body([Webhook.message(psid: "p1", mid: "m_again", text: "one more thing", timestamp: now)])
            )
            try await InboundDrain(store: store).run()
            #expect(try await store.conversation(id: id)?.status == .open)
            changes = try await Self.events(app, "conversation:status")
            #expect(changes.last?["status"] as? String == "open")
            #expect(changes.last?["by"] as? String == "customer")
            // An open conversation's next message says nothing more.
            _ = try await store.storeWebhook(
                body: Webhook.body([Webhook.message(psid: "p1", mid: "m_again_2", text: "and this", timestamp: now + 1)])
            )
            try await InboundDrain(store: store).run()
            #expect(try await Self.events(app, "conversation:status").count == 4)
        }
    }

    @Test("bot stats: replies, handovers by reason, model latency, tokens and failures, from stored rows", arguments: TestDatabaseKind.all)
    func stats(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let store = app.switchboard.store
            let id = try await Self.conversation(app, settings: BotSettings(debounceSeconds: 0))
            let started = Date()
            _ = try await store.feedBot(conversationId: id, [.customerMessage(text: "hi", at: Date())], actor: "webhook", answer: nil, durable: true)
            let due = try #require(try await store.feedBot(conversationId: id, [.answerDue], actor: "bot", answer: nil, durable: false))
            let answer = try #require(due.plan.answer)
            let reply = BotReply(
                conversationId: id,
                text: "Hello!",
                clientId: "bot-answer:1",
                expectedVersion: due.version,
                upTo: answer.upTo,
                disclosed: true,
                modelCall: BotModelCall(durationMilliseconds: 120, promptTokens: 30, completionTokens: 8, failure: nil)
            )
            #expect(try await store.queueBotReply(reply)?.queued == true)
            _ = try await store.feedBot(
                conversationId: id,
                [.customerMessage(text: "and?", at: Date())],
                actor: "webhook",
                answer: nil,
                durable: true
            )
            let failed = BotAnswerRecord(
                outcome: .handover,
                modelCall: BotModelCall(durationMilliseconds: 10_000, promptTokens: nil, completionTokens: nil, failure: "llm.timeout")
            )
            _ = try await store.feedBot(conversationId: id, [.answerFailed(.llmFailed)], actor: "bot", answer: failed, durable: false)

            let response = try await client.execute(uri: "/api/pages/\(Webhook.page)/bot/stats", method: .get, headers: app.auth)
            #expect(response.status == .ok)
            let body = response.json
            #expect(body["pageId"] as? String == Webhook.page)
            #expect(body["replies"] as? Int == 1)
            #expect(body["handovers"] as? [String: Int] == ["llm_failed": 1])
            let llm = try #require(body["llm"] as? [String: Any])
            #expect(llm["calls"] as? Int == 2)
            #expect(llm["p50Ms"] as? Int == 120)
            #expect(llm["p99Ms"] as? Int == 10_000)
            #expect(llm["promptTokens"] as? Int == 30)
            #expect(llm["completionTokens"] as? Int == 8)
            #expect(llm["failures"] as? [String: Int] == ["llm.timeout": 1])
            let since = try #require(body["since"] as? String)
            #expect(try Date(since, strategy: .iso8601) <= started)

            let later = started.addingTimeInterval(3600).iso8601
            let empty = try await client.execute(uri: "/api/pages/\(Webhook.page)/bot/stats?since=\(later)", method: .get, headers: app.auth)
            #expect(empty.json["replies"] as? Int == 0)
            #expect((empty.json["llm"] as? [String: Any])?["p50Ms"] is NSNull)
            let bad = try await client.execute(uri: "/api/pages/\(Webhook.page)/bot/stats?since=yesterday", method: .get, headers: app.auth)
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "invalid_argument")
            #expect(try await client.execute(uri: "/api/pages/nope/bot/stats", method: .get, headers: app.auth).status == .notFound)
        }
    }
}
