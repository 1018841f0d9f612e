import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore
import SwitchboardStore

/// Sign-in by e-mail link, sessions and the team (docs/accounts-realtime.md).
struct AccountRoutes {
    let store: SQLStore
    let links: SignInLinks
    let cookies: SessionCookie
    /// Disconnects the sockets in a room at once (`user:ID`, `session:ID`).
    let disconnect: @Sendable (_ room: String) async -> Void
    let trustProxy: Bool

    /// Routes that work without a session: asking for a link and using it.
    func registerPublic(on router: Router<SwitchboardRequestContext>) {
        router.post("/api/auth/sign-in") { request, context in
            let body = try await request.decode(as: SignInBody.self, context: context)
            guard let email = EmailAddress.normalized(body.email) else {
                throw APIError(.badRequest, "invalid_email", "Give a valid e-mail address.")
            }
            switch try await links.request(email: email, ip: clientIP(request, context)) {
            case .rateLimited(let seconds):
                throw APIError(
                    .tooManyRequests,
                    "rate_limited",
                    "Too many sign-in links were asked for; try again in \(Self.minutes(seconds)).",
                    headers: [.retryAfter: String(seconds)]
                )
            case .accepted(let devLink):
                return try JSONResponse(
                    SignInAnswer(message: "If \(email) has an account, a sign-in link is on its way.", devLink: devLink),
                    status: .accepted
                )
            }
        }
        router.get("/auth/verify") { request, _ in
            let token = request.uri.queryParameters["token"].map(String.init) ?? ""
            guard !token.isEmpty, let user = try await store.signInLinkUser(tokenHash: APITokens.hash(token)) else {
                return AccountPages.linkUnusable
            }
            return AccountPages.confirm(token: token, email: user.email)
        }
        router.post("/auth/verify") { request, context in
            if let origin = request.headers[.origin],
                URL(string: origin)?.host != request.head.authority?.split(separator: ":").first.map(String.init)
            {
                throw APIError(.forbidden, "origin_mismatch", "Sign-in links are confirmed from this site only.")
            }
            let form = try await request.body.collect(upTo: 4096)
            let token = Self.formValue("token", in: String(buffer: form)) ?? ""
            let (sessionToken, cookie) = cookies.issue()
            guard !token.isEmpty,
                let session = try await store.redeemSignInLink(
                    tokenHash: APITokens.hash(token),
                    sessionTokenHash: APITokens.hash(sessionToken),
                    sessionExpiresAt: store.clock.now().addingTimeInterval(TimeInterval(SessionCookie.lifetime.components.seconds)),
                    userAgent: request.headers[.userAgent],
                    ip: clientIP(request, context)
                )
            else { return AccountPages.linkUnusable }
            try await store.audit(
                actor: "user:\(session.user.id)",
                action: "session.sign_in",
                subject: String(session.id),
                detail: clientIP(request, context)
            )
            return Response(status: .seeOther, headers: [.location: "/", .setCookie: cookies.setCookie(cookie), .cacheControl: "no-store"])
        }
    }

    /// Routes behind the auth middleware.
    func register(on api: RouterGroup<SwitchboardRequestContext>) {
        api.get("/me") { _, context in
            let caller = try context.caller
            return try JSONResponse(
                MeAnswer(
                    user: caller.user,
                    apiToken: caller.user == nil ? String(caller.principal.dropFirst("token:".count)) : nil,
                    csrfToken: context.sessionToken.map(cookies.csrfToken(forSession:))
                )
            )
        }
        api.post("/auth/sign-out") { _, context in
            guard case .user(let user, let sessionId) = try context.caller else { return Self.signedOut(cookies) }
            try await store.revokeSession(id: sessionId)
            try await store.audit(actor: "user:\(user.id)", action: "session.sign_out", subject: String(sessionId))
            await disconnect("session:\(sessionId)")
            return Self.signedOut(cookies)
        }
        api.post("/auth/sign-out-everywhere") { _, context in
            guard case .user(let user, _) = try context.caller else {
                throw APIError(.badRequest, "not_a_session", "API tokens have no sessions; revoke the token instead.")
            }
            let count = try await store.revokeSessions(userId: user.id)
            try await store.audit(actor: "user:\(user.id)", action: "session.sign_out_everywhere", subject: user.id, detail: "\(count) sessions")
            await disconnect("user:\(user.id)")
            return Self.signedOut(cookies)
        }
        api.get("/teammates") { _, _ in
            // Who a conversation can be assigned to: every active user, for agents too.
            let active = try await store.users().filter { $0.disabledAt == nil }
            return try JSONResponse(["teammates": active.map { Teammate(id: $0.id, name: $0.displayName, role: $0.role.rawValue) }])
        }
        api.get("/users") { _, context in
            try context.requireAdmin()
            return try JSONResponse(["users": try await store.users()])
        }
        api.post("/users") { request, context in
            try context.requireAdmin()
            let body = try await request.decode(as: NewUserBody.self, context: context)
            guard let email = EmailAddress.normalized(body.email) else {
                throw APIError(.badRequest, "invalid_email", "Give a valid e-mail address.")
            }
            let role = try Self.role(body.role ?? "agent")
            try await validatePages(body.pageIds)
            guard let user = try await store.createUser(email: email, name: body.name, role: role, pageIds: body.pageIds) else {
                throw APIError(.conflict, "user_exists", "\(email) already has an account.")
            }
            let inviter = try context.caller
            try await store.audit(actor: inviter.principal, action: "user.invite", subject: user.id, detail: "\(email) as \(role.rawValue)")
            let link = try await links.invite(user, by: inviter.user?.displayName ?? "An admin")
            return try JSONResponse(InviteAnswer(user: user, devLink: link), status: .created)
        }
        api.patch("/users/:id") { request, context in
            try context.requireAdmin()
            let id = try context.parameters.require("id")
            let body = try await request.decode(as: UserPatchBody.self, context: context)
            guard let current = try await store.user(id: id) else { throw Self.userNotFound(id) }
            let role = try body.role.map(Self.role)
            if current.role == .admin, role == .agent { try await requireAnotherAdmin() }
            if case .some(let pages) = body.pageIds { try await validatePages(pages) }
            guard let user = try await store.updateUser(id: id, name: body.name, role: role, pageIds: body.pageIds) else {
                throw Self.userNotFound(id)
            }
            try await store.audit(actor: try context.caller.principal, action: "user.update", subject: id, detail: body.summary)
            // Rooms and Page visibility are fixed when a socket connects: reconnecting
            // applies the new rules.
            if role != nil || body.pageIds != nil { await disconnect("user:\(id)") }
            return try JSONResponse(["user": user])
        }
        api.delete("/users/:id") { _, context in
            try context.requireAdmin()
            let id = try context.parameters.require("id")
            guard let user = try await store.user(id: id) else { throw Self.userNotFound(id) }
            if user.role == .admin, user.disabledAt == nil { try await requireAnotherAdmin() }
            _ = try await store.disableUser(id: id)
            try await store.audit(actor: try context.caller.principal, action: "user.disable", subject: id, detail: user.email)
            await disconnect("user:\(id)")
            return Response(status: .noContent)
        }
    }

    private func requireAnotherAdmin() async throws {
        guard try await store.activeAdminCount() > 1 else {
            throw APIError(.conflict, "last_admin", "This is the last admin; make someone else an admin first.")
        }
    }

    private func validatePages(_ pageIds: [String]?) async throws {
        guard let pageIds else { return }
        let known = Set(try await store.pages().map(\.id))
        if let unknown = pageIds.first(where: { !known.contains($0) }) {
            throw APIError(.badRequest, "page_not_found", "No connected Page has the id \(unknown).")
        }
    }

    /// The client's address: the peer, or with `SWITCHBOARD_TRUST_PROXY` the first
    /// `X-Forwarded-For` entry.
    func clientIP(_ request: Request, _ context: SwitchboardRequestContext) -> String? {
        if trustProxy, let forwarded = request.headers[.xForwardedFor]?.split(separator: ",").first {
            return forwarded.trimmingCharacters(in: .whitespaces)
        }
        return context.peerAddress
    }

    static func signedOut(_ cookies: SessionCookie) -> Response {
        Response(status: .noContent, headers: [.setCookie: cookies.clearCookie])
    }

    static func role(_ text: String) throws -> UserRole {
        guard let role = UserRole(rawValue: text) else { throw APIError(.badRequest, "invalid_role", "role must be admin or agent.") }
        return role
    }

    static func userNotFound(_ id: String) -> APIError {
        APIError(.notFound, "user_not_found", "No user has the id \(id).")
    }

    static func minutes(_ seconds: Int) -> String {
        seconds < 60 ? "\(seconds) seconds" : "\((seconds + 59) / 60) minutes"
    }

    /// A value of an `application/x-www-form-urlencoded` body.
    static func formValue(_ name: String, in body: String) -> String? {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == name else { continue }
            return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}

struct SignInBody: Decodable {
    var email: String
}

struct SignInAnswer: Encodable {
    var message: String
    var devLink: String?
}

struct MeAnswer: Encodable {
    var user: User?
    var apiToken: String?
    var csrfToken: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(user, forKey: .user)
        try container.encodeIfPresent(apiToken, forKey: .apiToken)
        try container.encode(csrfToken, forKey: .csrfToken)
    }

    enum CodingKeys: String, CodingKey { case user, apiToken, csrfToken }
}

struct NewUserBody: Decodable {
    var email: String
    var role: String?
    var name: String?
    var pageIds: [String]?
}

struct InviteAnswer: Encodable {
    var user: User
    var devLink: String?
}

/// A PATCH body: a key that is absent changes nothing; `"pageIds": null` means every Page.
struct UserPatchBody: Decodable {
    var name: String??
    var role: String?
    var pageIds: [String]??

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = container.contains(.name) ? .some(try container.decodeIfPresent(String.self, forKey: .name)) : nil
        role = try container.decodeIfPresent(String.self, forKey: .role)
        pageIds = container.contains(.pageIds) ? .some(try container.decodeIfPresent([String].self, forKey: .pageIds)) : nil
    }

    var summary: String {
        [name.map { "name=\($0 ?? "null")" }, role.map { "role=\($0)" }, pageIds.map { "pageIds=\($0?.joined(separator: ",") ?? "all")" }]
            .compactMap { $0 }.joined(separator: " ")
    }

    enum CodingKeys: String, CodingKey { case name, role, pageIds }
}

/// A teammate as any signed-in user sees them: enough to assign a conversation.
struct Teammate: Encodable {
    var id: String
    var name: String
    var role: String
}
