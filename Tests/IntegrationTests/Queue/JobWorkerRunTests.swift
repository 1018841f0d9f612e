import Foundation
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import Synchronization
import TestSupport
import Testing

/// The worker on runs: a job that does not finish stops its run and hands the rest back,
/// a run handler does a run at once or falls back to the jobs one by one (invariant 4).
@Suite("Job worker runs")
struct JobWorkerRunTests {
    static let kind = JobKind(rawValue: "test")

    /// Records what it ran; defers or fails the jobs it is told to, once each.
    final class Recorder: JobRunHandler {
        struct State {
            var ran: [String] = []
            var runs: [[String]] = []
            var deferOnce: Set<String> = []
            var throwOnce: Set<String> = []
            var failRuns = false
            /// How many more whole runs meet a conflict.
            var conflicts = 0
        }
        let state = Mutex(State())
        let queue: EmbeddedJobQueue
        let clock: ManualWallClock
        let takesRuns: Bool

        init(queue: EmbeddedJobQueue, clock: ManualWallClock, takesRuns: Bool) {
            self.queue = queue
            self.clock = clock
            self.takesRuns = takesRuns
        }

        var completesJob: Bool { true }

        func handle(_ job: Job) async throws -> JobDisposition {
            let name = Self.name(job)
            let action = state.withLock { state -> String in
                if state.deferOnce.remove(name) != nil { return "defer" }
                if state.throwOnce.remove(name) != nil { return "throw" }
                state.ran.append(name)
                return "run"
            }
            switch action {
            case "defer":
                try await queue.fail(job, reason: "later", retryAt: clock.now().addingTimeInterval(30))
                return .deferred
            case "throw":
                throw CancellationErrorStandIn()
            default:
                try await queue.complete(job)
                return .finished
            }
        }

        func handleRun(_ jobs: [Job]) async throws {
            guard takesRuns, !state.withLock({ $0.failRuns }) else { throw CancellationErrorStandIn() }
            let conflict = state.withLock { state in
                defer { state.conflicts -= 1 }
                return state.conflicts > 0
            }
            if conflict { throw Deadlock() }
            state.withLock { $0.runs.append(jobs.map(Self.name)) }
            for job in jobs { try await queue.complete(job) }
        }

        static func name(_ job: Job) -> String { String(decoding: job.payload, as: UTF8.self) }
    }

    /// A failure the worker retries.
    struct CancellationErrorStandIn: Error {}

    /// What a database says to a deadlock's victim.
    struct Deadlock: ConflictFailure {
        var isConflict: Bool { true }
    }

    static func rig(
        _ database: any SQLDatabase,
        jobs: [String],
        takesRuns: Bool = false,
        lease: Duration = .seconds(300)
    ) async throws -> (EmbeddedJobQueue, Recorder, JobWorker, ManualWallClock) {
        let clock = ManualWallClock()
        let queue = EmbeddedJobQueue(database: database, clock: clock)
        try await queue.enqueue(jobs.map { NewJob(kind: kind, partition: "p", payload: Array($0.utf8)) })
        let recorder = Recorder(queue: queue, clock: clock, takesRuns: takesRuns)
        let worker = JobWorker(
            queue: queue,
            handlers: [kind: recorder],
            concurrency: 2,
            runLength: 10,
            lease: lease,
            workerID: "w",
            clock: clock,
            logger: TestDatabase.logger
        )
        return (queue, recorder, worker, clock)
    }

    @Test("a job its handler defers stops the run; the rest waits and then runs in order", arguments: TestDatabaseKind.all)
    func deferredJobStopsRun(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let (queue, recorder, worker, clock) = try await Self.rig(database, jobs: ["a", "b", "c", "d"])
            recorder.state.withLock { $0.deferOnce = ["b"] }
            #expect(try await worker.runUntilIdle() == 4)
            #expect(recorder.state.withLock { $0.ran } == ["a"])
            let stats = try await queue.stats()
            #expect(stats.inFlight == 0)
            // c and d wait behind b: all three are delayed, none ready.
            #expect(stats.delayed == 3)
            #expect(stats.ready == 0)
            clock.advance(by: 31)
            try await worker.runUntilIdle()
            #expect(recorder.state.withLock { $0.ran } == ["a", "b", "c", "d"])
        }
    }

    @Test("past half its lease a run hands back what it has not started", arguments: TestDatabaseKind.all)
    func runStopsBeforeItsLeasesLapse(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            // A lease of zero is half gone at once: every run stops after its first job.
            let (queue, recorder, worker, _) = try await Self.rig(database, jobs: ["a", "b", "c"], lease: .zero)
            #expect(try await worker.runUntilIdle() == 3 + 2 + 1)
            #expect(recorder.state.withLock { $0.ran } == ["a", "b", "c"])
            #expect(try await queue.stats().byKind.isEmpty)
        }
    }

    @Test("a job that throws stops the run; the retry keeps its place", arguments: TestDatabaseKind.all)
    func failingJobStopsRun(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let (queue, recorder, worker, clock) = try await Self.rig(database, jobs: ["a", "b", "c"])
            recorder.state.withLock { $0.throwOnce = ["b"] }
            try await worker.runUntilIdle()
            #expect(recorder.state.withLock { $0.ran } == ["a"])
            let stats = try await queue.stats()
            #expect(stats.inFlight == 0)
            #expect(stats.ready + stats.delayed == 2)
            clock.advance(by: Backoff().delay(attempt: 1, jitter: 1).seconds)
            try await worker.runUntilIdle()
            #expect(recorder.state.withLock { $0.ran } == ["a", "b", "c"])
        }
    }

    @Test("a run handler takes a backlog at once; when it fails, the jobs run one by one", arguments: TestDatabaseKind.all)
    func runHandlerAndFallback(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let (queue, recorder, worker, _) = try await Self.rig(database, jobs: ["a", "b", "c"], takesRuns: true)
            try await worker.runUntilIdle()
            #expect(recorder.state.withLock { $0.runs } == [["a", "b", "c"]])
            #expect(recorder.state.withLock { $0.ran }.isEmpty)

            try await queue.enqueue(["d", "e"].map { NewJob(kind: Self.kind, partition: "p", payload: Array($0.utf8)) })
            recorder.state.withLock { $0.failRuns = true }
            try await worker.runUntilIdle()
            #expect(recorder.state.withLock { $0.ran } == ["d", "e"])
            #expect(try await queue.stats() == QueueStats(ready: 0, delayed: 0, inFlight: 0, dead: 0, oldestReadyAgeSeconds: 0, byKind: [:]))
        }
    }

    @Test("a run that meets a conflict is tried again whole, twice, before its jobs run one by one", arguments: TestDatabaseKind.all)
    func conflictRetriesTheRun(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let (queue, recorder, worker, _) = try await Self.rig(database, jobs: ["a", "b", "c"], takesRuns: true)
            recorder.state.withLock { $0.conflicts = 2 }
            try await worker.runUntilIdle()
            #expect(recorder.state.withLock { $0.runs } == [["a", "b", "c"]], "the third try went through whole")
            #expect(recorder.state.withLock { $0.ran }.isEmpty)

            try await queue.enqueue(["d", "e"].map { NewJob(kind: Self.kind, partition: "p", payload: Array($0.utf8)) })
            recorder.state.withLock { $0.conflicts = 3 }
            try await worker.runUntilIdle()
            #expect(recorder.state.withLock { $0.runs }.count == 1)
            #expect(recorder.state.withLock { $0.ran } == ["d", "e"], "three conflicts: one by one")
            #expect(try await queue.stats() == QueueStats(ready: 0, delayed: 0, inFlight: 0, dead: 0, oldestReadyAgeSeconds: 0, byKind: [:]))
        }
    }
}
