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

/// `POST /api/conversations/{id}/messages/{messageId}/retry`: a failed message is queued
/// again as a new attempt (one row, a new send job, audited), never twice, and only when
/// Messenger's windows still allow its author to write.
@Suite("Retry route")
struct RetryRouteTests {
    @Test("a failed message is queued again once; a sent one is not", arguments: TestDatabaseKind.all)
    func retry(kind: TestDatabaseKind) async throws {
        let clock = ManualWallClock()
        try await TestApp.with(kind, clock: clock) { app, client in
            let store = app.switchboard.store
            let conversation = try await Self.customerWrote(app, psid: "retry", at: clock.now())
            let id = try await Self.send(app, client, conversation, "Your parcel left today.")
            try await Self.failNextSend(store, message: id, "(#100) Invalid parameter")
            let events = app.switchboard.hub.subscribe()

            clock.advance(by: 60)
            let first = try await client.execute(uri: "/api/conversations/\(conversation)/messages/\(id)/retry", method: .post, headers: app.auth)
            #expect(first.status == .accepted, "\(first.text)")
            let message = try #require(first.json["message"] as? [String: Any])
            #expect(message["id"] as? String == id)
            #expect(message["status"] as? String == "queued")
            #expect(message["error"] is NSNull)
            #expect(message["text"] as? String == "Your parcel left today.")
            #expect(message["timestamp"] as? String == clock.now().iso8601, "it goes out now, at the end of the thread")
            #expect(try await store.queue.stats().byKind["message.send"] == 1)
            let audit = try await store.auditLog(limit: 5).first { $0.action == "message.retried" }
            #expect(audit?.subject == "message:\(id)")
            #expect(audit?.detail?.contains("Invalid parameter") == true)
            var iterator = events.makeAsyncIterator()
            let event = try #require(await iterator.next())
            #expect(event.name == "message:status" && event.payload.contains(#""status":"queued""#))

            // A second press (a double click, another agent) queues nothing more.
            let again = try await client.execute(uri: "/api/conversations/\(conversation)/messages/\(id)/retry", method: .post, headers: app.auth)
            #expect(again.status == .accepted)
            #expect(try await store.queue.stats().byKind["message.send"] == 1)

            // Once sent, there is nothing to retry.
            let job = try #require(try await store.queue.claim(limit: 1, worker: "test", lease: .seconds(60)).first)
            _ = try await store.markOutboundSent(messageId: id, mid: "m_sent_retry", requestedAt: clock.now().millisecondsSince1970, completing: job)
            let sent = try await client.execute(uri: "/api/conversations/\(conversation)/messages/\(id)/retry", method: .post, headers: app.auth)
            #expect(sent.status == .conflict)
            #expect(sent.errorCode == "message_not_failed")

            // Only outbound messages of this conversation.
            let inbound = try #require(
                try await store.messages(conversationId: conversation, limit: 10, before: nil).items.first { $0.direction == .inbound }
            )
            for (conversationId, messageId) in [(conversation, inbound.id), (conversation, "999999"), ("999999", id)] {
                let missing = try await client.execute(
                    uri: "/api/conversations/\(conversationId)/messages/\(messageId)/retry",
                    method: .post,
                    headers: app.auth
                )
                #expect(missing.status == .notFound, "\(conversationId)/\(messageId)")
            }
        }
    }

    @Test("the windows and an unreachable customer refuse a retry", arguments: TestDatabaseKind.all)
    func windows(kind: TestDatabaseKind) async throws {
        let clock = ManualWallClock()
        try await TestApp.with(kind, clock: clock) { app, client in
            let store = app.switchboard.store
            let conversation = try await Self.customerWrote(app, psid: "late", at: clock.now())
            let agentMessage = try await Self.send(app, client, conversation, "An agent's answer")
            try await Self.failNextSend(store, message: agentMessage, "Meta had a problem")
            let (bot, _, _) = try await store.enqueueOutbound(
                OutboundDraft(conversationId: conversation, text: "The bot's answer", clientId: "bot-1", author: .bot)
            )
            try await Self.failNextSend(store, message: bot.id, "Meta had a problem")

            // Two days on: a person may still write (HUMAN_AGENT), the bot may not.
            clock.advance(by: 2 * 86_400)
            let botRetry = try await client.execute(
                uri: "/api/conversations/\(conversation)/messages/\(bot.id)/retry",
                method: .post,
                headers: app.auth
            )
            #expect(botRetry.status == .unprocessableContent)
            #expect(botRetry.errorCode == "window_automation_after_24h")
            // Eight days on: nobody may.
            clock.advance(by: 6 * 86_400)
            let closed = try await client.execute(
                uri: "/api/conversations/\(conversation)/messages/\(agentMessage)/retry",
                method: .post,
                headers: app.auth
            )
            #expect(closed.status == .unprocessableContent)
            #expect(closed.errorCode == "window_closed")

            // Meta said the customer cannot be reached: retrying would only fail again.
            let other = try await Self.customerWrote(app, psid: "gone", at: clock.now())
            let unreachable = try await Self.send(app, client, other, "Hello?")
            let job = try #require(try await store.queue.claim(limit: 1, worker: "test", lease: .seconds(60)).first)
            _ = try await store.markOutboundFailed(
                messageId: unreachable,
                error: MessageError(code: 551, subcode: 1_545_041, message: "This person isn't available right now."),
                contactUnreachable: true,
                completing: job
            )
            let refused = try await client.execute(uri: "/api/conversations/\(other)/messages/\(unreachable)/retry", method: .post, headers: app.auth)
            #expect(refused.status == .unprocessableContent)
            #expect(refused.errorCode == "contact_unreachable")
            #expect(try await store.queue.stats().byKind["message.send"] == nil, "nothing was queued")
        }
    }

    /// The customer writes at `at`; returns the conversation's id.
    static func customerWrote(_ app: TestApp, psid: String, at: Date) async throws -> String {
        let store = app.switchboard.store
        let body = Webhook.body([
            Webhook.message(psid: psid, mid: "m_\(psid)_\(at.millisecondsSince1970)", text: "hi", timestamp: at.millisecondsSince1970)
        ])
        _ = try await store.storeWebhook(body: body)
        try await InboundDrain(store: store).run()
        return try #require(try await store.conversations(ConversationQuery()).items.first { $0.contact.psid == psid }?.id)
    }

    /// An agent's reply through the API; returns its id.
    static func send(_ app: TestApp, _ client: some TestClientProtocol, _ conversation: String, _ text: String) async throws -> String {
        let answer = try await client.execute(
            uri: "/api/conversations/\(conversation)/messages",
            method: .post,
            headers: app.auth + [.contentType: "application/json"],
            body: .json(["text": text, "clientId": UUID().uuidString])
        )
        #expect(answer.status == .accepted)
        return try #require((answer.json["message"] as? [String: Any])?["id"] as? String)
    }

    /// The sender takes the message's job and Meta refuses it.
    static func failNextSend(_ store: SQLStore, message: String, _ reason: String) async throws {
        let job = try #require(try await store.queue.claim(limit: 1, worker: "test", lease: .seconds(60)).first)
        #expect(String(decoding: job.payload, as: UTF8.self) == message)
        _ = try await store.markOutboundFailed(
            messageId: message,
            error: MessageError(code: 100, subcode: nil, message: reason, kind: "graph.invalid_parameter"),
            contactUnreachable: false,
            completing: job
        )
    }
}
