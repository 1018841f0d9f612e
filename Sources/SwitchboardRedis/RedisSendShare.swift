public import Logging
public import ServiceLifecycle
public import SwitchboardCore

/// Shares every Page's send rate among the processes that send. Each worker paces its own
/// sends (a token bucket per Page, in memory), and Meta counts all of them together: two
/// workers at 95 % of a Page's limit each would earn 613s and minutes of pause. So every
/// worker beats into the `senders` set, counts the live ones (itself included) and paces
/// at 1/N of each limit.
///
/// A worker that joins takes its share at its first beat; the others take their smaller
/// one within a heartbeat, so for that long the Page may be offered a little more than its
/// limit (the pacer's 5 % margin and Meta's usage header cover it). A worker that dies
/// counts until its heartbeats are three beats old, so the others send less meanwhile,
/// never more. While Redis is away the last share holds.
public struct RedisSendShare: Service {
    let registry: RedisNodeRegistry
    let apply: @Sendable (Double) async -> Void
    let logger: Logger

    /// - Parameter apply: takes each new share (the pacer's `setShare`).
    public init(
        backend: RedisBackend,
        heartbeat: Duration,
        clock: any WallClock = SystemWallClock(),
        logger: Logger,
        apply: @escaping @Sendable (Double) async -> Void
    ) {
        self.registry = RedisNodeRegistry(backend: backend, heartbeat: heartbeat, clock: clock, set: "senders")
        self.apply = apply
        self.logger = logger
    }

    /// Beats, then returns this process's share: 1 over the live senders.
    public func refresh() async throws -> Double {
        try await registry.beat()
        return try await currentShare()
    }

    private func currentShare() async throws -> Double {
        1 / Double(max(1, try await registry.liveNodes().count))
    }

    /// Leaves the senders (a graceful stop): the others take its share at their next beat.
    public func leave() async throws {
        try await registry.leave()
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            var current = 1.0
            await registry.beatUntilCancelled(logger: logger) {
                let share = try await currentShare()
                guard share != current else { return }
                logger.info("send rate shared", metadata: ["senders": "\(Int((1 / share).rounded()))"])
                current = share
                await apply(share)
            }
        }
        try? await leave()
    }
}
