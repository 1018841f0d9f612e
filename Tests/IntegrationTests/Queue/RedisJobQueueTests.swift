import Foundation
import RESP
import SwitchboardCore
import SwitchboardStore
import Synchronization
import TestSupport
import Testing

@testable import SwitchboardRedis

/// What only the Redis queue has to get right: the stream is never the only copy
/// (invariant 2), so what Redis loses is handed over again, once.
@Suite("Redis job queue")
struct RedisJobQueueTests {
    @Test("Redis loses the queue (flushed): every job it held is handed over again, once", arguments: QueueKind.redis)
    func lostQueueIsRebuilt(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            let redis = try #require(h.redis)
            try await h.queue.enqueue((1...3).map { QueueHarness.job("j\($0)", partition: "p\($0)") })
            try await h.settle()
            #expect(try await redis.stats().streams?.length == 3)
            try await TestRedisBackend.deleteKeys(redis.backend.keyPrefix, with: redis.backend.client)

            // The next round notices the new epoch and hands all three over again.
            redis.forgetPreparation()
            try await h.settle()
            let jobs = try await h.queue.claim(limit: 10, worker: "w", lease: QueueHarness.lease)
            #expect(Set(jobs.map(\.name)) == ["j1", "j2", "j3"])
            #expect(jobs.allSatisfy { $0.attempt == 1 }, "a job Redis lost did not use an attempt")
            #expect(try await redis.stats().streams?.length == 3)
        }
    }

    @Test("a batch of finished jobs leaves the table in one statement; the partition's next job follows", arguments: QueueKind.redis)
    func finishedBatchIsDeletedAtOnce(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            try await h.queue.enqueue([
                QueueHarness.job("first", partition: "p"), QueueHarness.job("second", partition: "p"), QueueHarness.job("alone", partition: nil),
                QueueHarness.job("other", partition: nil),
            ])
            let jobs = try await h.claimAll()
            #expect(Set(jobs.map(\.name)) == ["first", "alone", "other"])
            try await h.store.queue.completeAll(jobs.filter { $0.name != "other" })
            let stats = try await h.store.queue.stats()
            #expect(stats.ready + stats.inFlight == 2, "second and other are left")
            #expect(try await h.claimAll().map(\.name) == ["second"])
        }
    }

    @Test("a row handed over twice (its lease lapsed) is in the stream once", arguments: QueueKind.redis)
    func handOverIsIdempotent(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            let redis = try #require(h.redis)
            try await h.queue.enqueue([QueueHarness.job("a", partition: "a"), QueueHarness.job("b", partition: nil)])
            try await h.settle()
            #expect(try await h.store.queue.lapseLeases(heldBy: RedisJobQueue.holder) == 2)
            #expect(try await redis.dispatchOnce() == 2, "both rows leased again")
            #expect(try await redis.stats().streams?.length == 2, "but not added twice")
            #expect(try await h.queue.claim(limit: 10, worker: "w", lease: QueueHarness.lease).count == 2)
        }
    }

    @Test("the sweep finds a job Redis lost without a restart and hands it over again", arguments: QueueKind.redis)
    func sweepFindsLostJobs(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            let redis = try #require(h.redis)
            try await h.queue.enqueue([QueueHarness.job("kept", partition: "k"), QueueHarness.job("lost", partition: "l")])
            try await h.settle()
            let client = redis.backend.client
            let entries = try await client.hgetall(redis.keys.entries)
            let lost = try #require(try await h.store.queue.leasedJobIDs(heldBy: RedisJobQueue.holder, leaseEndsBefore: .max, limit: 10).last)
            _ = try await client.send(.xdel(redis.keys.streamArgument, ids: [RedisArgument(try #require(entries[lost]))]))
            _ = try await client.send(.hdel(RedisArgument(redis.keys.entries), fields: [RedisArgument(lost)]))

            try await redis.sweepIfDue()
            #expect(try await h.queue.claim(limit: 10, worker: "w", lease: QueueHarness.lease).map(\.name) == ["kept"], "too recent to judge")
            h.clock.advance(by: redis.configuration.handOverGrace.timeInterval + 1)
            redis.state.withLock { $0.nextSweep = .now }
            try await redis.sweepIfDue()
            try await h.settle()
            #expect(try await h.queue.claim(limit: 10, worker: "w", lease: QueueHarness.lease).map(\.name) == ["lost"])
        }
    }

    @Test("an entry whose job finished elsewhere is acknowledged, not run again", arguments: QueueKind.redis)
    func staleEntriesAreDropped(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            let redis = try #require(h.redis)
            try await h.queue.enqueue([QueueHarness.job("done", partition: nil), QueueHarness.job("retry", partition: nil)])
            let jobs = try await h.claimAll()
            #expect(jobs.count == 2)
            // The rows finished (and failed for a retry) but the acknowledgements never
            // reached Redis: the worker died right after its commits.
            let done = try #require(jobs.first { $0.name == "done" })
            let retry = try #require(jobs.first { $0.name == "retry" })
            try await h.store.queue.complete(done)
            try await h.store.queue.fail(retry, reason: "later", retryAt: h.clock.now().addingTimeInterval(60))
            #expect(try await h.takeOverFromDeadWorker().isEmpty)
            #expect(try await redis.stats().streams?.pending == 0, "both stale entries were acknowledged")
        }
    }

    @Test("a dead job is in the dead-letter stream with its reason", arguments: QueueKind.redis)
    func deadLetterStream(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            let redis = try #require(h.redis)
            try await h.queue.enqueue([QueueHarness.job("x", partition: "conv:1", maxAttempts: 1)])
            let job = try #require(try await h.claimAll().first)
            try await h.queue.fail(job, reason: "the Page is not connected", retryAt: nil)
            let letters = try await redis.backend.client.send(.xrange(RedisArgument(redis.keys.deadLetters)))
            #expect(letters.count == 1)
            #expect(letters.first?["reason"] == "the Page is not connected")
            #expect(letters.first?["job"] == job.id && letters.first?["part"] == "conv:1" && letters.first?["attempts"] == "1")
        }
    }

    @Test("while Redis is unreachable jobs are still written and nothing is claimed")
    func unreachableRedis() async throws {
        let database = try #require(TestDatabaseKind.all.first)
        try await TestDatabase.with(database) { database in
            let store = SQLStore(database: database)
            try await TestRedisBackend.with(url: TestRedisBackend.unreachableURL(), waitForConnection: false) { backends in
                let queue = RedisJobQueue(
                    outbox: store.queue,
                    backend: backends[0],
                    configuration: .init(lease: .seconds(30)),
                    logger: TestDatabase.logger
                )
                try await queue.enqueue([QueueHarness.job("kept", partition: nil)])
                #expect(try await queue.claim(limit: 10, worker: "w", lease: .seconds(30)).isEmpty)
                let stats = try await queue.stats()
                #expect(stats.ready == 1 && stats.streams == nil)
                #expect(backends[0].health == .disconnected)
            }
        }
    }
}
