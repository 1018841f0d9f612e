import Foundation
import SwitchboardCore
import SwitchboardRedis
import SwitchboardStore
import TestSupport
import Testing

/// One suite for every `JobQueue`: the embedded queue on SQLite and PostgreSQL, and the
/// Redis Streams queue over each (architecture: both implementations pass the same tests).
@Suite("JobQueue")
struct JobQueueTests {
    @Test("a partition's jobs run one at a time in order; other partitions and unpartitioned jobs in parallel", arguments: QueueKind.all)
    func partitionsKeepOrder(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            try await h.queue.enqueue([
                QueueHarness.job("a1", partition: "a"), QueueHarness.job("a2", partition: "a"), QueueHarness.job("b1", partition: "b"),
                QueueHarness.job("free1", partition: nil), QueueHarness.job("a3", partition: "a"), QueueHarness.job("free2", partition: nil),
            ])
            let first = try await h.claimAll()
            #expect(Set(first.map(\.name)) == ["a1", "b1", "free1", "free2"])
            #expect(first.allSatisfy { $0.attempt == 1 && $0.maxAttempts == 5 })
            #expect(try await h.claimAll().isEmpty, "a2 waits for a1")

            for job in first { try await h.queue.complete(job) }
            #expect(try await h.claimAll().map(\.name) == ["a2"])
            #expect(try await h.claimAll().isEmpty, "a3 waits for a2, which is running")
        }
    }

    @Test("a backlog moves in runs (a partition's next jobs together, in order); a lane takes only its kinds", arguments: QueueKind.all)
    func runsAndLanes(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            let slow = JobKind(rawValue: "slow.job")
            try await h.queue.enqueue([
                QueueHarness.job("a1", partition: "a"), QueueHarness.job("a2", partition: "a"), QueueHarness.job("a3", partition: "a"),
                NewJob(kind: slow, partition: "b", payload: Array("b1".utf8)), QueueHarness.job("free", partition: nil),
            ])
            try await h.settle()
            let lease = QueueHarness.lease
            let lane = try await h.queue.claimRuns(limit: 10, runLength: 64, worker: "w", lease: lease, kinds: .only([slow]))
            #expect(lane.map { $0.map(\.name) } == [["b1"]])
            let general = try await h.queue.claimRuns(limit: 10, runLength: 2, worker: "w", lease: lease, kinds: .except([slow]))
            #expect(general.map { $0.map(\.name) } == [["a1", "a2"], ["free"]])
            #expect(try await h.claimAll().isEmpty, "a3 waits for its run")
            for job in general.flatMap({ $0 }) { try await h.queue.complete(job) }
            try await h.settle()
            #expect(try await h.queue.claimRuns(limit: 10, runLength: 64, worker: "w", lease: lease).map { $0.map(\.name) } == [["a3"]])
        }
    }

    @Test("a retry keeps its place at the head of its partition until it is due", arguments: QueueKind.all)
    func retryKeepsItsPlace(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            try await h.queue.enqueue([QueueHarness.job("a1", partition: "a"), QueueHarness.job("a2", partition: "a")])
            let a1 = try #require(try await h.claimAll().first)
            try await h.queue.fail(a1, reason: "try later", retryAt: h.clock.now().addingTimeInterval(60))
            #expect(try await h.claimAll().isEmpty, "neither the delayed a1 nor a2 behind it")
            // a2 waits on a1, so both count as delayed: nothing is ready to run.
            let waiting = try await h.queue.stats()
            #expect(waiting.delayed == 2 && waiting.ready == 0 && waiting.dead == 0)

            h.clock.advance(by: 61)
            let again = try await h.claimAll()
            #expect(again.map(\.name) == ["a1"])
            #expect(again.first?.attempt == 2)
            try await h.queue.complete(try #require(again.first))
            #expect(try await h.claimAll().map(\.name) == ["a2"])
        }
    }

    @Test("a job out of attempts is dead-lettered with its reason and its partition moves on", arguments: QueueKind.all)
    func deadLetters(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            try await h.queue.enqueue([QueueHarness.job("a1", partition: "a", maxAttempts: 1), QueueHarness.job("a2", partition: "a")])
            let a1 = try #require(try await h.claimAll().first)
            // A retry time past the last attempt still dead-letters it.
            try await h.queue.fail(a1, reason: "Graph said no (code 100)", retryAt: h.clock.now().addingTimeInterval(5))
            let dead = try await h.queue.deadJobs(limit: 10)
            #expect(dead.map(\.reason) == ["Graph said no (code 100)"])
            #expect(dead.first?.kind == "test.job" && dead.first?.partition == "a" && dead.first?.attempts == 1)
            #expect(try await h.queue.stats().dead == 1)
            #expect(try await h.claimAll().map(\.name) == ["a2"])
        }
    }

    @Test("a permanent failure dead-letters at once", arguments: QueueKind.all)
    func permanentFailure(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            try await h.queue.enqueue([QueueHarness.job("x", partition: nil, maxAttempts: 9)])
            let job = try #require(try await h.claimAll().first)
            try await h.queue.fail(job, reason: "unreadable payload", retryAt: nil)
            #expect(try await h.queue.deadJobs(limit: 10).map(\.reason) == ["unreadable payload"])
            #expect(try await h.claimAll().isEmpty)
        }
    }

    @Test("released jobs run again without counting an attempt", arguments: QueueKind.all)
    func releaseDoesNotCount(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            try await h.queue.enqueue([QueueHarness.job("a1", partition: "a"), QueueHarness.job("b1", partition: "b")])
            let jobs = try await h.claimAll()
            #expect(jobs.count == 2)
            try await h.queue.release(jobs)
            let again = try await h.claimAll()
            #expect(Set(again.map(\.name)) == ["a1", "b1"])
            #expect(again.allSatisfy { $0.attempt == 1 })
        }
    }

    @Test("a worker that dies holding a job: another worker runs it as a later attempt, once", arguments: QueueKind.all)
    func deadWorkersJobsAreTakenOver(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            try await h.queue.enqueue([QueueHarness.job("a1", partition: "a"), QueueHarness.job("a2", partition: "a")])
            #expect(try await h.claimAll().map(\.name) == ["a1"])
            // worker-1 dies here, never completing a1.
            let taken = try await h.takeOverFromDeadWorker()
            #expect(taken.map(\.name) == ["a1"])
            #expect(taken.first?.attempt == 2)
            #expect(try await h.claimAll().isEmpty, "a1 is the new worker's now, and a2 waits for it")
            let queue = h.otherNode ?? h.queue
            try await queue.complete(try #require(taken.first))
            #expect(try await h.claimAll().map(\.name) == ["a2"])
        }
    }

    @Test("a job the handler completed in its own transaction is acknowledged and never runs again", arguments: QueueKind.all)
    func handlerCompletesInItsTransaction(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            try await h.queue.enqueue([QueueHarness.job("a1", partition: "a"), QueueHarness.job("a2", partition: "a")])
            let a1 = try #require(try await h.claimAll().first)
            try await h.store.database.transaction(durability: .relaxed) { db in try await h.store.queue.complete(a1, in: db) }
            await h.queue.acknowledge([a1])
            try await h.settle()
            if let redis = h.redis {
                #expect(try await redis.stats().streams?.length == 1, "only a2's entry is left")
            }
            #expect(try await h.takeOverFromDeadWorker().map(\.name) == ["a2"], "a1 is gone for good; a2 is next")
        }
    }

    @Test("stats count what waits, what is delayed, what runs and what died, by kind", arguments: QueueKind.all)
    func stats(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            let empty = try await h.queue.stats()
            #expect(empty.ready + empty.inFlight + empty.delayed + empty.dead == 0)
            try await h.queue.enqueue([
                QueueHarness.job("a1", partition: "a"), QueueHarness.job("b1", partition: "b"),
                NewJob(kind: JobKind(rawValue: "other.job"), partition: nil, payload: [0, 255, 10], runAt: h.clock.now().addingTimeInterval(600)),
            ])
            let running = try #require(try await h.claimAll().first { $0.name == "a1" })
            try await h.settle()
            let stats = try await h.queue.stats()
            #expect(stats.ready + stats.inFlight == 2)
            #expect(stats.delayed == 1)
            #expect(stats.byKind == ["test.job": 2, "other.job": 1])
            try await h.queue.fail(running, reason: "no", retryAt: nil)
            #expect(try await h.queue.stats().dead == 1)
            if kind.usesRedis {
                let streams = try #require(try await h.queue.stats().streams)
                #expect(streams.length == 1 && streams.deadLetters == 1)
            } else {
                #expect(try await h.queue.stats().streams == nil)
            }
        }
    }

    @Test("a job's payload arrives byte for byte, with its kind, partition and enqueue time", arguments: QueueKind.all)
    func payloadRoundTrip(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            let payload: [UInt8] = [0, 1, 2, 255, 254, 10, 13] + Array("{\"x\":\"é\"}".utf8)
            try await h.queue.enqueue([NewJob(kind: JobKind(rawValue: "bytes"), partition: "", payload: payload, maxAttempts: 3)])
            let job = try #require(try await h.claimAll().first)
            #expect(job.payload == payload)
            #expect(job.kind.rawValue == "bytes" && job.partition == "" && job.maxAttempts == 3)
            #expect(abs(job.enqueuedAt.timeIntervalSince(h.clock.now())) < 0.002)
        }
    }

    @Test("a waiting worker wakes when work arrives", .timeLimit(.minutes(1)), arguments: QueueKind.all)
    func waitingWorkerWakes(_ kind: QueueKind) async throws {
        try await QueueHarness.with(kind) { h in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await h.queue.waitForWork(timeout: .seconds(3600)) }
                try await h.queue.enqueue([QueueHarness.job("x", partition: nil)])
                try await h.settle()
                try await group.next()
            }
            #expect(try await h.queue.claim(limit: 1, worker: "w", lease: QueueHarness.lease).map(\.name) == ["x"])
        }
    }
}
