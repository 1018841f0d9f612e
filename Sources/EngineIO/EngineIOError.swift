/// An Engine.IO failure with a stable code.
///
/// `code` names the failure for logs and tests (`engineio.invalid_packet`); where the protocol
/// defines a numeric error (the `{"code":n,"message":…}` HTTP body), ``protocolCode`` gives it.
public struct EngineIOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable error codes; new ones may be added, so switch with a default.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case unknownTransport = "engineio.unknown_transport"
            case unknownSession = "engineio.unknown_session"
            case badHandshakeMethod = "engineio.bad_handshake_method"
            case badRequest = "engineio.bad_request"
            case forbidden = "engineio.forbidden"
            case unsupportedProtocolVersion = "engineio.unsupported_protocol_version"
            case invalidPacket = "engineio.invalid_packet"
            case payloadTooLarge = "engineio.payload_too_large"
            case concurrentPoll = "engineio.concurrent_poll"
            case bufferFull = "engineio.buffer_full"
            case sessionClosed = "engineio.session_closed"
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// `transport` is missing or not one this server offers (protocol code 0).
        public static let unknownTransport = Code(.unknownTransport)
        /// `sid` names no open session (protocol code 1).
        public static let unknownSession = Code(.unknownSession)
        /// A handshake used a method other than GET (protocol code 2).
        public static let badHandshakeMethod = Code(.badHandshakeMethod)
        /// The request is not valid for the session's state (protocol code 3).
        public static let badRequest = Code(.badRequest)
        /// The application refused the request (protocol code 4).
        public static let forbidden = Code(.forbidden)
        /// `EIO` is missing or not 4 (protocol code 5).
        public static let unsupportedProtocolVersion = Code(.unsupportedProtocolVersion)
        /// A packet or payload does not parse.
        public static let invalidPacket = Code(.invalidPacket)
        /// A polling body or WebSocket message is larger than `maxPayload`.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// A second GET arrived while one was pending.
        public static let concurrentPoll = Code(.concurrentPoll)
        /// The session's outbound buffer passed its bound (slow client).
        public static let bufferFull = Code(.bufferFull)
        /// The session is closed.
        public static let sessionClosed = Code(.sessionClosed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// Human-readable context; not stable.
    public var message: String

    public init(_ code: Code, _ message: String = "") {
        self.code = code
        self.message = message
    }

    /// The numeric code the Engine.IO protocol puts in HTTP error bodies.
    public var protocolCode: Int {
        switch code.base {
        case .unknownTransport: 0
        case .unknownSession, .sessionClosed: 1
        case .badHandshakeMethod: 2
        case .forbidden: 4
        case .unsupportedProtocolVersion: 5
        default: 3
        }
    }

    /// The message the protocol uses with ``protocolCode``.
    public var protocolMessage: String {
        switch protocolCode {
        case 0: "Transport unknown"
        case 1: "Session ID unknown"
        case 2: "Bad handshake method"
        case 4: "Forbidden"
        case 5: "Unsupported protocol version"
        default: "Bad request"
        }
    }

    /// The JSON body of an HTTP error response: `{"code":n,"message":"…"}`.
    public var protocolBody: String { "{\"code\":\(protocolCode),\"message\":\"\(protocolMessage)\"}" }

    public var description: String { message.isEmpty ? "\(code)" : "\(code): \(message)" }

    /// Errors are equal when their codes are; the message is context only.
    public static func == (lhs: EngineIOError, rhs: EngineIOError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
