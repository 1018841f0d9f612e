/// Every failure the client reports. Match on ``code``; read ``message`` for people.
///
/// A reply such as `-WRONGTYPE Operation against a key…` is ``Code/server`` with
/// ``serverPrefix`` `"WRONGTYPE"`; a dropped connection, a timeout, a refused password and a
/// TLS failure each have their own code. Codes wrap a private enum so new ones can be added
/// without breaking `switch`es that end in `default`.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case server
            case connectionClosed
            case connectFailed
            case timeout
            case authenticationFailed
            case tls
            case protocolViolation
            case unexpectedResponse
            case poolTimeout
            case clientShutdown
            case invalidConfiguration
            case cancelled
        }

        let base: Base

        /// The server answered with an error reply (`-ERR …`, `-WRONGTYPE …`, `-BUSYGROUP …`).
        public static let server = Code(base: .server)
        /// The connection dropped (or was closed) before the reply arrived.
        public static let connectionClosed = Code(base: .connectionClosed)
        /// The TCP connection could not be made (refused, unreachable, connect timeout).
        public static let connectFailed = Code(base: .connectFailed)
        /// No reply within the command timeout; the connection is closed since replies would
        /// no longer match requests.
        public static let timeout = Code(base: .timeout)
        /// AUTH or HELLO … AUTH was refused (`WRONGPASS`, `NOAUTH`, invalid password).
        public static let authenticationFailed = Code(base: .authenticationFailed)
        /// The TLS handshake failed, e.g. the server certificate did not verify.
        public static let tls = Code(base: .tls)
        /// The server sent bytes that are not valid RESP, or broke a parser limit.
        public static let protocolViolation = Code(base: .protocolViolation)
        /// A valid reply whose shape does not fit the command's decoder.
        public static let unexpectedResponse = Code(base: .unexpectedResponse)
        /// No pooled connection became free within the acquire timeout.
        public static let poolTimeout = Code(base: .poolTimeout)
        /// The client has shut down (its `run()` ended).
        public static let clientShutdown = Code(base: .clientShutdown)
        /// A URL or option that cannot work.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// The waiting task was cancelled.
        public static let cancelled = Code(base: .cancelled)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// For ``Code/server``: the first word of the error reply (`ERR`, `WRONGTYPE`, `NOSCRIPT`).
    public var serverPrefix: String?
    /// Human-readable detail: the server's text, or what went wrong locally.
    public var message: String
    /// The error underneath, when one exists (a NIO or TLS error).
    public var underlying: (any Error)?

    public init(_ code: Code, message: String, serverPrefix: String? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.serverPrefix = serverPrefix
        self.underlying = underlying
    }

    /// Builds a server error from the full text of an error reply (`"WRONGTYPE Operation…"`).
    public static func server(_ text: String) -> RedisError {
        let prefix = text.prefix { $0 != " " }
        let rest = text.dropFirst(prefix.count).drop { $0 == " " }
        let isUpper = !prefix.isEmpty && prefix.allSatisfy { $0.isUppercase || $0 == "_" || $0.isNumber }
        if isUpper {
            return RedisError(.server, message: String(rest), serverPrefix: String(prefix))
        }
        return RedisError(.server, message: text, serverPrefix: nil)
    }

    /// `XGROUP CREATE` on a group that exists: safe to ignore when creating idempotently.
    public var isBusyGroup: Bool { serverPrefix == "BUSYGROUP" }
    /// `EVALSHA` of a script the server has not cached.
    public var isNoScript: Bool { serverPrefix == "NOSCRIPT" }
    /// A command against a key holding the wrong kind of value.
    public var isWrongType: Bool { serverPrefix == "WRONGTYPE" }

    public var description: String {
        switch code {
        case .server:
            if let serverPrefix { return "Redis error \(serverPrefix): \(message)" }
            return "Redis error: \(message)"
        default:
            if let underlying { return "Redis \(code): \(message) (\(underlying))" }
            return "Redis \(code): \(message)"
        }
    }
}
