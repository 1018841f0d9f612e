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
        /// The pool's own view (a connection is open) and the last probe's answer.
        var poolUp = false
        var probeUp = true
        var lastError: String?
        var generation = 0
        var logged: RedisHealth?
    }

    /// How often the link is probed with a PING, and how long a PING may take.
    static let probeInterval: Duration = .seconds(1)
    static let probeTimeout: Duration = .seconds(5)

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
                group.addTask { await self.probeLoop() }
            }
        }
    }

    /// Takes one state of the client; false once it shut down.
    private func record(_ change: RedisStateChange) -> Bool {
        switch change.state {
        case .connected: update(poolUp: true, error: nil)
        case .disconnected, .reconnecting: update(poolUp: false, error: change.error?.message)
        case .connecting: break
        case .shutdown:
            state.withLock { $0.health = .disconnected }
            changed.notify()
            return false
        }
        return true
    }

    /// PINGs every second: a link that looks up but does not answer counts as down (and
    /// one that answers again as up), whatever the pool's own view.
    private func probeLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.probeInterval)
            guard state.withLock({ $0.poolUp }) else { continue }
            let failure = await ping()
            update(probeUp: failure == nil, error: failure)
        }
    }

    /// A PING, given up after ``probeTimeout``: nil when Redis answered, else why not. A
    /// link the pool counts as up may still have no usable connection (one whose AUTH is
    /// refused is up for a moment), and a PING would then wait for one.
    private func ping() async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    _ = try await self.client.ping()
                    return nil
                } catch {
                    return (error as? RedisError)?.message ?? "\(error)"
                }
            }
            group.addTask {
                try? await Task.sleep(for: Self.probeTimeout)
                return "no answer to PING within \(Self.probeTimeout)"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Combines the pool's view and the probe's; logs and announces each change once.
    private func update(poolUp: Bool? = nil, probeUp: Bool? = nil, error: String?) {
        let health: RedisHealth? = state.withLock { state in
            if let poolUp { state.poolUp = poolUp }
            if let probeUp { state.probeUp = probeUp }
            // A fresh connection is believed until the next probe says otherwise.
            if poolUp == true { state.probeUp = true }
            if let error { state.lastError = error }
            let health: RedisHealth = state.poolUp && state.probeUp ? .connected : .disconnected
            guard state.logged != health else { return nil }
            if health == .connected && state.health != .connected { state.generation += 1 }
            state.health = health
            state.logged = health
            return health
        }
        guard let health else { return }
        Gauge(label: "switchboard_redis_up").record(health == .connected ? 1 : 0)
        if health == .connected {
            logger.info("Redis connected", metadata: ["url": "\(maskedURL)"])
        } else {
            logger.warning(
                "Redis is unreachable; webhooks are still stored and their jobs dispatched when it returns",
                metadata: ["url": "\(maskedURL)", "error": "\(error ?? "-")"]
            )
        }
        changed.notify()
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

    /// `GET /api/dev/redis-status`: a PING when the link looks up, so the answer is live,
    /// and bounded, so the answer comes within ``probeTimeout`` whatever the link does.
    public func statusReport() async -> RedisStatusReport {
        guard isConnected else {
            return .disconnected(url: maskedURL, reason: state.withLock { $0.lastError })
        }
        if let failure = await ping() { return .disconnected(url: maskedURL, reason: failure) }
        return .connected(url: maskedURL)
    }

    /// A key under this backend's prefix.
    public func key(_ parts: String...) -> String {
        ([keyPrefix] + parts).joined(separator: ":")
    }
}
