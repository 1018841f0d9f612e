/// Everything needed to reach an SMTP submission server and send as one sender.
///
/// Build it from the `EMAIL_*` variables with ``init(environment:)`` or field by field. The
/// TLS mode follows the port unless set: 587 → STARTTLS, 465 → implicit TLS, anything else →
/// none (a local relay). Credentials are only ever sent over TLS unless
/// ``allowPlaintextAuthentication`` says otherwise.
public struct SMTPConfiguration: Sendable {
    /// How the connection is secured.
    public enum TLSMode: String, Sendable, Hashable, CustomStringConvertible {
        /// Plain TCP; no TLS. For relays on the same host or network.
        case none
        /// Plain TCP upgraded with STARTTLS (RFC 3207) before anything else; the session fails
        /// if the server does not offer it. The submission port, 587.
        case startTLS
        /// TLS from the first byte (RFC 8314). Port 465.
        case implicitTLS

        /// The mode the port implies: 587 → STARTTLS, 465 → implicit TLS, others → none.
        public static func `default`(forPort port: Int) -> TLSMode {
            switch port {
            case 587: .startTLS
            case 465: .implicitTLS
            default: .none
            }
        }

        public var description: String { rawValue }
    }

    /// Which certificates the server's certificate must chain to.
    public enum TrustRoots: Sendable, Hashable {
        /// The operating system's store.
        case system
        /// The CA certificates in a PEM file (a private CA, or tests).
        case pemFile(String)
        /// The CA certificates in PEM text.
        case pem(String)
    }

    /// A user name and a password that never prints.
    public struct Credentials: Sendable, Equatable, CustomStringConvertible {
        public var username: String
        public var password: SMTPSecret

        public init(username: String, password: SMTPSecret) {
            self.username = username
            self.password = password
        }

        public var description: String { "\(username):<redacted>" }
    }

    /// How long each step may take.
    public struct Timeouts: Sendable, Hashable {
        /// TCP connect.
        public var connect: Duration
        /// From connected to the 220 greeting (and the implicit TLS handshake before it).
        public var greeting: Duration
        /// The STARTTLS handshake.
        public var tlsHandshake: Duration
        /// Each command's reply (EHLO, AUTH, MAIL, RCPT, DATA, QUIT).
        public var command: Duration
        /// The reply after the message content has been sent.
        public var dataTermination: Duration

        public init(
            connect: Duration = .seconds(10),
            greeting: Duration = .seconds(30),
            tlsHandshake: Duration = .seconds(15),
            command: Duration = .seconds(30),
            dataTermination: Duration = .seconds(60)
        ) {
            self.connect = connect
            self.greeting = greeting
            self.tlsHandshake = tlsHandshake
            self.command = command
            self.dataTermination = dataTermination
        }
    }

    public var host: String
    public var port: Int
    public var tlsMode: TLSMode
    public var credentials: Credentials?
    /// The default sender: the `From` of messages that set none, and the envelope sender.
    public var from: MailAddress
    public var trustRoots: TrustRoots
    /// Send AUTH over an unencrypted connection. Only for a local relay you trust.
    public var allowPlaintextAuthentication: Bool
    /// Mechanisms in order of preference; the first one the server offers is used.
    public var authenticationMechanisms: [SMTPAuthenticationMechanism]
    /// The name the client gives in EHLO/HELO.
    public var localHostname: String
    public var timeouts: Timeouts

    public init(
        host: String,
        port: Int,
        tlsMode: TLSMode? = nil,
        credentials: Credentials? = nil,
        from: MailAddress,
        trustRoots: TrustRoots = .system,
        allowPlaintextAuthentication: Bool = false,
        authenticationMechanisms: [SMTPAuthenticationMechanism] = [.plain, .login],
        localHostname: String = "localhost",
        timeouts: Timeouts = Timeouts()
    ) {
        self.host = host
        self.port = port
        self.tlsMode = tlsMode ?? .default(forPort: port)
        self.credentials = credentials
        self.from = from
        self.trustRoots = trustRoots
        self.allowPlaintextAuthentication = allowPlaintextAuthentication
        self.authenticationMechanisms = authenticationMechanisms
        self.localHostname = localHostname
        self.timeouts = timeouts
    }
}

/// The SASL mechanisms the client can use (RFC 4954, RFC 4616, the LOGIN draft).
public enum SMTPAuthenticationMechanism: String, Sendable, Hashable, CaseIterable {
    case plain = "PLAIN"
    case login = "LOGIN"
}
