import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

@testable import SwitchboardApp

/// What the Pages screen and the assign menu read: the webhook settings (the verify token
/// for admins only) and the team directory every agent may see.
@Suite("Pages and teammates for the dashboard")
struct PageSettingsRouteTests {
    @Test("admins get the callback URL and verify token; agents get null", arguments: TestDatabaseKind.all)
    func webhookSettings(kind: TestDatabaseKind) async throws {
        var configuration = TestApp.configuration()
        configuration.publicURL = "https://inbox.example.com"
        try await TestApp.with(kind, configuration: configuration) { app, client in
            try await app.switchboard.store.savePage(PageRecord(id: "42", name: "Shop", sealedAccessToken: nil))
            let admin = try await client.execute(uri: "/api/pages", method: .get, headers: app.auth)
            let webhook = try #require(admin.json["webhook"] as? [String: Any])
            #expect(webhook["callbackUrl"] as? String == "https://inbox.example.com/api/webhook/facebook")
            #expect(webhook["verifyToken"] as? String == TestApp.verifyToken)
            #expect((webhook["fields"] as? [String])?.contains("message_echoes") == true)
            #expect((admin.json["pages"] as? [[String: Any]])?.first?["id"] as? String == "42")

            let agent = try await client.signIn(app, "agent@example.com")
            let answer = try await client.execute(uri: "/api/pages", method: .get, headers: [.cookie: agent.cookie])
            #expect(answer.status == .ok)
            #expect(answer.json["webhook"] is NSNull, "the verify token is never shown to agents")
            #expect(!answer.text.contains(TestApp.verifyToken))
            #expect((answer.json["pages"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test("teammates: every active user by name, for agents too", arguments: TestDatabaseKind.all)
    func teammates(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let store = app.switchboard.store
            let ann = try #require(try await store.createUser(email: "ann@example.com", name: "Ann", role: .admin))
            let gone = try #require(try await store.createUser(email: "gone@example.com", name: "Gone", role: .agent))
            _ = try await store.disableUser(id: gone.id)
            let bob = try await client.signIn(app, "bob@example.com")
            let answer = try await client.execute(uri: "/api/teammates", method: .get, headers: [.cookie: bob.cookie])
            #expect(answer.status == .ok)
            let team = try #require(answer.json["teammates"] as? [[String: Any]])
            #expect(Set(team.compactMap { $0["name"] as? String }) == ["Ann", "bob@example.com"])
            #expect(team.first { $0["id"] as? String == ann.id }?["role"] as? String == "admin")
            #expect(!answer.text.contains("gone@example.com"))
            #expect(try await client.execute(uri: "/api/teammates", method: .get).status == .unauthorized)
        }
    }
}
