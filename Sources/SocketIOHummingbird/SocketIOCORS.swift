public import Hummingbird

/// Cross-origin settings for the polling transport (WebSocket upgrades are not subject to
/// CORS). Mirrors the reference server's `cors` option.
public struct SocketIOCORS: Sendable, Hashable {
    /// Which origins get `Access-Control-Allow-Origin`.
    public enum Origins: Sendable, Hashable {
        /// No CORS headers (same-origin only).
        case none
        /// Any origin (`*`, or the request's origin when credentials are allowed).
        case any
        /// Exactly these origins, e.g. `https://app.example.com`.
        case list(Set<String>)
    }

    public var origins: Origins
    /// Sends `Access-Control-Allow-Credentials: true` (cookies on cross-origin polling).
    public var allowCredentials: Bool

    public init(origins: Origins = .none, allowCredentials: Bool = false) {
        self.origins = origins
        self.allowCredentials = allowCredentials
    }

    /// Any origin, no credentials.
    public static let allowAll = SocketIOCORS(origins: .any)

    /// The headers to add for a request carrying `origin`.
    public func headers(origin: String?, preflight: Bool, requestedHeaders: String?) -> HTTPFields {
        var fields = HTTPFields()
        guard let origin else { return fields }
        let allowed: String?
        switch origins {
        case .none: allowed = nil
        case .any: allowed = allowCredentials ? origin : "*"
        case .list(let list): allowed = list.contains(origin) ? origin : nil
        }
        guard let allowed else { return fields }
        fields[.accessControlAllowOrigin] = allowed
        if allowed != "*" { fields[.vary] = "Origin" }
        if allowCredentials { fields[.accessControlAllowCredentials] = "true" }
        if preflight {
            fields[.accessControlAllowMethods] = "GET, POST"
            if let requestedHeaders { fields[.accessControlAllowHeaders] = requestedHeaders }
            fields[.accessControlMaxAge] = "86400"
        }
        return fields
    }
}
