import Foundation
import SwitchboardCore
import SwitchboardStore
import Synchronization
import TestSupport
import Testing

/// The embedded queue's runs: a partition's next job with the runnable jobs right behind
/// it, never past a job that must wait, never to two claimers at once (invariant 4).
@Suite("Embedded queue runs")
struct EmbeddedQueueRunTests {
    /// Enqueues one job per `(partition, delay)`; each job's payload is its index.
    static func enqueue(_ queue: EmbeddedJobQueue, _ jobs: [(String?, TimeInterval)], clock: ManualWallClock) async throws {
        try await queue.enqueue(
            jobs.enumerated().map { index, job in
                NewJob(
                    kind: JobKind(rawValue: "test"),
                    partition: job.0,
                    payload: Array("\(index)".utf8),
                    runAt: clock.now().addingTimeInterval(job.1)
                )
            }
        )
    }

    static func payloads(_ runs: [[Job]]) -> [[String]] {
        runs.map { $0.map { String(decoding: $0.payload, as: UTF8.self) } }
    }

    @Test("a run is a partition's head and the jobs right behind it, up to the run length", arguments: TestDatabaseKind.all)
    func runsFollowHeads(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let clock = ManualWallClock()
            let queue = EmbeddedJobQueue(database: database, clock: clock)
            try await Self.enqueue(queue, [("p", 0), ("q", 0), ("p", 0), (nil, 0), ("p", 0), ("q", 0), ("p", 0)], clock: clock)
            let runs = try await queue.claimRuns(limit: 10, runLength: 3, worker: "a", lease: .seconds(30))
            #expect(Self.payloads(runs) == [["0", "2", "4"], ["1", "5"], ["3"]])
            // The rest of p waits behind the leased run; nothing else is runnable.
            #expect(try await queue.claimRuns(limit: 10, runLength: 3, worker: "b", lease: .seconds(30)).isEmpty)
            for job in runs[0] { try await queue.complete(job) }
            #expect(Self.payloads(try await queue.claimRuns(limit: 10, runLength: 3, worker: "b", lease: .seconds(30))) == [["6"]])
        }
    }

    @Test("the split partition's backlog yields its head and run, and never hides the other partitions", arguments: TestDatabaseKind.all)
    func splitBacklogBesideOthers(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let clock = ManualWallClock()
            let queue = EmbeddedJobQueue(database: database, clock: clock)
            let split = EmbeddedJobQueue.webhookPartition
            try await Self.enqueue(queue, Array(repeating: (split, 0), count: 300) + [("p", 0), (nil, 0), (split, 0), ("p", 0)], clock: clock)
            let runs = try await queue.claimRuns(limit: 3, runLength: 4, worker: "a", lease: .seconds(30))
            #expect(Self.payloads(runs) == [["0", "1", "2", "3"], ["300", "303"], ["301"]])
            #expect(Self.payloads(try await queue.claimRuns(limit: 3, runLength: 4, worker: "b", lease: .seconds(30))).isEmpty)
        }
    }

    @Test("a delayed job ends the run: nothing passes it", arguments: TestDatabaseKind.all)
    func delayedJobEndsRun(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let clock = ManualWallClock()
            let queue = EmbeddedJobQueue(database: database, clock: clock)
            try await Self.enqueue(queue, [("p", 0), ("p", 60), ("p", 0)], clock: clock)
            let first = try await queue.claimRuns(limit: 10, runLength: 10, worker: "a", lease: .seconds(300))
            #expect(Self.payloads(first) == [["0"]])
            try await queue.complete(first[0][0])
            #expect(try await queue.claimRuns(limit: 10, runLength: 10, worker: "a", lease: .seconds(300)).isEmpty)
            clock.advance(by: 61)
            #expect(Self.payloads(try await queue.claimRuns(limit: 10, runLength: 10, worker: "a", lease: .seconds(300))) == [["1", "2"]])
        }
    }

    @Test("a retried head keeps its place; the run behind it, handed back, follows it", arguments: TestDatabaseKind.all)
    func handedBackRunKeepsOrder(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let clock = ManualWallClock()
            let queue = EmbeddedJobQueue(database: database, clock: clock)
            try await Self.enqueue(queue, [("p", 0), ("p", 0), ("p", 0)], clock: clock)
            let run = try #require(try await queue.claimRuns(limit: 1, runLength: 3, worker: "a", lease: .seconds(300)).first)
            #expect(run.map(\.attempt) == [1, 1, 1])
            try await queue.fail(run[0], reason: "later", retryAt: clock.now().addingTimeInterval(10))
            try await queue.release(Array(run.dropFirst()))
            #expect(try await queue.claimRuns(limit: 10, runLength: 3, worker: "b", lease: .seconds(300)).isEmpty)
            clock.advance(by: 11)
            // The retried head runs alone: what was behind it waits until it finishes.
            let head = try await queue.claimRuns(limit: 10, runLength: 3, worker: "b", lease: .seconds(300))
            #expect(Self.payloads(head) == [["0"]])
            #expect(head.first?.first?.attempt == 2)
            try await queue.complete(try #require(head.first?.first))
            let rest = try await queue.claimRuns(limit: 10, runLength: 3, worker: "b", lease: .seconds(300))
            #expect(Self.payloads(rest) == [["1", "2"]])
            // Handing back, and waiting, do not count an attempt.
            #expect(rest.first?.map(\.attempt) == [1, 1])
        }
    }

    @Test("the jobs behind a retry wait out of the claims' way and follow it once it finishes or dies", arguments: TestDatabaseKind.all)
    func jobsWaitBehindARetry(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let clock = ManualWallClock()
            let queue = EmbeddedJobQueue(database: database, clock: clock)
            let lease = Duration.seconds(300)
            try await Self.enqueue(queue, [("p", 0), ("p", 0), ("q", 0), ("p", 0), ("r", 0), ("r", 0)], clock: clock)
            let heads = try await queue.claimRuns(limit: 10, runLength: 1, worker: "a", lease: lease)
            #expect(Self.payloads(heads) == [["0"], ["2"], ["4"]])
            try await queue.complete(heads[1][0])
            for head in [heads[0][0], heads[2][0]] { try await queue.fail(head, reason: "later", retryAt: clock.now().addingTimeInterval(10)) }
            // p's and r's heads are delayed and their followers wait: nothing is claimable,
            // and the stats count all five as delayed.
            #expect(try await queue.claimRuns(limit: 10, runLength: 5, worker: "a", lease: lease).isEmpty)
            var stats = try await queue.stats()
            #expect((stats.ready, stats.delayed, stats.inFlight) == (0, 5, 0))
            // A job enqueued behind the retry meanwhile waits too.
            try await queue.enqueue([NewJob(kind: JobKind(rawValue: "test"), partition: "p", payload: Array("6".utf8))])
            #expect(try await queue.claimRuns(limit: 10, runLength: 5, worker: "a", lease: lease).isEmpty)
            // With SQLite's one writer it waits; PostgreSQL's writers start it ready (a
            // claim passes it over until the retry is over).
            stats = try await queue.stats()
            #expect(kind == .sqlite ? (stats.ready, stats.delayed) == (0, 6) : (stats.ready, stats.delayed) == (1, 5))

            clock.advance(by: 11)
            var retried = try await queue.claimRuns(limit: 10, runLength: 5, worker: "a", lease: lease)
            #expect(Self.payloads(retried) == [["0"], ["4"]])
            // Failing again keeps them waiting; r's head then dies, p's finishes.
            try await queue.fail(retried[0][0], reason: "later again", retryAt: clock.now().addingTimeInterval(10))
            try await queue.fail(retried[1][0], reason: "poison", retryAt: nil)
            #expect(Self.payloads(try await queue.claimRuns(limit: 10, runLength: 5, worker: "a", lease: lease)) == [["5"]])
            clock.advance(by: 11)
            retried = try await queue.claimRuns(limit: 10, runLength: 5, worker: "a", lease: lease)
            #expect(Self.payloads(retried) == [["0"]])
            #expect(retried.first?.first?.attempt == 3)
            try await queue.complete(retried[0][0])
            let rest = try await queue.claimRuns(limit: 10, runLength: 5, worker: "a", lease: lease)
            #expect(Self.payloads(rest) == [["1", "3", "6"]])
            #expect(rest.first?.map(\.attempt) == [1, 1, 1])
            stats = try await queue.stats()
            #expect((stats.ready, stats.delayed, stats.inFlight, stats.dead) == (0, 0, 4, 1), "p's three and r's 5 leased, r's 4 dead")
        }
    }

    /// Two runs of one job: its lease lapsed under the first (a send waiting its turn at a
    /// busy Page), the second finished it, then the first put it back for later. The job is
    /// gone, so nothing may wait behind it: its followers once waited for good.
    @Test("a job put back after another run of it finished leaves its partition's jobs runnable", arguments: TestDatabaseKind.all)
    func lateFailureOfAFinishedJob(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let clock = ManualWallClock()
            let queue = EmbeddedJobQueue(database: database, clock: clock)
            try await Self.enqueue(queue, [("p", 0)], clock: clock)
            let first = try #require(try await queue.claimRuns(limit: 1, runLength: 1, worker: "a", lease: .seconds(30)).first?.first)
            clock.advance(by: 31)
            let second = try #require(try await queue.claimRuns(limit: 1, runLength: 1, worker: "a", lease: .seconds(30)).first?.first)
            #expect(second.id == first.id && second.attempt == 2)
            try await Self.enqueue(queue, [("p", 0), ("p", 0)], clock: clock)
            try await queue.complete(second)
            try await queue.fail(first, reason: "the Page is over its rate", retryAt: clock.now().addingTimeInterval(10))
            #expect(Self.payloads(try await queue.claimRuns(limit: 5, runLength: 5, worker: "a", lease: .seconds(30))) == [["0", "1"]])
        }
    }

    @Test("a dead-lettered job does not block its partition", arguments: TestDatabaseKind.all)
    func deadJobsDoNotBlock(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let clock = ManualWallClock()
            let queue = EmbeddedJobQueue(database: database, clock: clock)
            try await Self.enqueue(queue, [("p", 0), ("p", 0), ("p", 0)], clock: clock)
            let head = try #require(try await queue.claimRuns(limit: 1, runLength: 1, worker: "a", lease: .seconds(300)).first?.first)
            try await queue.fail(head, reason: "poison", retryAt: nil)
            #expect(Self.payloads(try await queue.claimRuns(limit: 5, runLength: 5, worker: "a", lease: .seconds(300))) == [["1", "2"]])
            #expect(try await queue.stats().dead == 1)
        }
    }

    @Test("concurrent claimers never hold the same partition at once, and each partition runs in order", arguments: TestDatabaseKind.all)
    func concurrentClaimersKeepPartitionsApart(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let clock = ManualWallClock()
            let queue = EmbeddedJobQueue(database: database, clock: clock)
            let partitions = (0..<12).map { "p\($0)" }
            let jobs = (0..<240).map { i in (Optional(partitions[i % partitions.count]), TimeInterval(0)) }
            try await Self.enqueue(queue, jobs, clock: clock)

            let ledger = Ledger()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for claimer in 0..<4 {
                    group.addTask {
                        var idle = 0
                        while idle < 3 {
                            let runs = try await StoreTests.retryingBusy {
                                try await queue.claimRuns(limit: 3, runLength: 4, worker: "c\(claimer)", lease: .seconds(300))
                            }
                            if runs.isEmpty {
                                idle += 1
                                await Task.yield()
                                continue
                            }
                            idle = 0
                            for run in runs {
                                let partition = run[0].partition ?? ""
                                ledger.state.withLock { ledger in
                                    if ledger.holders[partition] != nil { ledger.overlaps += 1 }
                                    ledger.holders[partition] = "c\(claimer)"
                                    ledger.ran[partition, default: []] += run.map { Int(String(decoding: $0.payload, as: UTF8.self)) ?? -1 }
                                }
                            }
                            for run in runs {
                                // The partition is let go just before its last job completes: from
                                // then on nobody else can claim it until that commit.
                                for job in run.dropLast() { try await StoreTests.retryingBusy { try await queue.complete(job) } }
                                ledger.state.withLock { _ = $0.holders.removeValue(forKey: run[0].partition ?? "") }
                                if let last = run.last { try await StoreTests.retryingBusy { try await queue.complete(last) } }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            // Whatever the claimers left (they stop after a few empty claims) runs now.
            while let run = try await queue.claimRuns(limit: 1, runLength: 100, worker: "last", lease: .seconds(300)).first {
                let partition = run[0].partition ?? ""
                ledger.state.withLock { $0.ran[partition, default: []] += run.map { Int(String(decoding: $0.payload, as: UTF8.self)) ?? -1 } }
                for job in run { try await queue.complete(job) }
            }
            let result = ledger.state.withLock { $0 }
            #expect(result.overlaps == 0)
            for (index, partition) in partitions.enumerated() {
                #expect(result.ran[partition] == Array(stride(from: index, to: 240, by: partitions.count)), "partition \(partition)")
            }
        }
    }

    /// Who holds which partition, and what ran, shared by the claimers.
    final class Ledger: Sendable {
        struct State {
            var holders: [String: String] = [:]
            var ran: [String: [Int]] = [:]
            var overlaps = 0
        }
        let state = Mutex(State())
    }
}
