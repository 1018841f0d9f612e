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

/// Sign-in by link, sessions, CSRF, the team and Page visibility, through the real routes
/// on both databases (no SMTP here: development answers carry the link; the mail itself
/// is tested end to end against aiosmtpd in Tests/e2e).
@Suite("Accounts")
struct AccountRouteTests {
    @Test("a link signs in once: confirmation page, cookie, /api/me; a second use and an expired link get 410", arguments: TestDatabaseKind.all)
    func linkSignsInOnce(kind: TestDatabaseKind) async throws {
        let clock = ManualWallClock()
        try await TestApp.with(kind, clock: clock) { app, client in
            _ = try await app.switchboard.store.createUser(email: "ann@example.com", name: "Ann", role: .admin)
            let link = try #require(try await client.requestLink("Ann@Example.com").json["devLink"] as? String)
            let token = try #require(URLComponents(string: link)?.queryItems?.first { $0.name == "token" }?.value)

            let page = try await client.execute(uri: "/auth/verify?token=\(token)", method: .get)
            #expect(page.status == .ok)
            #expect(page.text.contains("ann@example.com") && page.text.contains("<form method=\"post\""))
            let again = try await client.execute(uri: "/auth/verify?token=\(token)", method: .get)
            #expect(again.status == .ok, "showing the confirmation does not use the link up")

            let session = try await client.redeem(token)
            #expect(session.status == .seeOther)
            let setCookie = try #require(session.headers[.setCookie])
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Lax") && !setCookie.contains("Secure"))
            let cookie = try #require(setCookie.split(separator: ";").first.map(String.init))
            let me = try await client.execute(uri: "/api/me", method: .get, headers: [.cookie: cookie])
            #expect(me.status == .ok)
            #expect((me.json["user"] as? [String: Any])?["email"] as? String == "ann@example.com")
            #expect((me.json["csrfToken"] as? String)?.isEmpty == false)

            #expect(try await client.redeem(token).status == .gone, "a link works once")
            #expect(try await client.execute(uri: "/auth/verify?token=\(token)", method: .get).status == .gone)

            let late = try #require(try await client.requestLink("ann@example.com").json["devLink"] as? String)
            clock.advance(by: 15 * 60 + 1)
            let lateToken = try #require(URLComponents(string: late)?.queryItems?.first { $0.name == "token" }?.value)
            #expect(try await client.redeem(lateToken).status == .gone, "expired after 15 minutes")
            #expect(try await client.redeem("not-a-token").status == .gone)
            #expect(try await client.redeem("").status == .gone)
        }
    }

    @Test("the answer never tells whether an address has an account; bad addresses are 400", arguments: TestDatabaseKind.all)
    func noAccountDisclosure(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            _ = try await app.switchboard.store.createUser(email: "ann@example.com", name: nil, role: .admin)
            let known = try await client.requestLink("ann@example.com")
            let unknown = try await client.requestLink("nobody@example.com")
            #expect(known.status == .accepted && unknown.status == .accepted)
            #expect((known.json["message"] as? String)?.hasPrefix("If ann@example.com has an account") == true)
            #expect((unknown.json["message"] as? String)?.hasPrefix("If nobody@example.com has an account") == true)
            #expect(unknown.json["devLink"] == nil || unknown.json["devLink"] is NSNull)
            #expect(try await app.switchboard.store.user(email: "nobody@example.com") == nil, "not the first user: no account made")
            let bad = try await client.requestLink("not an address")
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "invalid_email")
        }
    }

    @Test("rate limits per address and per IP, known address or not, with Retry-After")
    func rateLimits() async throws {
        var configuration = TestApp.configuration()
        configuration.trustProxy = true
        let clock = ManualWallClock()
        try await TestApp.with(.sqlite, configuration: configuration, clock: clock) { _, client in
            for _ in 0..<SignInLinks.perAddress {
                #expect(try await client.requestLink("someone@example.com", ip: "10.0.0.1").status == .accepted)
            }
            let limited = try await client.requestLink("someone@example.com", ip: "10.0.0.2")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.errorCode == "rate_limited")
            #expect(limited.headers[.retryAfter] == "900")
            for n in SignInLinks.perAddress..<SignInLinks.perIP {
                #expect(try await client.requestLink("other\(n)@example.com", ip: "10.0.0.1").status == .accepted)
            }
            #expect(try await client.requestLink("fresh@example.com", ip: "10.0.0.1").status == .tooManyRequests, "the IP's limit")
            #expect(try await client.requestLink("fresh@example.com", ip: "10.0.0.3").status == .accepted, "another IP")
            clock.advance(by: 15 * 60 + 1)
            #expect(try await client.requestLink("someone@example.com", ip: "10.0.0.1").status == .accepted, "the window moved on")
        }
    }

    @Test("on an empty development install the first person to ask becomes admin; in production nobody does")
    func firstAdmin() async throws {
        try await TestApp.with(.sqlite) { app, client in
            let answer = try await client.requestLink("first@example.com")
            #expect(answer.json["devLink"] as? String != nil)
            #expect(try await app.switchboard.store.user(email: "first@example.com")?.role == .admin)
            _ = try await client.requestLink("second@example.com")
            #expect(try await app.switchboard.store.user(email: "second@example.com") == nil)
        }
        var production = TestApp.configuration()
        production.environment = .production
        try await TestApp.with(.sqlite, configuration: production) { app, client in
            let answer = try await client.requestLink("first@example.com")
            #expect(answer.status == .accepted)
            #expect(answer.json["devLink"] == nil || answer.json["devLink"] is NSNull, "production never shows links")
            #expect(try await app.switchboard.store.users().isEmpty)
        }
    }

    @Test("cookie sessions need the CSRF token to change things; forged, signed-out and revoked cookies are refused", arguments: TestDatabaseKind.all)
    func sessionsAndCSRF(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let (cookie, csrf) = try await client.signIn(app, "ann@example.com", role: .admin)
            let noCSRF = try await client.execute(
                uri: "/api/users",
                method: .post,
                headers: [.cookie: cookie],
                body: .json(["email": "bob@example.com"])
            )
            #expect(noCSRF.status == .forbidden)
            #expect(noCSRF.errorCode == "csrf_failed")
            let wrongCSRF = try await client.execute(
                uri: "/api/users",
                method: .post,
                headers: [.cookie: cookie, .csrfToken: "x" + csrf],
                body: .json(["email": "bob@example.com"])
            )
            #expect(wrongCSRF.errorCode == "csrf_failed")
            let invited = try await client.execute(
                uri: "/api/users",
                method: .post,
                headers: [.cookie: cookie, .csrfToken: csrf],
                body: .json(["email": "bob@example.com", "name": "Bob"])
            )
            #expect(invited.status == .created)
            #expect((invited.json["user"] as? [String: Any])?["role"] as? String == "agent")

            let forged = cookie.dropLast(2) + "xx"
            let refused = try await client.execute(uri: "/api/me", method: .get, headers: [.cookie: String(forged)])
            #expect(refused.status == .unauthorized)
            #expect(refused.errorCode == "session_invalid")
            #expect(try await client.execute(uri: "/api/me", method: .get).errorCode == "unauthorized")

            let (second, secondCSRF) = try await client.signIn(app, "ann@example.com")
            let out = try await client.execute(uri: "/api/auth/sign-out", method: .post, headers: [.cookie: cookie, .csrfToken: csrf])
            #expect(out.status == .noContent)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await client.execute(uri: "/api/me", method: .get, headers: [.cookie: cookie]).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/me", method: .get, headers: [.cookie: second]).status == .ok, "only that session ended")
            let everywhere = try await client.execute(
                uri: "/api/auth/sign-out-everywhere",
                method: .post,
                headers: [.cookie: second, .csrfToken: secondCSRF]
            )
            #expect(everywhere.status == .noContent)
            #expect(try await client.execute(uri: "/api/me", method: .get, headers: [.cookie: second]).status == .unauthorized)
            let audit = try await app.switchboard.store.auditLog(limit: 20).map(\.action)
            #expect(audit.contains("session.sign_in") && audit.contains("session.sign_out") && audit.contains("user.invite"))
        }
    }

    @Test("the team: admins only, no duplicate, never without an admin; a disabled user's sessions end", arguments: TestDatabaseKind.all)
    func team(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let (admin, adminCSRF) = try await client.signIn(app, "ann@example.com", role: .admin)
            let (agent, agentCSRF) = try await client.signIn(app, "bob@example.com", role: .agent)
            let adminHeaders: HTTPFields = [.cookie: admin, .csrfToken: adminCSRF]
            let asAgent = try await client.execute(uri: "/api/users", method: .get, headers: [.cookie: agent])
            #expect(asAgent.status == .forbidden)
            let list = try await client.execute(uri: "/api/users", method: .get, headers: [.cookie: admin])
            let users = try #require(list.json["users"] as? [[String: Any]])
            #expect(users.compactMap { $0["email"] as? String }.sorted() == ["ann@example.com", "bob@example.com"])
            let bobId = try #require(users.first { $0["email"] as? String == "bob@example.com" }?["id"] as? String)
            let annId = try #require(users.first { $0["email"] as? String == "ann@example.com" }?["id"] as? String)

            let duplicate = try await client.execute(
                uri: "/api/users",
                method: .post,
                headers: adminHeaders,
                body: .json(["email": "BOB@example.com"])
            )
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorCode == "user_exists")
            let badRole = try await client.execute(
                uri: "/api/users",
                method: .post,
                headers: adminHeaders,
                body: .json(["email": "c@example.com", "role": "root"])
            )
            #expect(badRole.errorCode == "invalid_role")
            let unknownPage = try await client.execute(
                uri: "/api/users/\(bobId)",
                method: .patch,
                headers: adminHeaders,
                body: .json(["pageIds": ["no-such-page"]])
            )
            #expect(unknownPage.errorCode == "page_not_found")
            let lastAdmin = try await client.execute(
                uri: "/api/users/\(annId)",
                method: .patch,
                headers: adminHeaders,
                body: .json(["role": "agent"])
            )
            #expect(lastAdmin.status == .conflict)
            #expect(lastAdmin.errorCode == "last_admin")
            let renamed = try await client.execute(uri: "/api/users/\(bobId)", method: .patch, headers: adminHeaders, body: .json(["name": "Robert"]))
            #expect((renamed.json["user"] as? [String: Any])?["name"] as? String == "Robert")
            #expect((renamed.json["user"] as? [String: Any])?["role"] as? String == "agent", "what is not given does not change")

            let agentWrites = try await client.execute(uri: "/api/users/\(annId)", method: .delete, headers: [.cookie: agent, .csrfToken: agentCSRF])
            #expect(agentWrites.status == .forbidden)
            #expect(try await client.execute(uri: "/api/users/\(bobId)", method: .delete, headers: adminHeaders).status == .noContent)
            #expect(try await client.execute(uri: "/api/me", method: .get, headers: [.cookie: agent]).status == .unauthorized)
            #expect(try await client.requestLink("bob@example.com").json["devLink"] as? String == nil, "a disabled user gets no link")
            #expect(try await client.execute(uri: "/api/users/999999", method: .delete, headers: adminHeaders).errorCode == "user_not_found")
        }
    }

    @Test("an agent limited to one Page sees only its conversations, events and Page", arguments: TestDatabaseKind.all)
    func pageVisibility(kind: TestDatabaseKind) async throws {
        try await TestApp.with(kind) { app, client in
            let store = app.switchboard.store
            try await store.savePage(PageRecord(id: "page-a", name: "A", sealedAccessToken: nil))
            try await store.savePage(PageRecord(id: "page-b", name: "B", sealedAccessToken: nil))
            _ = try await store.storeWebhook(
                body: Webhook.body([Webhook.message(psid: "pa", mid: "m_a", text: "to A", timestamp: 10, page: "page-a")], page: "page-a")
            )
            _ = try await store.storeWebhook(
                body: Webhook.body([Webhook.message(psid: "pb", mid: "m_b", text: "to B", timestamp: 11, page: "page-b")], page: "page-b")
            )
            try await InboundDrain(store: store).run()
            let (cookie, _) = try await client.signIn(app, "bob@example.com", role: .agent, pageIds: ["page-b"])

            let list = try await client.execute(uri: "/api/conversations", method: .get, headers: [.cookie: cookie])
            let visible = try #require(list.json["conversations"] as? [[String: Any]])
            #expect(visible.compactMap { $0["pageId"] as? String } == ["page-b"])
            let all = try await client.execute(uri: "/api/conversations", method: .get, headers: app.auth)
            let hidden = try #require(
                (all.json["conversations"] as? [[String: Any]])?.first { $0["pageId"] as? String == "page-a" }?["id"] as? String
            )
            for path in ["/api/conversations/\(hidden)", "/api/conversations/\(hidden)/messages"] {
                let answer = try await client.execute(uri: path, method: .get, headers: [.cookie: cookie])
                #expect(answer.status == .notFound, "\(path)")
                #expect(answer.errorCode == "conversation_not_found")
            }
            let events = try await client.execute(uri: "/api/events?after=0", method: .get, headers: [.cookie: cookie])
            let eventConversations = Set((events.json["events"] as? [[String: Any]] ?? []).compactMap { $0["conversationId"] as? String })
            #expect(!eventConversations.isEmpty && !eventConversations.contains(hidden))
            let pages = try await client.execute(uri: "/api/pages", method: .get, headers: [.cookie: cookie])
            #expect((pages.json["pages"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["page-b"])
        }
    }

    @Test("a client back after the log was pruned is told to reload", arguments: TestDatabaseKind.all)
    func eventsReload(kind: TestDatabaseKind) async throws {
        let clock = ManualWallClock()
        try await TestApp.with(kind, clock: clock) { app, client in
            let store = app.switchboard.store
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "r", mid: "m_r1", text: "old", timestamp: 10)]))
            try await InboundDrain(store: store).run()
            let first = try await client.execute(uri: "/api/events?after=0", method: .get, headers: app.auth)
            let seen = try #require(first.json["lastEventId"] as? Int)
            #expect(first.json["reload"] as? Bool == false)
            clock.advance(by: 8 * 86_400)
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "r", mid: "m_r2", text: "new", timestamp: 20)]))
            try await InboundDrain(store: store).run()
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "r", mid: "m_r3", text: "newer", timestamp: 30)]))
            try await InboundDrain(store: store).run()
            #expect(try await store.pruneExpired(eventsBefore: clock.now().addingTimeInterval(-7 * 86_400)) > 0)
            let stale = try await client.execute(uri: "/api/events?after=\(seen - 1)", method: .get, headers: app.auth)
            #expect(stale.json["reload"] as? Bool == true)
            let fresh = try await client.execute(uri: "/api/events?after=\(seen)", method: .get, headers: app.auth)
            #expect(fresh.json["reload"] as? Bool == false, "nothing after the last seen event was pruned")
            #expect((fresh.json["events"] as? [[String: Any]])?.isEmpty == false)
        }
    }
}

extension TestClientProtocol {
    func requestLink(_ email: String, ip: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let ip { headers[.xForwardedFor] = ip }
        return try await execute(uri: "/api/auth/sign-in", method: .post, headers: headers, body: .json(["email": email]))
    }

    func redeem(_ token: String) async throws -> TestResponse {
        try await execute(
            uri: "/auth/verify",
            method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: "token=\(token)")
        )
    }

    /// Creates the user (when new) and signs in through the link; returns the cookie and
    /// the CSRF token.
    func signIn(_ app: TestApp, _ email: String, role: UserRole = .agent, pageIds: [String]? = nil) async throws -> (cookie: String, csrf: String) {
        if try await app.switchboard.store.user(email: email) == nil {
            _ = try await app.switchboard.store.createUser(email: email, name: nil, role: role, pageIds: pageIds)
        }
        let link = try #require(try await requestLink(email).json["devLink"] as? String)
        let token = try #require(URLComponents(string: link)?.queryItems?.first { $0.name == "token" }?.value)
        let cookie = try #require(try await redeem(token).headers[.setCookie]?.split(separator: ";").first.map(String.init))
        let csrf = try #require(try await execute(uri: "/api/me", method: .get, headers: [.cookie: cookie]).json["csrfToken"] as? String)
        return (cookie, csrf)
    }
}

extension ByteBuffer {
    static func json(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }
}
