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

@Suite("Bot routes")
struct BotRouteTests {
    static let key = "sk-test-very-secret-key"

    @Test("settings: admins only, the key sealed and write-only, bad model refused", arguments: TestDatabaseKind.all)
    func settings(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let store = app.switchboard.store
            let unknown = try await client.execute(uri: "/api/pages/nope/bot", method: .get, headers: app.auth)
            #expect(unknown.status == .notFound)
            try await store.savePage(PageRecord(id: Webhook.page, name: "Shop", sealedAccessToken: nil))
            let off = try await client.execute(uri: "/api/pages/\(Webhook.page)/bot", method: .get, headers: app.auth)
            #expect(off.status == .ok)
            #expect((off.json["bot"] as? [String: Any])?["enabled"] as? Bool == false)

            let body =
                #"{"enabled":true,"settings":{"debounceSeconds":5},"model":{"baseURL":"http://127.0.0.1:3200/v1","model":"m","apiKey":"\#(Self.key)"}}"#
            let saved = try await client.execute(
                uri: "/api/pages/\(Webhook.page)/bot",
                method: .put,
                headers: app.auth + [.contentType: "application/json"],
                body: ByteBuffer(string: body)
            )
            #expect(saved.status == .ok)
            #expect(!saved.text.contains(Self.key))
            let model = ((saved.json["bot"] as? [String: Any])?["model"] as? [String: Any])
            #expect(model?["hasAPIKey"] as? Bool == true)
            let stored = try #require(try await store.botSettings(pageId: Webhook.page))
            #expect(stored.settings.debounceSeconds == 5)
            let sealed = try #require(stored.model?.sealedAPIKey)
            #expect(!String(decoding: sealed, as: UTF8.self).contains(Self.key))
            #expect(try SecretBox(secret: "test-secret-that-is-long-enough").open(sealed) == Self.key)

            // A save without a key keeps the stored one.
            let again = try await client.execute(
                uri: "/api/pages/\(Webhook.page)/bot",
                method: .put,
                headers: app.auth + [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"enabled":true,"model":{"baseURL":"https://llm.example/v1","model":"m2"}}"#)
            )
            #expect(again.status == .ok)
            #expect(try await store.botSettings(pageId: Webhook.page)?.model?.sealedAPIKey == sealed)

            let bad = try await client.execute(
                uri: "/api/pages/\(Webhook.page)/bot",
                method: .put,
                headers: app.auth + [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"enabled":true,"model":{"baseURL":"ftp://x","model":"m"}}"#)
            )
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "bot.settings_invalid")
            let audit = try await store.auditLog(limit: 10)
            #expect(audit.filter { $0.action == "bot.settings_saved" }.count == 2)
        }
    }

    @Test("pause and resume a conversation's bot; bad action, bot off", arguments: TestDatabaseKind.all)
    func pauseResume(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let store = app.switchboard.store
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "p1", mid: "m_bot_1", text: "hi", timestamp: 100)]))
            try await InboundDrain(store: store).run()
            let id = try #require(try await store.conversations(ConversationQuery()).items.first?.id)
            func post(_ action: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/api/conversations/\(id)/bot",
                    method: .post,
                    headers: app.auth + [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"action":"\#(action)"}"#)
                )
            }
            #expect(try await post("pause").status == .conflict)
            try await store.saveBotSettings(pageId: Webhook.page, BotPageSettings(enabled: true))
            #expect(try await post("dance").errorCode == "invalid_action")
            let paused = try await post("pause")
            #expect(paused.status == .ok)
            #expect((paused.json["bot"] as? [String: Any])?["state"] as? String == "paused")
            #expect((paused.json["bot"] as? [String: Any])?["reason"] as? String == "manual")
            let resumed = try await post("resume")
            #expect((resumed.json["bot"] as? [String: Any])?["state"] as? String == "active")
            #expect(try await store.conversation(id: id)?.bot.state == "active")
            let events = try await store.realtimeEvents(after: 0, limit: 100).filter { $0.name == "conversation:bot" }
            #expect(events.count == 2)

            // The "needs human" filter lists the conversation only while its bot is paused.
            func needsHuman() async throws -> Int {
                let list = try await client.execute(uri: "/api/conversations?needsHuman=true", method: .get, headers: app.auth)
                return (list.json["conversations"] as? [Any])?.count ?? -1
            }
            #expect(try await needsHuman() == 0)
            _ = try await post("pause")
            #expect(try await needsHuman() == 1)
        }
    }
}

extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var result = lhs
        result.append(contentsOf: rhs)
        return result
    }
}
