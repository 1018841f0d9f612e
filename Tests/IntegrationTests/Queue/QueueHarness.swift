import Foundation
import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

@testable import SwitchboardRedis

/// The queues the one queue suite runs on: the embedded queue on SQLite and PostgreSQL,
/// and the Redis Streams queue over each of them (its outbox).
enum QueueKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case embeddedSQLite = "embedded/sqlite"
    case embeddedPostgres = "embedded/postgres"
    case redisSQLite = "redis/sqlite"
    case redisPostgres = "redis/postgres"

    var description: String { rawValue }

    var database: TestDatabaseKind { self == .embeddedSQLite || self == .redisSQLite ? .sqlite : .postgres }
    var usesRedis: Bool { self == .redisSQLite || self == .redisPostgres }

    static var all: [QueueKind] {
        allCases.filter { TestDatabaseKind.all.contains($0.database) && (!$0.usesRedis || TestRedisBackend.available) }
    }

    static var redis: [QueueKind] { all.filter(\.usesRedis) }
}

/// One queue under test, driven step by step: ``settle()`` runs the Redis dispatcher's
/// round (rows due → stream) where a server would run it in the background, so every
/// test is deterministic.
struct QueueHarness: Sendable {
    let kind: QueueKind
    let store: SQLStore
    let clock: ManualWallClock
    let queue: any JobQueue
    let redis: RedisJobQueue?
    /// A second node over the same database and Redis (Redis kinds only), taking over
    /// deliveries at once (its lease is zero).
    let otherNode: RedisJobQueue?
    static let lease: Duration = .seconds(30)

    static func with<T: Sendable>(_ kind: QueueKind, _ body: @Sendable (QueueHarness) async throws -> T) async throws -> T {
        try await TestDatabase.with(kind.database) { database in
            let clock = ManualWallClock()
            let store = SQLStore(database: database, clock: clock)
            guard kind.usesRedis else {
                return try await body(QueueHarness(kind: kind, store: store, clock: clock, queue: store.queue, redis: nil, otherNode: nil))
            }
            return try await TestRedisBackend.with(nodes: ["node-a", "node-b"]) { backends in
                let redis = RedisJobQueue(outbox: store.queue, backend: backends[0], configuration: .init(lease: lease), logger: TestDatabase.logger)
                let other = RedisJobQueue(outbox: store.queue, backend: backends[1], configuration: .init(lease: .zero), logger: TestDatabase.logger)
                return try await body(QueueHarness(kind: kind, store: store, clock: clock, queue: redis, redis: redis, otherNode: other))
            }
        }
    }

    /// Hands due rows to the stream (Redis); nothing to do for the embedded queue.
    func settle() async throws {
        try await redis?.dispatchOnce()
    }

    /// Everything runnable now, after settling.
    func claimAll(worker: String = "worker-1") async throws -> [Job] {
        try await settle()
        return try await queue.claim(limit: 100, worker: worker, lease: Self.lease)
    }

    /// What another worker gets once the first one died holding its jobs: the embedded
    /// queue after the lease lapsed, Redis by taking over the pending entries.
    func takeOverFromDeadWorker() async throws -> [Job] {
        if let otherNode {
            return try await otherNode.claim(limit: 100, worker: "worker-2", lease: Self.lease)
        }
        clock.advance(by: Self.lease.timeInterval + 1)
        return try await queue.claim(limit: 100, worker: "worker-2", lease: Self.lease)
    }

    static func job(_ name: String, partition: String?, maxAttempts: Int = 5) -> NewJob {
        NewJob(kind: JobKind(rawValue: "test.job"), partition: partition, payload: Array(name.utf8), maxAttempts: maxAttempts)
    }
}

extension Job {
    var name: String { String(decoding: payload, as: UTF8.self) }
}
