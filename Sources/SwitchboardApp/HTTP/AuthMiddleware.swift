import HTTPTypes
import Hummingbird
import SwitchboardCore

/// Lets a request through with `Authorization: Bearer <API token>` or the session cookie.
/// A request that changes state with the cookie must also carry `X-CSRF-Token` (the
/// cookie is ambient authority; a bearer token is not). Refusals are 401 or 403 with a
/// stable code and nothing else said.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = SwitchboardRequestContext
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        do {
            if let header = request.headers[.authorization] {
                guard header.lowercased().hasPrefix("bearer ") else { throw Authenticator.Refusal.noCredentials }
                context.identity = try await authenticator.identity(apiToken: String(header.dropFirst("bearer ".count)).trimmingSpaces())
            } else {
                let (identity, token) = try await authenticator.identity(cookieHeader: request.headers[.cookie])
                context.identity = identity
                context.sessionToken = token
                if ![.get, .head, .options].contains(request.method),
                    !authenticator.cookies.isValidCSRF(request.headers[.csrfToken], forSession: token)
                {
                    throw APIError(
                        .forbidden,
                        "csrf_failed",
                        "Send the csrfToken from GET /api/me as the X-CSRF-Token header with requests that change something."
                    )
                }
            }
        } catch let refusal as Authenticator.Refusal {
            let challenge = refusal == .unknownToken ? "Bearer error=\"invalid_token\"" : "Bearer"
            throw APIError(.unauthorized, refusal.code, refusal.message, headers: [.wwwAuthenticate: challenge])
        }
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let csrfToken = Self("X-CSRF-Token")!
}

extension SwitchboardRequestContext {
    /// The caller (the auth middleware ran before any route that asks).
    var caller: Identity {
        get throws {
            guard let identity else { throw APIError(.unauthorized, "unauthorized", "Sign in first.") }
            return identity
        }
    }

    /// Refuses callers who are not admins (403 `forbidden`).
    func requireAdmin() throws {
        guard try caller.isAdmin else {
            throw APIError(.forbidden, "forbidden", "Only an admin may do this.")
        }
    }
}
