/// Where a client's link to Redis stands, for logs and status pages.
public enum RedisConnectionState: Sendable, Hashable, CustomStringConvertible {
    /// The first connection is being opened.
    case connecting
    /// At least one connection is up (for a subscriber: and every subscription is confirmed).
    case connected
    /// The last connection dropped or the last attempt failed.
    case disconnected
    /// A new attempt is scheduled after a backoff delay.
    case reconnecting
    /// `run()` ended; the client accepts no more work.
    case shutdown

    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .connected: "connected"
        case .disconnected: "disconnected"
        case .reconnecting: "reconnecting"
        case .shutdown: "shutdown"
        }
    }
}

/// One change of ``RedisConnectionState``, with the error that caused it if any.
public struct RedisStateChange: Sendable, CustomStringConvertible {
    public var state: RedisConnectionState
    /// Why the link went down (for `disconnected`), or the last failure (for `reconnecting`).
    public var error: RedisError?

    public init(state: RedisConnectionState, error: RedisError? = nil) {
        self.state = state
        self.error = error
    }

    public var description: String {
        error.map { "\(state): \($0)" } ?? state.description
    }
}
