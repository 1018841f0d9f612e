/// The step of an SMTP session an error happened in.
public enum SMTPStep: String, Sendable, Hashable, CustomStringConvertible {
    case connect
    case greeting
    case ehlo
    case helo
    case startTLS
    case tlsHandshake
    case authentication
    case mailFrom
    case recipient
    case data
    case messageBody
    case quit
    case message

    public var description: String { rawValue }
}

/// A recipient the server refused, with its reply (code, enhanced status and text).
public struct SMTPRecipientRejection: Sendable, Hashable, CustomStringConvertible {
    public var recipient: String
    public var reply: SMTPReply

    public init(recipient: String, reply: SMTPReply) {
        self.recipient = recipient
        self.reply = reply
    }

    public var description: String { "\(recipient): \(reply)" }
}

/// Every failure of the SMTP client: a stable ``Code`` plus context.
///
/// The code's description (`smtp.auth_rejected`) is stable and meant for logs, metrics and
/// tests; ``reply`` keeps the server's reply with its enhanced status code (`5.7.8`). Never
/// holds a secret.
public struct SMTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable error code; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidConfiguration = "smtp.invalid_configuration"
            case invalidMessage = "smtp.invalid_message"
            case connectionFailed = "smtp.connection_failed"
            case connectionClosed = "smtp.connection_closed"
            case timeout = "smtp.timeout"
            case tlsHandshakeFailed = "smtp.tls_handshake_failed"
            case protocolViolation = "smtp.protocol_violation"
            case greetingRejected = "smtp.greeting_rejected"
            case helloRejected = "smtp.hello_rejected"
            case startTLSUnavailable = "smtp.starttls_unavailable"
            case startTLSRejected = "smtp.starttls_rejected"
            case insecureAuthenticationRefused = "smtp.insecure_auth_refused"
            case authenticationUnsupported = "smtp.auth_unsupported"
            case authenticationRejected = "smtp.auth_rejected"
            case senderRejected = "smtp.sender_rejected"
            case recipientsRejected = "smtp.recipients_rejected"
            case dataRejected = "smtp.data_rejected"
            case messageRejected = "smtp.message_rejected"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The configuration (or `EMAIL_*` environment) is incomplete or malformed.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The message cannot be rendered safely (bad address, CR/LF in a header, no recipient).
        public static let invalidMessage = Code(.invalidMessage)
        /// The TCP connection could not be made (refused, unreachable, DNS).
        public static let connectionFailed = Code(.connectionFailed)
        /// The server closed the connection before the session finished.
        public static let connectionClosed = Code(.connectionClosed)
        /// A step took longer than its timeout; ``SMTPError/step`` says which.
        public static let timeout = Code(.timeout)
        /// TLS could not be established: certificate not trusted, name mismatch, handshake error.
        public static let tlsHandshakeFailed = Code(.tlsHandshakeFailed)
        /// The server sent something that is not valid SMTP at this point.
        public static let protocolViolation = Code(.protocolViolation)
        /// The server's greeting was not 220 (for example 554 "no service").
        public static let greetingRejected = Code(.greetingRejected)
        /// Both EHLO and HELO were refused.
        public static let helloRejected = Code(.helloRejected)
        /// STARTTLS is required by the configuration but the server does not offer it.
        public static let startTLSUnavailable = Code(.startTLSUnavailable)
        /// The server refused the STARTTLS command.
        public static let startTLSRejected = Code(.startTLSRejected)
        /// Credentials are configured but the connection is not encrypted, and plain-text
        /// authentication was not explicitly allowed.
        public static let insecureAuthenticationRefused = Code(.insecureAuthenticationRefused)
        /// Credentials are configured but the server offers no mechanism we support.
        public static let authenticationUnsupported = Code(.authenticationUnsupported)
        /// The server refused the credentials (typically 535 5.7.8).
        public static let authenticationRejected = Code(.authenticationRejected)
        /// MAIL FROM was refused.
        public static let senderRejected = Code(.senderRejected)
        /// Every recipient was refused; ``SMTPError/rejectedRecipients`` lists them.
        public static let recipientsRejected = Code(.recipientsRejected)
        /// The DATA command was refused.
        public static let dataRejected = Code(.dataRejected)
        /// The message content was refused after it was sent.
        public static let messageRejected = Code(.messageRejected)

        public var description: String { base.rawValue }
    }

    /// What went wrong, stable.
    public var code: Code
    /// A human-readable explanation, free of secrets.
    public var message: String
    /// The session step the error happened in, when there was a session.
    public var step: SMTPStep?
    /// The server's reply that caused the error, if any.
    public var reply: SMTPReply?
    /// The refused recipients, for ``Code/recipientsRejected``.
    public var rejectedRecipients: [SMTPRecipientRejection]
    /// The description of the underlying transport or TLS error, if any.
    public var underlying: String?

    public init(
        code: Code,
        message: String,
        step: SMTPStep? = nil,
        reply: SMTPReply? = nil,
        rejectedRecipients: [SMTPRecipientRejection] = [],
        underlying: String? = nil
    ) {
        self.code = code
        self.message = message
        self.step = step
        self.reply = reply
        self.rejectedRecipients = rejectedRecipients
        self.underlying = underlying
    }

    /// The enhanced status code (RFC 3463) of the server's reply, if it sent one.
    public var enhancedStatus: SMTPEnhancedStatusCode? { reply?.enhancedStatus }

    public var description: String {
        var text = "\(code): \(message)"
        if let step { text += " [step: \(step)]" }
        if let reply { text += " [reply: \(reply)]" }
        if !rejectedRecipients.isEmpty {
            text += " [rejected: \(rejectedRecipients.map(\.description).joined(separator: "; "))]"
        }
        if let underlying { text += " [\(underlying)]" }
        return text
    }
}
