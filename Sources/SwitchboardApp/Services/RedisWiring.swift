public import Logging
import ServiceLifecycle
public import SwitchboardCore
import SwitchboardRedis
public import SwitchboardStore

/// The Redis side of one node (`REDIS_URL` set): the link, the Streams queue over the
/// `jobs` outbox, the Socket.IO cluster and shared presence.
struct RedisWiring: Sendable {
    let backend: RedisBackend
    let queue: RedisJobQueue
    let cluster: RedisSocketIOCluster
    let presence: RedisPresence

    init(configuration: SwitchboardConfiguration, store: SQLStore, nodeID: String, logger: Logger) throws {
        guard let url = configuration.redisURL else { throw ConfigurationError("REDIS_URL", "is not set") }
        do {
            backend = try RedisBackend(
                url: url,
                caFile: configuration.redisCAFile,
                keyPrefix: configuration.redisKeyPrefix,
                nodeID: nodeID,
                logger: logger
            )
        } catch {
            throw ConfigurationError("REDIS_URL", "\(error)")
        }
        queue = RedisJobQueue(outbox: store.queue, backend: backend, configuration: .init(lease: configuration.jobLease), logger: logger)
        let registry = RedisNodeRegistry(backend: backend, heartbeat: configuration.nodeHeartbeat, clock: store.clock)
        cluster = RedisSocketIOCluster(backend: backend, registry: registry, logger: logger)
        presence = RedisPresence(backend: backend, registry: registry, logger: logger)
    }

    /// In start order (they stop in reverse): the link first, then the queue's dispatcher
    /// and the cluster (every role emits), presence where sockets are served.
    func services(role: ServeRole) -> [any Service] {
        var services: [any Service] = [backend, queue, cluster]
        if role.runsWeb { services.append(presence) }
        return services
    }
}

extension Switchboard {
    /// The queue's counts for `switchboard status`: the table's, and with `REDIS_URL` the
    /// stream's (after waiting up to `wait` for Redis), with Redis's state and masked URL.
    public static func queueStatus(
        _ configuration: SwitchboardConfiguration,
        store: SQLStore,
        logger: Logger,
        wait: Duration = .seconds(3)
    ) async throws -> (queue: QueueStats, redisState: String, redisURL: String?) {
        guard configuration.redisURL != nil else { return (try await store.queue.stats(), RedisHealth.notConfigured.rawValue, nil) }
        let wiring = try RedisWiring(configuration: configuration, store: store, nodeID: "status-\(workerID)", logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await wiring.backend.run() }
            defer { group.cancelAll() }
            let deadline = ContinuousClock.now + wait
            while !wiring.backend.isConnected && ContinuousClock.now < deadline {
                await wiring.backend.waitForChange(timeout: deadline - ContinuousClock.now)
            }
            return (try await wiring.queue.stats(), wiring.backend.health.rawValue, wiring.backend.maskedURL)
        }
    }
}
