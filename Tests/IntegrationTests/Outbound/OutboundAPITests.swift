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

@Suite("Outbound API", .timeLimit(.minutes(2)))
struct OutboundAPITests {
    /// A conversation whose customer last wrote `ago` seconds before the clock's now.
    static func conversation(_ app: TestApp, clock: ManualWallClock, ago: TimeInterval) async throws -> String {
        let store = app.switchboard.store
        let at = clock.now().addingTimeInterval(-ago).millisecondsSince1970
        _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "api-out", mid: "m_api_out", text: "hello", timestamp: at)]))
        try await InboundDrain(store: store).run()
        return try #require(try await store.conversations(ConversationQuery()).items.first?.id)
    }

    static func post(_ client: some TestClientProtocol, _ app: TestApp, _ uri: String, _ json: String) async throws -> TestResponse {
        var headers = app.auth
        headers[.contentType] = "application/json"
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    static func sendJobs(_ app: TestApp) async throws -> Int {
        try await app.switchboard.store.queue.stats().byKind[JobKind.sendMessage.rawValue] ?? 0
    }

    @Test("202 queued with the principal; the same clientId returns the same message and queues nothing", arguments: TestDatabaseKind.all)
    func sendIsIdempotent(kind: TestDatabaseKind) async throws {
        let clock = ManualWallClock()
        try await TestApp.with(kind, clock: clock) { app, client in
            let id = try await Self.conversation(app, clock: clock, ago: 60)
            let first = try await Self.post(client, app, "/api/conversations/\(id)/messages", #"{"text":"Hi there","clientId":"c-1"}"#)
            #expect(first.status == .accepted)
            let message = try #require(first.json["message"] as? [String: Any])
            #expect(message["status"] as? String == "queued")
            #expect(message["author"] as? String == "agent")
            #expect(message["direction"] as? String == "out")
            #expect(message["authorId"] as? String == "token:test")
            #expect(message["clientId"] as? String == "c-1")
            let again = try await Self.post(client, app, "/api/conversations/\(id)/messages", #"{"text":"Hi there","clientId":"c-1"}"#)
            #expect(again.status == .accepted)
            #expect((again.json["message"] as? [String: Any])?["id"] as? String == message["id"] as? String)
            // What the first request queued answers a repeat that would now be refused.
            let changed = try await Self.post(client, app, "/api/conversations/\(id)/messages", #"{"text":"  ","clientId":"c-1"}"#)
            #expect(changed.status == .accepted)
            #expect((changed.json["message"] as? [String: Any])?["id"] as? String == message["id"] as? String)
            #expect(try await Self.sendJobs(app) == 1)
            let thread = try await app.switchboard.store.messages(conversationId: id, limit: 50, before: nil).items
            #expect(thread.filter { $0.direction == .outbound }.count == 1)
        }
    }

    @Test("empty, too long, invalid attachment, unknown conversation: 4xx with a code, nothing queued", arguments: TestDatabaseKind.all)
    func refusals(kind: TestDatabaseKind) async throws {
        let clock = ManualWallClock()
        try await TestApp.with(kind, clock: clock) { app, client in
            let id = try await Self.conversation(app, clock: clock, ago: 60)
            let uri = "/api/conversations/\(id)/messages"
            let empty = try await Self.post(client, app, uri, #"{"text":"   ","clientId":"e"}"#)
            #expect(empty.status == .badRequest)
            #expect(empty.errorCode == "message_empty")
            let long = String(repeating: "a", count: 2001)
            let tooLong = try await Self.post(client, app, uri, #"{"text":"\#(long)","clientId":"l"}"#)
            #expect(tooLong.status == .badRequest)
            #expect(tooLong.errorCode == "message_too_long")
            let exactly = try await Self.post(client, app, uri, #"{"text":"\#(String(repeating: "b", count: 2000))","clientId":"ok"}"#)
            #expect(exactly.status == .accepted)
            let attachment = try await Self.post(client, app, uri, #"{"attachment":{"type":"hologram","url":"https://x.test/a"},"clientId":"a"}"#)
            #expect(attachment.errorCode == "attachment_invalid")
            let missing = try await Self.post(client, app, "/api/conversations/999999/messages", #"{"text":"hi","clientId":"m"}"#)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "conversation_not_found")
            let garbage = try await Self.post(client, app, uri, "{nope")
            #expect(garbage.status == .badRequest)
            #expect(try await Self.sendJobs(app) == 1)
        }
    }

    @Test("windows at the API: 23 h 59 m open, 24 h 1 m a person may reply, 7 d 1 m refused", arguments: TestDatabaseKind.all)
    func windows(kind: TestDatabaseKind) async throws {
        let clock = ManualWallClock()
        try await TestApp.with(kind, clock: clock) { app, client in
            let id = try await Self.conversation(app, clock: clock, ago: 0)
            let uri = "/api/conversations/\(id)/messages"
            clock.advance(by: 23 * 3600 + 59 * 60)
            #expect(try await Self.post(client, app, uri, #"{"text":"a","clientId":"w1"}"#).status == .accepted)
            clock.advance(by: 2 * 60)
            let conversation = try await client.execute(uri: "/api/conversations/\(id)", method: .get, headers: app.auth)
            #expect(((conversation.json["conversation"] as? [String: Any])?["window"] as? [String: Any])?["state"] as? String == "human_agent")
            #expect(try await Self.post(client, app, uri, #"{"text":"b","clientId":"w2"}"#).status == .accepted)
            clock.advance(by: 6 * 86400)
            let closed = try await Self.post(client, app, uri, #"{"text":"c","clientId":"w3"}"#)
            #expect(closed.status == .unprocessableContent)
            #expect(closed.errorCode == "window_closed")
            #expect(try await Self.sendJobs(app) == 2)
            let thread = try await app.switchboard.store.messages(conversationId: id, limit: 50, before: nil).items
            #expect(thread.filter { $0.direction == .outbound }.map(\.clientId) == ["w1", "w2"], "the refused message left no row")
            // An earlier clientId still answers with its message, window or not.
            #expect(try await Self.post(client, app, uri, #"{"text":"a","clientId":"w1"}"#).status == .accepted)
        }
    }

    @Test("Pages list shows state, never tokens", arguments: TestDatabaseKind.all)
    func pagesList(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let box = SecretBox(secret: app.switchboard.configuration.secret.value)
            try await app.switchboard.store.savePage(PageRecord(id: "123", name: "Shop", sealedAccessToken: try box.seal("EAA-list-token")))
            try await app.switchboard.store.markPageReauthorizationRequired(pageId: "123", reason: "token expired")
            let list = try await client.execute(uri: "/api/pages", method: .get, headers: app.auth)
            #expect(list.status == .ok)
            let page = try #require((list.json["pages"] as? [[String: Any]])?.first)
            #expect(page["state"] as? String == "reauthorization_required")
            #expect(page["connected"] as? Bool == true)
            #expect(!list.text.contains("EAA-list-token"))
        }
    }
}
