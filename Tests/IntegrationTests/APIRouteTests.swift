import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardStore
import TestSupport
import Testing

@testable import SwitchboardApp

@Suite("REST API")
struct APIRouteTests {
    @Test("no token, a bad token, a good token", arguments: TestDatabaseKind.all)
    func authentication(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let none = try await client.execute(uri: "/api/conversations", method: .get)
            #expect(none.status == .unauthorized)
            #expect(none.errorCode == "unauthorized")
            #expect(none.headers[.wwwAuthenticate] != nil)
            let bad = try await client.execute(uri: "/api/conversations", method: .get, headers: [.authorization: "Bearer sb_nope"])
            #expect(bad.status == .unauthorized)
            #expect(bad.errorCode == "invalid_token")
            let good = try await client.execute(uri: "/api/conversations", method: .get, headers: app.auth)
            #expect(good.status == .ok)
            #expect(good.json["conversations"] as? [Any] != nil)
            #expect(good.json.keys.contains("nextCursor"))
        }
    }

    @Test("conversations, messages, read, events and errors", arguments: TestDatabaseKind.all)
    func conversationsAndMessages(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let store = app.switchboard.store
            for n in 0..<3 {
                _ = try await store.storeWebhook(
                    body: Webhook.body([Webhook.message(psid: "api", mid: "m_api_\(n)", text: "m\(n)", timestamp: Int64(100 + n))])
                )
            }
            try await InboundDrain(store: store).run()
            let list = try await client.execute(uri: "/api/conversations?limit=10", method: .get, headers: app.auth)
            let conversation = try #require((list.json["conversations"] as? [[String: Any]])?.first)
            let id = try #require(conversation["id"] as? String)
            #expect(conversation["unreadCount"] as? Int == 3)
            #expect((conversation["window"] as? [String: Any])?["state"] as? String != nil)
            let page = try await client.execute(uri: "/api/conversations/\(id)/messages?limit=2", method: .get, headers: app.auth)
            let messages = try #require(page.json["messages"] as? [[String: Any]])
            #expect(messages.map { $0["text"] as? String } == ["m1", "m2"])
            let cursor = try #require(page.json["nextCursor"] as? String)
            let older = try await client.execute(uri: "/api/conversations/\(id)/messages?before=\(cursor)", method: .get, headers: app.auth)
            #expect((older.json["messages"] as? [[String: Any]])?.map { $0["text"] as? String } == ["m0"])
            #expect(older.json["nextCursor"] is NSNull)

            let read = try await client.execute(uri: "/api/conversations/\(id)/read", method: .post, headers: app.auth)
            #expect((read.json["conversation"] as? [String: Any])?["unreadCount"] as? Int == 0)
            let events = try await client.execute(uri: "/api/events?after=0", method: .get, headers: app.auth)
            let names = (events.json["events"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names?.first == "message:new")
            #expect(names?.last == "conversation:read")

            let missing = try await client.execute(uri: "/api/conversations/999999", method: .get, headers: app.auth)
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "conversation_not_found")
            let badLimit = try await client.execute(uri: "/api/conversations?limit=9999", method: .get, headers: app.auth)
            #expect(badLimit.status == .badRequest)
            let badCursor = try await client.execute(uri: "/api/conversations?cursor=%%%", method: .get, headers: app.auth)
            #expect(badCursor.status == .badRequest)
            let noAfter = try await client.execute(uri: "/api/events", method: .get, headers: app.auth)
            #expect(noAfter.status == .badRequest)
            let status = try await client.execute(uri: "/api/status", method: .get, headers: app.auth)
            #expect((status.json["database"] as? [String: Any])?["state"] as? String == "connected")
            #expect(status.json["queue"] != nil)
            #expect((status.json["counts"] as? [String: Any])?["messages"] as? Int == 3)
            let light = try await client.execute(uri: "/api/status?counts=false", method: .get, headers: app.auth)
            #expect(light.status == .ok)
            #expect(light.json["queue"] != nil)
            #expect(light.json["counts"] == nil || light.json["counts"] is NSNull, "counting every table's rows is left out")
            let badFlag = try await client.execute(uri: "/api/status?counts=maybe", method: .get, headers: app.auth)
            #expect(badFlag.status == .badRequest)
            #expect(badFlag.errorCode == "invalid_argument")
        }
    }

    @Test("health, readiness and metrics")
    func operations() async throws {
        try await TestApp.with(.sqlite) { app, client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let body = Webhook.body([Webhook.message(psid: "x", mid: "m_x", text: "t", timestamp: 1)])
            _ = try await client.execute(uri: "/api/webhook/facebook", method: .post, headers: TestApp.signed(body), body: ByteBuffer(bytes: body))
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.text.contains("switchboard_webhook_requests_total"))
            try await app.switchboard.database.transaction { try await $0.query("DELETE FROM schema_migrations") }
            let notReady = try await client.execute(uri: "/readyz", method: .get)
            #expect(notReady.status == .serviceUnavailable)
            #expect(notReady.text.contains("switchboard migrate"))
        }
    }

    @Test("the OpenAPI document describes exactly the routes")
    func openAPIMatchesRoutes() async throws {
        try await TestDatabase.with(.sqlite) { database in
            let switchboard = Switchboard(configuration: TestApp.configuration(), database: database, logger: TestDatabase.logger)
            let routes = Set(
                switchboard.makeRouter(role: .web).routes.map { route in
                    let path = route.path.description.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                    return "\(route.method.rawValue) /\(path.joined(separator: "/"))"
                }
            )
            #expect(routes == OpenAPIDocument.operations)
            let served = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes)) as? [String: Any]
            #expect(served?["openapi"] as? String == "3.1.0")
        }
    }
}
