import Foundation
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport
import Testing

/// A job enqueued while a local worker has a free slot goes straight to it, written
/// already leased in the enqueuing transaction (SQLite), with the queue's guarantees kept:
/// once, in partition order, and nothing from a transaction that rolled back.
@Suite("Job handoff", .timeLimit(.minutes(2)))
struct JobHandoffTests {
    static let kind = JobKind(rawValue: "test.handoff")

    static func job(_ name: String, partition: String?) -> NewJob {
        NewJob(kind: kind, partition: partition, payload: Array(name.utf8))
    }

    /// A running worker with two slots on a fresh SQLite database, warmed up by one job so
    /// its offer to take jobs is in place (and one slot is free whatever the warm-up's
    /// is doing).
    static func withWorker(
        _ body: @Sendable (EmbeddedJobQueue, any SQLDatabase, RecordingJobs, inout AsyncStream<String>.Iterator) async throws -> Void
    )
        async throws
    {
        try await TestDatabase.with(.sqlite) { database in
            let queue = EmbeddedJobQueue(database: database)
            let recorder = RecordingJobs { $0.hasPrefix("hold") }
            let worker = JobWorker(
                queue: queue,
                handlers: [kind: recorder],
                concurrency: 2,
                lease: .seconds(300),
                workerID: "handoff",
                logger: TestDatabase.logger
            )
            let running = Task { try await worker.run() }
            var ran = recorder.started.makeAsyncIterator()
            try await queue.enqueue([job("warm-up", partition: "p0")])
            #expect(await ran.next() == "warm-up")
            var failure: (any Error)?
            do { try await body(queue, database, recorder, &ran) } catch { failure = error }
            recorder.release()
            running.cancel()
            _ = try? await running.value
            if let failure { throw failure }
        }
    }

    @Test("a job enqueued while the worker has a free slot is handed over and runs once")
    func freeSlotTakesTheJob() async throws {
        try await Self.withWorker { queue, _, _, ran in
            let before = queue.handoffs
            try await queue.enqueue([Self.job("one", partition: "p1")])
            #expect(await ran.next() == "one")
            #expect(queue.handoffs == before + 1)
            // Not run a second time by a claim: the next job to run is the next one.
            try await queue.enqueue([Self.job("two", partition: nil)])
            #expect(await ran.next() == "two")
        }
    }

    @Test("a job behind an unfinished one of its partition is not handed over and runs after it")
    func busyPartitionKeepsOrder() async throws {
        try await Self.withWorker { queue, _, recorder, ran in
            try await queue.enqueue([Self.job("hold-first", partition: "p1")])
            #expect(await ran.next() == "hold-first")
            let before = queue.handoffs
            try await queue.enqueue([Self.job("second", partition: "p1")])
            #expect(queue.handoffs == before)
            recorder.release()
            #expect(await ran.next() == "second")
        }
    }

    @Test("two jobs of one partition in one enqueue are not handed over out of order")
    func samePartitionInOneCallQueues() async throws {
        try await Self.withWorker { queue, _, _, ran in
            let before = queue.handoffs
            try await queue.enqueue([Self.job("a", partition: "p2"), Self.job("b", partition: "p2")])
            #expect(await ran.next() == "a")
            #expect(await ran.next() == "b")
            #expect(queue.handoffs == before)
        }
    }

    @Test("a rolled-back enqueue hands nothing over and gives the slot back")
    func rollbackGivesTheSlotBack() async throws {
        struct Abort: Error {}
        try await Self.withWorker { queue, database, _, ran in
            let before = queue.handoffs
            await #expect(throws: Abort.self) {
                try await database.transaction { db in
                    try await queue.enqueue([Self.job("rolled-back", partition: "p3")], in: db)
                    throw Abort()
                }
            }
            #expect(queue.handoffs == before)
            // Both slots are needed now: a reservation kept by the rollback would leave the
            // second held job waiting forever (and the suite's time limit would end it).
            try await queue.enqueue([Self.job("hold-x", partition: "p4")])
            try await queue.enqueue([Self.job("hold-y", partition: "p5")])
            var started: Set<String> = []
            while started.count < 2, let name = await ran.next() { started.insert(name) }
            #expect(started == ["hold-x", "hold-y"])
        }
    }
}
