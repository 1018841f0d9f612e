import Foundation
import Logging
import SMTP
import SwitchboardCore
import SwitchboardStore

/// Sign-in links (docs/accounts-realtime.md): 32 random bytes, stored as SHA-256, single
/// use, valid 15 minutes, mailed in the background. Every request is recorded and counted
/// the same way whether or not the address has an account, so neither the answer, its
/// timing nor the rate limit tells them apart.
struct SignInLinks: Sendable {
    static let lifetime: TimeInterval = 15 * 60
    /// Requests allowed per address, and per IP, in `window`.
    static let perAddress = 5
    static let perIP = 20
    static let window: TimeInterval = 15 * 60

    let store: SQLStore
    let outbox: MailOutbox?
    /// Where links point (`NEXTAUTH_URL`, else the listening address).
    let baseURL: String
    /// Development prints links and shows them on the page when no SMTP is configured,
    /// and lets the first person who asks on an empty install become its admin.
    let development: Bool
    let logger: Logger

    enum Outcome: Equatable {
        /// Accepted (whatever happens next); the link itself only in development without SMTP.
        case accepted(devLink: String?)
        case rateLimited(retryAfterSeconds: Int)
    }

    enum Purpose {
        case signIn
        case invitation(by: String)
    }

    /// Handles "mail me a link" for an address.
    func request(email: String, ip: String?) async throws -> Outcome {
        let now = store.clock.now()
        let history = try await store.signInRequests(email: email, ip: ip, since: now.addingTimeInterval(-Self.window))
        if let retry = Self.retryAfter(history.byEmail, limit: Self.perAddress, now: now)
            ?? Self.retryAfter(history.byIP, limit: Self.perIP, now: now)
        {
            logger.notice("sign-in requests rate-limited", metadata: ["ip": "\(ip ?? "-")"])
            return .rateLimited(retryAfterSeconds: retry)
        }
        var user = try await store.user(email: email)
        if user == nil, development, let first = try await store.createFirstAdmin(email: email) {
            logger.notice("no user existed: \(email) becomes the first admin (development only)")
            try await store.audit(actor: "system", action: "user.bootstrap_admin", subject: first.id, detail: email)
            user = first
        }
        let token = Base64URL.random(bytes: 32)
        try await store.recordSignInRequest(
            email: email,
            tokenHash: APITokens.hash(token),
            ip: ip,
            expiresAt: now.addingTimeInterval(Self.lifetime)
        )
        guard let user, user.disabledAt == nil else { return .accepted(devLink: nil) }
        return .accepted(devLink: deliver(link(token), to: user, purpose: .signIn))
    }

    /// Mails an invitation link to a new user; the link itself only in development
    /// without SMTP.
    func invite(_ user: User, by inviter: String) async throws -> String? {
        try await deliver(issue(for: user), to: user, purpose: .invitation(by: inviter))
    }

    /// A fresh link for a user, outside the rate limits (`switchboard user link`, invitations).
    func issue(for user: User) async throws -> String {
        let token = Base64URL.random(bytes: 32)
        try await store.recordSignInRequest(
            email: user.email,
            tokenHash: APITokens.hash(token),
            ip: nil,
            expiresAt: store.clock.now().addingTimeInterval(Self.lifetime)
        )
        return link(token)
    }

    func link(_ token: String) -> String { "\(baseURL)/auth/verify?token=\(token)" }

    /// Sends the link by mail, or in development without SMTP prints it and returns it.
    private func deliver(_ link: String, to user: User, purpose: Purpose) -> String? {
        if let outbox, let message = try? Self.mail(link, to: user, purpose: purpose) {
            outbox.post(message)
            return nil
        }
        if development {
            logger.notice("sign-in link for \(user.email) (no SMTP configured; development only): \(link)")
            return link
        }
        logger.error("a sign-in link was requested but no SMTP server is configured (EMAIL_SERVER_HOST); use `switchboard user link EMAIL`")
        return nil
    }

    /// Seconds until the oldest request in the window leaves it, when the limit is reached.
    static func retryAfter(_ requests: [Date], limit: Int, now: Date) -> Int? {
        guard requests.count >= limit, let oldest = requests.first else { return nil }
        return max(1, Int((oldest.addingTimeInterval(window).timeIntervalSince(now)).rounded(.up)))
    }

    static func mail(_ link: String, to user: User, purpose: Purpose) throws -> MailMessage {
        let minutes = Int(lifetime / 60)
        let subject: String
        let intro: String
        switch purpose {
        case .signIn:
            subject = "Sign in to Switchboard"
            intro = "Use this link to sign in to Switchboard."
        case .invitation(let inviter):
            subject = "You are invited to Switchboard"
            intro = "\(inviter) invited you to the team inbox on Switchboard. Use this link to sign in."
        }
        let text = """
            \(intro)

            \(link)

            The link works once and expires in \(minutes) minutes. If you did not ask for it, ignore this mail.
            """
        let html = """
            <p>\(HTML.escape(intro))</p>
            <p><a href="\(HTML.escape(link))" style="display:inline-block;padding:10px 18px;background:#2563eb;color:#fff;\
            border-radius:6px;text-decoration:none">Sign in</a></p>
            <p style="color:#555">The link works once and expires in \(minutes) minutes. If you did not ask for it, ignore this mail.</p>
            """
        return MailMessage(to: [try MailAddress(user.email, displayName: user.name)], subject: subject, text: text, html: html)
    }
}

/// Escaping for the few server-rendered pages and mails.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
