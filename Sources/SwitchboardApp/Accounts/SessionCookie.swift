import Crypto
import Foundation

/// The session cookie and the CSRF token derived from it. The cookie is
/// `sb_session=<token>.<HMAC-SHA256(token)>`: a forged or altered cookie is refused before
/// the database is asked, and the database holds only the token's SHA-256.
struct SessionCookie: Sendable {
    static let name = "sb_session"
    /// How long a session lives without being revoked.
    static let lifetime: Duration = .seconds(30 * 24 * 3600)

    private let key: SymmetricKey
    /// Whether cookies get `Secure` (the public URL is https).
    let secure: Bool

    init(secret: String, secure: Bool) {
        key = SymmetricKey(data: SHA256.hash(data: Data("switchboard session cookie:\(secret)".utf8)))
        self.secure = secure
    }

    /// A new session token and the cookie value carrying it.
    func issue() -> (token: String, value: String) {
        let token = Base64URL.random(bytes: 32)
        return (token, token + "." + signature(token))
    }

    /// The session token inside a `Cookie` header, when our cookie is there and its
    /// signature holds.
    func token(fromCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == Self.name else { continue }
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            guard let dot = value.lastIndex(of: ".") else { return nil }
            let token = String(value[..<dot])
            let given = Data(value[value.index(after: dot)...].utf8)
            guard !token.isEmpty, Self.constantTimeEquals(given, Data(signature(token).utf8)) else { return nil }
            return token
        }
        return nil
    }

    /// The CSRF token of a session: a keyed derivation, so it needs no storage and
    /// changes with the session.
    func csrfToken(forSession token: String) -> String { signature("csrf:" + token) }

    func isValidCSRF(_ given: String?, forSession token: String) -> Bool {
        guard let given else { return false }
        return Self.constantTimeEquals(Data(given.utf8), Data(csrfToken(forSession: token).utf8))
    }

    /// `Set-Cookie` for a new session.
    func setCookie(_ value: String) -> String {
        "\(Self.name)=\(value); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(Self.lifetime.components.seconds)" + (secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that removes the session cookie.
    var clearCookie: String {
        "\(Self.name)=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0" + (secure ? "; Secure" : "")
    }

    private func signature(_ text: String) -> String {
        Base64URL.encode(Array(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
    }

    static func constantTimeEquals(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// URL-safe base64 without padding, for tokens that travel in links and cookies.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func random(bytes count: Int) -> String {
        encode((0..<count).map { _ in UInt8.random(in: 0...255) })
    }
}
