public import EngineIO
public import Logging

/// Socket.IO server settings.
public struct SocketIOConfiguration: Sendable {
    /// Connection-state recovery (Socket.IO 4.6 semantics).
    public struct ConnectionStateRecovery: Sendable, Hashable {
        /// How long a disconnected session and the packets it missed are kept (default 2 min).
        public var maxDisconnectionDuration: Duration
        /// Whether a recovered socket skips the middlewares (default true).
        public var skipMiddlewares: Bool

        public init(maxDisconnectionDuration: Duration = .seconds(120), skipMiddlewares: Bool = true) {
            self.maxDisconnectionDuration = maxDisconnectionDuration
            self.skipMiddlewares = skipMiddlewares
        }
    }

    /// Engine.IO settings: heartbeat, payload and buffer bounds, transports, connect timeout.
    public var engine: EngineIOConfiguration
    /// Recovery; `nil` (the default) turns it off.
    public var connectionStateRecovery: ConnectionStateRecovery?
    /// Most binary attachments a packet may carry (default 10).
    public var maxAttachments: Int
    /// Makes each namespace's adapter (default: in memory).
    public var adapter: SocketIOAdapterFactory
    /// Where protocol errors and handler failures are logged.
    public var logger: Logger

    public init(
        engine: EngineIOConfiguration = .init(),
        connectionStateRecovery: ConnectionStateRecovery? = nil,
        maxAttachments: Int = 10,
        adapter: @escaping SocketIOAdapterFactory = SocketIOInMemoryAdapter.factory,
        logger: Logger = Logger(label: "socketio")
    ) {
        self.engine = engine
        self.connectionStateRecovery = connectionStateRecovery
        self.maxAttachments = maxAttachments
        self.adapter = adapter
        self.logger = logger
    }
}

/// Why a socket left its namespace. Raw values are the reasons the reference server uses.
public enum SocketIODisconnectReason: String, Sendable, Hashable {
    case transportClose = "transport close"
    case transportError = "transport error"
    case pingTimeout = "ping timeout"
    case parseError = "parse error"
    case forcedClose = "forced close"
    case serverShuttingDown = "server shutting down"
    case slowClient = "slow client"
    /// The client sent DISCONNECT for this namespace.
    case clientNamespaceDisconnect = "client namespace disconnect"
    /// The server called ``SocketIOSocket/disconnect(close:)``.
    case serverNamespaceDisconnect = "server namespace disconnect"

    init(_ reason: EngineIOCloseReason) {
        switch reason {
        case .transportClose: self = .transportClose
        case .transportError: self = .transportError
        case .pingTimeout: self = .pingTimeout
        case .parseError: self = .parseError
        case .forcedClose: self = .forcedClose
        case .serverShuttingDown: self = .serverShuttingDown
        case .slowClient: self = .slowClient
        }
    }

    /// Whether the session is kept for connection-state recovery.
    public var isRecoverable: Bool {
        switch self {
        case .transportClose, .transportError, .pingTimeout, .forcedClose, .serverShuttingDown, .slowClient: true
        case .parseError, .clientNamespaceDisconnect, .serverNamespaceDisconnect: false
        }
    }
}
