/// Engine.IO server settings. Times are sent to clients in whole milliseconds.
public struct EngineIOConfiguration: Sendable, Hashable {
    /// How often the server pings (default 25 s).
    public var pingInterval: Duration
    /// How long a pong may take before the session closes with "ping timeout" (default 20 s).
    public var pingTimeout: Duration
    /// Largest polling body or WebSocket message accepted, in bytes (default 1 MB).
    public var maxPayload: Int
    /// Time the layer above has to confirm the session (Socket.IO's `connectTimeout`,
    /// default 45 s); `nil` disables it.
    public var connectTimeout: Duration?
    /// Time a WebSocket probe has to send `5` after `2probe` (default 10 s).
    public var upgradeTimeout: Duration
    /// Outbound bytes a session may hold before it is closed as a slow client (default 1 MiB).
    public var maxBufferedBytes: Int
    /// Outbound packets a session may hold before it is closed as a slow client (default 1,000).
    public var maxBufferedPackets: Int
    /// Transports offered; both by default.
    public var transports: Set<EngineIOTransport>

    public init(
        pingInterval: Duration = .seconds(25),
        pingTimeout: Duration = .seconds(20),
        maxPayload: Int = 1_000_000,
        connectTimeout: Duration? = .seconds(45),
        upgradeTimeout: Duration = .seconds(10),
        maxBufferedBytes: Int = 1 << 20,
        maxBufferedPackets: Int = 1_000,
        transports: Set<EngineIOTransport> = [.polling, .websocket]
    ) {
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
        self.connectTimeout = connectTimeout
        self.upgradeTimeout = upgradeTimeout
        self.maxBufferedBytes = maxBufferedBytes
        self.maxBufferedPackets = maxBufferedPackets
        self.transports = transports
    }
}

/// The two Engine.IO transports.
public enum EngineIOTransport: String, Sendable, Hashable {
    case polling
    case websocket
}

extension Duration {
    /// Whole milliseconds, as the handshake sends them (300 ms is 300).
    @usableFromInline
    var engineIOMilliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
