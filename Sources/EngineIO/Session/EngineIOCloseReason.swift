/// Why an Engine.IO session ended. The raw values are the reasons Socket.IO reports.
public enum EngineIOCloseReason: String, Sendable, Hashable {
    /// The client closed the connection or sent a close packet.
    case transportClose = "transport close"
    /// The connection failed (write error, overlapping poll, bad request).
    case transportError = "transport error"
    /// No pong within `pingTimeout`.
    case pingTimeout = "ping timeout"
    /// The client sent something that does not parse.
    case parseError = "parse error"
    /// The server closed the session (application request, connect timeout).
    case forcedClose = "forced close"
    /// The server is stopping.
    case serverShuttingDown = "server shutting down"
    /// The client did not read fast enough and its outbound buffer passed the bound.
    case slowClient = "slow client"

    /// Whether a Socket.IO session closed for this reason may be recovered later.
    public var isRecoverable: Bool {
        switch self {
        case .transportClose, .transportError, .pingTimeout, .forcedClose, .serverShuttingDown, .slowClient: true
        case .parseError: false
        }
    }
}
