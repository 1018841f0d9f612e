import Hummingbird
import SwitchboardCore

/// Lets a request through only with `Authorization: Bearer <API token>` of a live token
/// (cookies join in with the accounts work). No or bad token: 401, nothing else said.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = SwitchboardRequestContext
    let store: any Store

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw APIError(
                .unauthorized,
                "unauthorized",
                "Send an API token as `Authorization: Bearer <token>` (create one with `switchboard token create`).",
                headers: [.wwwAuthenticate: "Bearer"]
            )
        }
        let token = String(header.dropFirst("bearer ".count)).trimmingSpaces()
        guard let name = try await store.apiTokenName(hash: APITokens.hash(token)) else {
            throw APIError(
                .unauthorized,
                "invalid_token",
                "The API token is unknown or revoked.",
                headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""]
            )
        }
        var context = context
        context.principal = "token:\(name)"
        return try await next(request, context)
    }
}
