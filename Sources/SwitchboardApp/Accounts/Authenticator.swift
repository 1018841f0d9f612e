import SwitchboardCore
import SwitchboardStore

/// Resolves callers from what they present (an API token, or the session cookie) for the
/// REST middleware and the Socket.IO handshake alike.
struct Authenticator: Sendable {
    let store: SQLStore
    let cookies: SessionCookie

    /// Why a caller was refused, with the stable code REST answers with.
    enum Refusal: Error, Equatable {
        case noCredentials
        case unknownToken
        case invalidSession

        var code: String {
            switch self {
            case .noCredentials: "unauthorized"
            case .unknownToken: "invalid_token"
            case .invalidSession: "session_invalid"
            }
        }

        var message: String {
            switch self {
            case .noCredentials:
                "Sign in (the sb_session cookie) or send an API token as `Authorization: Bearer <token>` (create one with `switchboard token create`)."
            case .unknownToken: "The API token is unknown or revoked."
            case .invalidSession: "The session has expired or was signed out; sign in again."
            }
        }
    }

    /// The identity of an API token.
    func identity(apiToken token: String) async throws -> Identity {
        guard let name = try await store.apiTokenName(hash: APITokens.hash(token)) else { throw Refusal.unknownToken }
        return .apiToken(name: name)
    }

    /// The identity of the session in a `Cookie` header, with its session token (the
    /// CSRF token derives from it).
    func identity(cookieHeader: String?) async throws -> (Identity, sessionToken: String) {
        guard let header = cookieHeader, header.contains(SessionCookie.name + "=") else { throw Refusal.noCredentials }
        guard let token = cookies.token(fromCookieHeader: header),
            let session = try await store.session(tokenHash: APITokens.hash(token))
        else { throw Refusal.invalidSession }
        return (.user(session.user, sessionId: session.id), token)
    }
}
