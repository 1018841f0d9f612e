import Foundation
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import Synchronization
import TestSupport
import Testing

/// Ingest runs give way to slow webhook acknowledgements (docs/ingest.md, session 12).
@Suite("Job worker giving way", .timeLimit(.minutes(2)))
struct JobWorkerGiveWayTests {
    static let bulk = JobKind(rawValue: "test.bulk")
    static let other = JobKind(rawValue: "test.other")

    @Test("an acknowledgement over the threshold marks the hold that follows as under pressure, and the worker's rests extend it")
    func pressureWindow() {
        let start = ContinuousClock.now
        var window = AcknowledgementPressure.Window(threshold: .milliseconds(100), hold: .seconds(5))
        #expect(!window.isUnderPressure(at: start))
        let atThreshold = window.record(.milliseconds(100), at: start)
        #expect(!atThreshold && !window.isUnderPressure(at: start), "at the threshold is not over it")
        let over = window.record(.milliseconds(101), at: start)
        #expect(over, "begins a time under pressure")
        #expect(window.isUnderPressure(at: start + .seconds(4)))
        #expect(window.isUnderPressure(at: start + .seconds(6)), "past the hold while the worker still rests")
        #expect(window.restAfterRun() == 2, "a run during which an acknowledgement was slow")
        #expect(window.restAfterRun() == 0, "a run during which no webhook came")
        #expect(!window.isUnderPressure(at: start + .seconds(5)), "no rest left: the hold alone")
        let again = window.record(.milliseconds(300), at: start + .seconds(3))
        #expect(!again, "already under pressure")
        #expect(window.isUnderPressure(at: start + .seconds(7)), "a later slow one extends the hold")
        let fast = window.record(.milliseconds(2), at: start + .seconds(7))
        #expect(!fast)
        #expect(window.isUnderPressure(at: start + .seconds(7)), "a fast one does not end it")
        #expect(!window.isUnderPressure(at: start + .seconds(8)))
        let later = window.record(.seconds(1), at: start + .seconds(9))
        #expect(later, "and a new one begins after it")
    }

    @Test("the worker gives way while webhooks arrive, however fast, and under pressure")
    func givesWayWhileWebhooksArrive() {
        let start = ContinuousClock.now
        var window = AcknowledgementPressure.Window(threshold: .milliseconds(25), hold: .seconds(5))
        #expect(!window.givesWay(at: start), "nothing has come")
        window.record(.milliseconds(2), at: start)
        #expect(window.givesWay(at: start + .milliseconds(999)))
        #expect(!window.isUnderPressure(at: start + .milliseconds(999)), "a fast acknowledgement is no pressure")
        #expect(window.restAfterRun() == 0, "and no rest")
        #expect(!window.givesWay(at: start + .seconds(1)), "a second without a webhook: a backlog drains side by side")
        window.record(.milliseconds(30), at: start + .seconds(2))
        #expect(window.givesWay(at: start + .seconds(4)), "under pressure after the webhooks stopped")
    }

    @Test(
        "the rest after a run starts at the run's time, doubles while acknowledgements are slow, and comes down a little at a time once they are not"
    )
    func restFollowsAcknowledgements() {
        let start = ContinuousClock.now
        var window = AcknowledgementPressure.Window(threshold: .milliseconds(25), hold: .seconds(5))
        #expect(window.restAfterRun() == 0, "no slow acknowledgement, no rest")
        let begins = window.record(.milliseconds(30), at: start)
        #expect(begins)
        #expect(window.restPerRun == AcknowledgementPressure.Window.firstRest)
        #expect(window.restAfterRun() == 2)
        window.record(.milliseconds(30), at: start)
        window.record(.milliseconds(90), at: start)
        #expect(window.restAfterRun() == 4, "several slow ones in one run count once")
        window.record(.milliseconds(26), at: start)
        #expect(window.restAfterRun() == 4, "up to four times the run's time")
        var calm: [Double] = []
        for _ in 0..<3 {
            window.record(.milliseconds(25), at: start)
            calm.append(window.restAfterRun())
        }
        #expect(calm == [3.9375, 3.875, 3.8125], "at the threshold is not slow: a sixteenth less each run")
        #expect(window.restAfterRun() == 0, "nothing came during the run: nothing to give way to")
        // Still the same time under pressure: a slow one doubles from the shortest.
        let sameTime = window.record(.milliseconds(30), at: start + .seconds(1))
        #expect(!sameTime)
        #expect(window.restAfterRun() == 0.5)
        // Past the hold, the time under pressure lasts until the rest is none.
        window.record(.milliseconds(1), at: start + .seconds(7))
        #expect(window.isUnderPressure(at: start + .seconds(7)))
        let pastHold = window.record(.milliseconds(30), at: start + .seconds(7))
        #expect(!pastHold, "not a new time: the rest goes on from where it was")
        #expect(window.restAfterRun() == 1)
        for _ in 0..<15 {
            window.record(.milliseconds(1), at: start + .seconds(7))
            _ = window.restAfterRun()
        }
        #expect(window.restPerRun == 1.0 / 16)
        #expect(window.isUnderPressure(at: start + .seconds(13)))
        window.record(.milliseconds(1), at: start + .seconds(13))
        #expect(window.restAfterRun() == 0)
        #expect(!window.isUnderPressure(at: start + .seconds(13)))
        // A time under pressure that begins after the last one ended starts from the run's time.
        let next = window.record(.milliseconds(30), at: start + .seconds(14))
        #expect(next)
        #expect(window.restPerRun == AcknowledgementPressure.Window.firstRest)
    }

    @Test("a filter without some kinds")
    func excluding() {
        let a = JobKind(rawValue: "a")
        let b = JobKind(rawValue: "b")
        #expect(JobKindFilter.any.excluding([a]) == .except([a]))
        #expect(JobKindFilter.only([a, b]).excluding([a]) == .only([b]))
        #expect(JobKindFilter.except([b]).excluding([a]) == .except([a, b]))
        #expect(JobKindFilter.only([a]).excluding([a]).admitsNothing)
        #expect(!JobKindFilter.only([a, b]).excluding([a]).admitsNothing)
        #expect(!JobKindFilter.any.excluding([a, b]).admitsNothing)
        #expect(!JobKindFilter.except([]).admitsNothing)
    }

    static func job(_ kind: JobKind, _ name: String) -> NewJob {
        NewJob(kind: kind, partition: name, payload: Array(name.utf8))
    }

    /// The bulk jobs still in the queue, in the order enqueued: "name state" each.
    static func bulkJobs(in database: any SQLDatabase) async throws -> [String] {
        try await database.read {
            try await $0.query("SELECT partition_key, state FROM jobs WHERE kind = $1 ORDER BY id", [.text(bulk.rawValue)])
        }.map { "\($0.string("partition_key") ?? "") \($0.string("state") ?? "")" }
    }

    @Test(
        "under pressure one giving-way run at a time while other kinds go on; once it is over, side by side",
        arguments: TestDatabaseKind.all
    )
    func oneRunAtATimeUnderPressure(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let queue = EmbeddedJobQueue(database: database)
            let held = RecordingJobs.held()
            let quick = RecordingJobs.quick()
            let pressure = Mutex(true)
            let worker = JobWorker(
                queue: queue,
                handlers: [Self.bulk: held, Self.other: quick],
                concurrency: 4,
                lease: .seconds(300),
                workerID: "give-way",
                giveWay: JobWorker.GiveWay(kinds: [Self.bulk]) { pressure.withLock { $0 } },
                logger: TestDatabase.logger
            )
            try await queue.enqueue([Self.job(Self.bulk, "bulk-1"), Self.job(Self.bulk, "bulk-2"), Self.job(Self.other, "other-1")])
            let running = Task { try await worker.run() }
            var started = held.started.makeAsyncIterator()
            var ran = quick.started.makeAsyncIterator()
            #expect(await started.next() == "bulk-1")
            #expect(await ran.next() == "other-1")
            // Another of the other kind runs (handed over on SQLite, else claimed), while a
            // bulk job enqueued with it is neither handed over nor claimed, nor is bulk-2.
            try await queue.enqueue([Self.job(Self.bulk, "bulk-3"), Self.job(Self.other, "other-2")])
            #expect(await ran.next() == "other-2")
            #expect(try await Self.bulkJobs(in: database) == ["bulk-1 leased", "bulk-2 ready", "bulk-3 ready"])
            // The pressure over, bulk-2 and bulk-3 run beside bulk-1, which is still held.
            pressure.withLock { $0 = false }
            queue.wake()
            let later = [await started.next(), await started.next()]
            #expect(Set(later) == ["bulk-2", "bulk-3"])
            held.release()
            running.cancel()
            _ = try? await running.value
        }
    }

    @Test("while giving way, a job of a giving-way kind is handed over as it is enqueued only when the rule allows it")
    func handoffWhileGivingWay() async throws {
        try await TestDatabase.with(.sqlite) { database in
            let queue = EmbeddedJobQueue(database: database)
            let quick = RecordingJobs.quick()
            let handsOver = Mutex(true)
            let worker = JobWorker(
                queue: queue,
                handlers: [Self.bulk: quick],
                concurrency: 2,
                lease: .seconds(300),
                workerID: "give-way-handoff",
                giveWay: JobWorker.GiveWay(kinds: [Self.bulk], isNeeded: { true }, handsOver: { handsOver.withLock { $0 } }),
                logger: TestDatabase.logger
            )
            let running = Task { try await worker.run() }
            var ran = quick.started.makeAsyncIterator()
            // A first job puts the worker's offer to take jobs in place.
            try await queue.enqueue([Self.job(Self.bulk, "warm-up")])
            #expect(await ran.next() == "warm-up")
            let before = queue.handoffs
            try await queue.enqueue([Self.job(Self.bulk, "handed")])
            #expect(await ran.next() == "handed")
            #expect(queue.handoffs == before + 1)
            handsOver.withLock { $0 = false }
            try await queue.enqueue([Self.job(Self.bulk, "claimed")])
            #expect(await ran.next() == "claimed")
            #expect(queue.handoffs == before + 1, "under pressure it waits for a claim")
            running.cancel()
            _ = try? await running.value
        }
    }

    /// Takes runs whole, each lasting `duration` (the work itself), and says when each ran;
    /// `afterRun` sees each run's jobs before the worker does.
    final class TimedRuns: JobRunHandler {
        struct Run: Sendable {
            var names: [String]
            var started: ContinuousClock.Instant
            var ended: ContinuousClock.Instant
        }
        let runs: AsyncStream<Run>
        private let continuation: AsyncStream<Run>.Continuation
        let queue: EmbeddedJobQueue
        let duration: Duration
        let afterRun: @Sendable ([String]) -> Void

        init(queue: EmbeddedJobQueue, duration: Duration, afterRun: @escaping @Sendable ([String]) -> Void) {
            self.queue = queue
            self.duration = duration
            self.afterRun = afterRun
            (runs, continuation) = AsyncStream<Run>.makeStream()
        }

        var completesJob: Bool { true }

        func handle(_ job: Job) async throws -> JobDisposition {
            try await handleRun([job])
            return .finished
        }

        func handleRun(_ jobs: [Job]) async throws {
            let started = ContinuousClock.now
            try await Task.sleep(for: duration)
            for job in jobs { try await queue.complete(job) }
            let names = jobs.map { String(decoding: $0.payload, as: UTF8.self) }
            afterRun(names)
            continuation.yield(Run(names: names, started: started, ended: .now))
        }
    }

    @Test(
        "under pressure runs are short and each is followed by a rest as long as it took; once it is over, long runs at once",
        arguments: TestDatabaseKind.all
    )
    func shortRunsAndRestsUnderPressure(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let queue = EmbeddedJobQueue(database: database)
            let pressure = Mutex(true)
            // The pressure is over once the second run is done.
            let handler = TimedRuns(queue: queue, duration: .milliseconds(150)) { names in
                if names.contains("b3") { pressure.withLock { $0 = false } }
            }
            let worker = JobWorker(
                queue: queue,
                handlers: [Self.bulk: handler],
                concurrency: 4,
                runLength: 100,
                lease: .seconds(300),
                workerID: "rests",
                giveWay: JobWorker.GiveWay(kinds: [Self.bulk], runLength: 2, isNeeded: { pressure.withLock { $0 } }, restAfterRun: { 1 }),
                logger: TestDatabase.logger
            )
            try await queue.enqueue((1...7).map { NewJob(kind: Self.bulk, partition: "split", payload: Array("b\($0)".utf8)) })
            let running = Task { try await worker.run() }
            var runs = handler.runs.makeAsyncIterator()
            let first = try #require(await runs.next())
            let second = try #require(await runs.next())
            #expect(first.names == ["b1", "b2"])
            #expect(second.names == ["b3", "b4"])
            #expect(
                second.started - first.ended >= first.ended - first.started,
                "the second run began \(second.started - first.ended) after the first, which took \(first.ended - first.started)"
            )
            // The pressure over, what is left runs at once as one run of the worker's length.
            let third = try #require(await runs.next())
            #expect(third.names == ["b5", "b6", "b7"])
            running.cancel()
            _ = try? await running.value
        }
    }

    @Test("during a rest other kinds still run, and the giving-way kind waits", arguments: TestDatabaseKind.all)
    func otherKindsRunDuringARest(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let queue = EmbeddedJobQueue(database: database)
            let bulk = TimedRuns(queue: queue, duration: .milliseconds(100)) { _ in }
            let quick = RecordingJobs.quick()
            let worker = JobWorker(
                queue: queue,
                handlers: [Self.bulk: bulk, Self.other: quick],
                concurrency: 4,
                lease: .seconds(300),
                workerID: "rest-others",
                // A rest of 600 times the run: a minute, longer than the test.
                giveWay: JobWorker.GiveWay(kinds: [Self.bulk], runLength: 1, isNeeded: { true }, restAfterRun: { 600 }),
                logger: TestDatabase.logger
            )
            try await queue.enqueue([Self.job(Self.bulk, "bulk-1"), Self.job(Self.bulk, "bulk-2")])
            let running = Task { try await worker.run() }
            var runs = bulk.runs.makeAsyncIterator()
            #expect(await runs.next()?.names == ["bulk-1"])
            try await queue.enqueue([Self.job(Self.other, "other-1")])
            var ran = quick.started.makeAsyncIterator()
            #expect(await ran.next() == "other-1")
            #expect(try await Self.bulkJobs(in: database) == ["bulk-2 ready"])
            running.cancel()
            _ = try? await running.value
        }
    }
}
