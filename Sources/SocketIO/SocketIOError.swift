/// A Socket.IO failure with a stable code (`socketio.invalid_packet`); `message` is context.
public struct SocketIOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable codes; new ones may be added, so switch with a default.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case invalidPacket = "socketio.invalid_packet"
            case invalidPayload = "socketio.invalid_payload"
            case invalidNamespace = "socketio.invalid_namespace"
            case tooManyAttachments = "socketio.too_many_attachments"
            case unexpectedBinary = "socketio.unexpected_binary"
            case ackTimeout = "socketio.ack_timeout"
            case disconnected = "socketio.disconnected"
            case decodingFailed = "socketio.decoding_failed"
            case encodingFailed = "socketio.encoding_failed"
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The packet header does not parse (type, attachments, namespace, ack id).
        public static let invalidPacket = Code(.invalidPacket)
        /// The JSON payload does not parse or is not valid for the packet type.
        public static let invalidPayload = Code(.invalidPayload)
        /// A packet for a namespace the client is not connected to.
        public static let invalidNamespace = Code(.invalidNamespace)
        /// More binary attachments announced than allowed.
        public static let tooManyAttachments = Code(.tooManyAttachments)
        /// A binary frame arrived when no attachment was expected.
        public static let unexpectedBinary = Code(.unexpectedBinary)
        /// The client did not acknowledge in time.
        public static let ackTimeout = Code(.ackTimeout)
        /// The socket disconnected before the operation completed.
        public static let disconnected = Code(.disconnected)
        /// Event arguments did not decode into the requested type.
        public static let decodingFailed = Code(.decodingFailed)
        /// A value could not be encoded as event arguments.
        public static let encodingFailed = Code(.encodingFailed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public var description: String { message.isEmpty ? "\(code)" : "\(code): \(message)" }

    /// Errors are equal when their codes are; the message is context only.
    public static func == (lhs: SocketIOError, rhs: SocketIOError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
