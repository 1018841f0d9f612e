import Logging
import RESP
public import SwitchboardCore

/// The nodes alive now: each node running realtime (web or worker) writes a heartbeat
/// into one sorted set; a node whose last heartbeat is older than `ttl` is dead. Cluster
/// requests wait for the live ones; presence takes the dead ones' users offline.
public struct RedisNodeRegistry: Sendable {
    let backend: RedisBackend
    let clock: any WallClock
    /// How often a node writes its heartbeat.
    public let heartbeat: Duration
    /// Three heartbeats: a node silent this long is dead.
    public var ttl: Duration { heartbeat * 3 }
    let key: String

    /// - Parameter set: the sorted set the nodes beat into (`nodes`: every node with
    ///   realtime; `senders`: the nodes whose workers send, see ``RedisSendShare``).
    public init(backend: RedisBackend, heartbeat: Duration, clock: any WallClock = SystemWallClock(), set: String = "nodes") {
        self.backend = backend
        self.heartbeat = heartbeat
        self.clock = clock
        self.key = backend.key(set)
    }

    var now: Int64 { clock.now().millisecondsSince1970 }
    var ttlMilliseconds: Int64 { ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000 }

    /// Writes this node's heartbeat; true when the node was not registered (first beat, or
    /// other nodes had given it up for dead).
    @discardableResult
    func beat() async throws -> Bool {
        try await backend.client.send(.zadd(RedisArgument(key), [(Double(now), RedisArgument(backend.nodeID))])) == 1
    }

    /// Nodes whose heartbeat is recent, this one included.
    func liveNodes() async throws -> Set<String> {
        Set(try await backend.client.send(.zrangebyscore(RedisArgument(key), min: .inclusive(Double(now - ttlMilliseconds)), max: .positiveInfinity)))
    }

    /// Nodes silent for longer than the ttl.
    func deadNodes() async throws -> [String] {
        try await backend.client.send(.zrangebyscore(RedisArgument(key), min: .negativeInfinity, max: .exclusive(Double(now - ttlMilliseconds))))
    }

    /// Beats every `heartbeat` while Redis is connected, until the task is cancelled;
    /// `afterBeat` runs after each beat that succeeded. A failed beat is logged and tried
    /// again at the next one.
    func beatUntilCancelled(logger: Logger, afterBeat: () async throws -> Void = {}) async {
        while !Task.isCancelled {
            if backend.isConnected {
                do {
                    try await beat()
                    try await afterBeat()
                } catch {
                    logger.debug("heartbeat failed", metadata: ["set": "\(key)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: heartbeat)
        }
    }

    /// Removes this node (a graceful stop).
    func leave() async throws {
        _ = try await backend.client.send(.zrem(RedisArgument(key), [RedisArgument(backend.nodeID)]))
    }
}
