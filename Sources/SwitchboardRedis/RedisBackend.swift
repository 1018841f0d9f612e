public import Logging
import Metrics
public import RESP
public import ServiceLifecycle
import SwitchboardCore
import Synchronization

/// Switchboard's link to Redis: one client (a pool plus a pub/sub connection) shared by
/// the Streams queue, the Socket.IO cluster adapter and presence, the node's identity and
/// key prefix, and its health, logged once per change and reported everywhere.
///
/// Run it as a `Service` for as long as anything uses it.
public final class RedisBackend: Service {
    public let client: RedisClient
    /// Every key Switchboard writes starts with this (default `switchboard`).
    public let keyPrefix: String
    /// This process among the nodes (also its consumer name and presence heartbeat).
    public let nodeID: String
    /// The URL with any password masked.
    public let maskedURL: String
    let logger: Logger
    private let state = Mutex(State())
    private let changed = WorkSignal()

    private struct State {
        var health = RedisHealth.disconnected
        var lastError: String?
        var generation = 0
        var logged: RedisHealth?
    }

    /// - Parameters:
    ///   - url: `redis://` or `rediss://`, optional `user:password@`, optional `/db`.
    ///   - caFile: PEM of the CA that signed a `rediss://` server's certificate (default: the
    ///     system roots).
    public init(url: String, caFile: String? = nil, keyPrefix: String = "switchboard", nodeID: String, logger: Logger) throws {
        var configuration = try RedisConfiguration(url: url, caFile: caFile)
        configuration.clientName = "switchboard"
        configuration.connectTimeout = .seconds(3)
        configuration.commandTimeout = .seconds(10)
        configuration.pool = .init(minimumConnections: 1, maximumConnections: 24, acquireTimeout: .seconds(5))
        configuration.reconnectBackoff = .init(initialDelay: .milliseconds(100), maximumDelay: .seconds(2))
        self.client = RedisClient(configuration: configuration, logger: logger)
        self.keyPrefix = keyPrefix
        self.nodeID = nodeID
        self.maskedURL = configuration.maskedDescription
        self.logger = logger
    }

    /// Runs the client and follows its state until shutdown.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.client.run() }
                group.addTask {
                    for await change in self.client.stateChanges() {
                        guard self.record(change) else { return }
                    }
                }
            }
        }
    }

    /// Takes one state of the client; false once it shut down.
    private func record(_ change: RedisStateChange) -> Bool {
        let health: RedisHealth
        switch change.state {
        case .connected: health = .connected
        case .disconnected, .reconnecting: health = .disconnected
        case .connecting: return true
        case .shutdown:
            state.withLock { $0.health = .disconnected }
            changed.notify()
            return false
        }
        let log = state.withLock { state -> Bool in
            if let error = change.error { state.lastError = error.message }
            guard state.logged != health else { return false }
            if health == .connected && state.health != .connected { state.generation += 1 }
            state.health = health
            state.logged = health
            return true
        }
        guard log else { return true }
        Gauge(label: "switchboard_redis_up").record(health == .connected ? 1 : 0)
        if health == .connected {
            logger.info("Redis connected", metadata: ["url": "\(maskedURL)"])
        } else {
            logger.warning(
                "Redis is unreachable; webhooks are still stored and their jobs dispatched when it returns",
                metadata: ["url": "\(maskedURL)", "error": "\(change.error?.message ?? "-")"]
            )
        }
        changed.notify()
        return true
    }

    /// Connected or not, as last seen.
    public var health: RedisHealth { state.withLock { $0.health } }

    public var isConnected: Bool { health == .connected }

    /// Counts the times Redis came (back): a part that set Redis up (a consumer group, a
    /// presence registration) for one generation does it again for the next, since the
    /// server may have restarted empty.
    public var generation: Int { state.withLock { $0.generation } }

    /// Returns at the next change of health or after `timeout`.
    public func waitForChange(timeout: Duration) async {
        await changed.wait(timeout: timeout)
    }

    /// `GET /api/dev/redis-status`: a PING when the link looks up, so the answer is live.
    public func statusReport() async -> RedisStatusReport {
        guard isConnected else {
            return .disconnected(url: maskedURL, reason: state.withLock { $0.lastError })
        }
        do {
            _ = try await client.ping()
            return .connected(url: maskedURL)
        } catch {
            return .disconnected(url: maskedURL, reason: (error as? RedisError)?.message ?? "\(error)")
        }
    }

    /// A key under this backend's prefix.
    public func key(_ parts: String...) -> String {
        ([keyPrefix] + parts).joined(separator: ":")
    }
}
