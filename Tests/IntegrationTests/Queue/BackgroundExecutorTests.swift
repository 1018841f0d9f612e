import Foundation
import ServiceLifecycle
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport
import Testing

@testable import SwitchboardApp

#if canImport(Glibc)
import Glibc

/// The worker's tasks run on lowered threads, so a busy CPU serves acknowledgements first
/// (`SWITCHBOARD_WORKER_NICE`, docs/ingest.md *Session 12*).
@Suite("Background executor", .timeLimit(.minutes(2)))
struct BackgroundExecutorTests {
    static let probe = JobKind(rawValue: "test.nice")

    /// The nice value of the thread running the caller.
    static func threadNiceness() -> Int32 {
        getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    }

    /// Says at which nice value each job ran.
    final class NicenessProbe: JobHandler {
        let ran: AsyncStream<Int32>
        private let ranContinuation: AsyncStream<Int32>.Continuation

        init() { (ran, ranContinuation) = AsyncStream<Int32>.makeStream() }

        func handle(_ job: Job) async throws -> JobDisposition {
            // After a suspension too: a resumed task must come back to the same executor.
            let before = BackgroundExecutorTests.threadNiceness()
            try await Task.sleep(for: .milliseconds(1))
            let after = BackgroundExecutorTests.threadNiceness()
            ranContinuation.yield(before == after ? before : -1)
            return .finished
        }
    }

    @Test("a task and its children run at the executor's nice value; others do not")
    func tasksRunLowered() async throws {
        let executor = BackgroundExecutor.shared(niceness: 7)
        #expect(BackgroundExecutor.shared(niceness: 7) === executor)
        let outside = Self.threadNiceness()
        let inside = await withTaskExecutorPreference(executor) {
            await withTaskGroup(of: Int32.self) { group in
                for _ in 0..<4 { group.addTask { Self.threadNiceness() } }
                return await group.reduce(into: [Self.threadNiceness()]) { $0.append($1) }
            }
        }
        #expect(inside == Array(repeating: 7, count: 5))
        #expect(outside == 0)
    }

    /// `expected` is the nice value jobs must run at: 0 without an executor, so the test
    /// fails if the executor is not what lowers them.
    @Test("the worker's jobs, claimed or handed over, run where serve puts them", arguments: [Int32(0), 7])
    func workerRunsOnIt(niceness: Int32) async throws {
        try await TestDatabase.with(.sqlite) { database in
            let queue = EmbeddedJobQueue(database: database)
            let probe = NicenessProbe()
            let worker = JobWorker(
                queue: queue,
                handlers: [Self.probe: probe],
                concurrency: 2,
                lease: .seconds(300),
                workerID: "nice",
                logger: TestDatabase.logger
            )
            // One job waits before the worker starts (claimed), one comes later (handed over
            // or claimed, whichever is free).
            try await queue.enqueue([NewJob(kind: Self.probe, partition: "a", payload: [])])
            let service = TaskExecutorService(worker, executor: niceness > 0 ? BackgroundExecutor.shared(niceness: niceness) : nil)
            let running = Task { try await service.run() }
            var seen: [Int32] = []
            for await value in probe.ran {
                seen.append(value)
                if seen.count == 1 { try await queue.enqueue([NewJob(kind: Self.probe, partition: "b", payload: [])]) }
                if seen.count == 2 { break }
            }
            #expect(seen == [niceness, niceness])
            running.cancel()
            _ = try? await running.value
        }
    }

    /// A lane someone waits on (the bot's answers, agents' sends) leaves the lowered threads;
    /// the general slots and the other lanes stay on them.
    @Test("an urgent lane's jobs, claimed or handed over, run at the process's priority")
    func urgentLaneRunsAtProcessPriority() async throws {
        let urgent = JobKind(rawValue: "test.nice.urgent")
        let laned = JobKind(rawValue: "test.nice.lane")
        // The process's priority, as the test's own thread has it.
        let processNiceness = Self.threadNiceness()
        try await TestDatabase.with(.sqlite) { database in
            let queue = EmbeddedJobQueue(database: database)
            let probes = (general: NicenessProbe(), urgent: NicenessProbe(), laned: NicenessProbe())
            let worker = JobWorker(
                queue: queue,
                handlers: [Self.probe: probes.general, urgent: probes.urgent, laned: probes.laned],
                concurrency: 2,
                lanes: [urgent: 2, laned: 2],
                urgentLanes: [urgent],
                lease: .seconds(300),
                workerID: "nice-urgent",
                logger: TestDatabase.logger
            )
            // Claimed: waiting before the worker starts.
            try await queue.enqueue([
                NewJob(kind: Self.probe, partition: "a", payload: []), NewJob(kind: urgent, partition: "b", payload: []),
                NewJob(kind: laned, partition: "c", payload: []),
            ])
            let service = TaskExecutorService(worker, executor: BackgroundExecutor.shared(niceness: 7))
            let running = Task { try await service.run() }
            var ran = (
                general: probes.general.ran.makeAsyncIterator(), urgent: probes.urgent.ran.makeAsyncIterator(),
                laned: probes.laned.ran.makeAsyncIterator()
            )
            let claimed = (general: await ran.general.next(), urgent: await ran.urgent.next(), laned: await ran.laned.next())
            // Handed over (or claimed, whichever is free) while the worker runs.
            try await queue.enqueue([NewJob(kind: urgent, partition: "d", payload: [])])
            let later = await ran.urgent.next()
            #expect(claimed.general == 7)
            #expect(claimed.urgent == processNiceness)
            #expect(claimed.laned == 7)
            #expect(later == processNiceness)
            running.cancel()
            _ = try? await running.value
        }
    }
}
#endif
