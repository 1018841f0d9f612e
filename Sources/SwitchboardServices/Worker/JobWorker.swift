import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
public import SwitchboardCore
import Synchronization

/// What became of a job after its handler returned.
public enum JobDisposition: Sendable, Equatable {
    /// Done (or failed for good): the jobs behind it in its partition may run.
    case finished
    /// The handler put it back for later itself (a retry keeps its place at the head of its
    /// partition), so the jobs behind it must wait.
    case deferred
}

/// Runs one kind of job. Throwing retries the job later (or dead-letters it once its
/// attempts are used up); a ``PermanentJobFailure`` dead-letters it at once.
public protocol JobHandler: Sendable {
    /// Returns ``JobDisposition/deferred`` only when it rescheduled the job itself (which
    /// only a handler that ``completesJob`` does).
    @discardableResult
    func handle(_ job: Job) async throws -> JobDisposition
    /// True when `handle` acknowledges the job itself, inside the transaction of its work
    /// (so work and acknowledgement commit together); otherwise the worker completes it.
    var completesJob: Bool { get }
}

extension JobHandler {
    public var completesJob: Bool { false }
}

/// A handler that can take a whole run of its jobs (consecutive jobs of one partition,
/// see ``JobQueue/claimRuns(limit:runLength:worker:lease:)``) at once, acknowledging them
/// in one transaction: where a backlog forms, one commit then does the work of many.
public protocol JobRunHandler: JobHandler {
    /// Handles `jobs` (in order, at least two) all or nothing, completing them itself.
    /// Throwing leaves them all unfinished: the worker then runs them one by one with
    /// ``JobHandler/handle(_:)``, so one bad job is isolated and retried on its own; after
    /// a ``ConflictFailure`` it first tries the whole run again, a few times.
    func handleRun(_ jobs: [Job]) async throws
}

/// A failure that no retry can fix (a body that is not JSON, say).
public struct PermanentJobFailure: Error, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Claims jobs and runs their handlers, `concurrency` runs at a time. One loop claims for
/// the whole worker, as many runs as it has free slots, so idle slots never race each
/// other for the same rows. Kinds given a lane of their own (the bot's answers, which wait
/// seconds on a model) have their own claimer and slots, and never take the general ones:
/// a thousand slow answers cannot delay an agent's message. On graceful shutdown it stops
/// claiming, lets running jobs finish, and hands back what it could not run so another
/// worker (or the next start) runs it.
public final class JobWorker: Service {
    private let queue: any JobQueue
    private let handlers: [JobKind: any JobHandler]
    private let concurrency: Int
    /// The general slots first, then one claimer per lane.
    private let claimers: [Claimer]
    private let runLength: Int
    private let lease: Duration
    private let backoff: Backoff
    private let clock: any WallClock
    private let workerID: String
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let giveWay: GiveWay?
    /// Runs of ``GiveWay/kinds`` running now.
    private let givingWayRuns = Atomic<Int>(0)
    /// While giving way, no run of ``GiveWay/kinds`` is claimed before then.
    private let givingWayRest = Mutex<ContinuousClock.Instant?>(nil)

    /// Kinds whose runs give way to something more urgent: while `isNeeded` says so, the
    /// general slots run at most one run of them at a time, of at most ``runLength`` jobs,
    /// none is handed over unless `handsOver()` says it may be, and after each run of a
    /// ``resting`` kind claimed meanwhile the worker rests `restAfterRun()` times as long as
    /// the run took before claiming the next (other kinds are still claimed, at most every
    /// ``claimInterval`` while such a run is in flight or resting). The ingest kinds give way
    /// to webhook acknowledgements (``AcknowledgementPressure``): one run after another, even
    /// one at a time, kept the database's CPU and WAL busy enough to hold acknowledgements
    /// for 100 ms and more (docs/ingest.md, session 15).
    public struct GiveWay: Sendable {
        public var kinds: Set<JobKind>
        /// The kinds whose runs are followed by a rest: those whose time is the database's
        /// and the CPU's (applying webhooks), not a wait on someone else (a profile lookup).
        public var resting: Set<JobKind>
        public var runLength: Int
        public var isNeeded: @Sendable () -> Bool
        /// Whether a job of ``kinds`` may still be handed over as it is enqueued while the
        /// worker gives way (a handed-over job is a run of one, applied at once).
        public var handsOver: @Sendable () -> Bool
        public var restAfterRun: @Sendable () -> Double
        /// While a run of ``kinds`` gives way, the least time between claims of the others.
        static let claimInterval = Duration.milliseconds(100)

        public init(
            kinds: Set<JobKind>,
            resting: Set<JobKind>? = nil,
            runLength: Int = 128,
            isNeeded: @escaping @Sendable () -> Bool,
            handsOver: @escaping @Sendable () -> Bool = { false },
            restAfterRun: @escaping @Sendable () -> Double = { 0 }
        ) {
            self.kinds = kinds
            self.resting = resting?.intersection(kinds) ?? kinds
            self.runLength = max(1, runLength)
            self.isNeeded = isNeeded
            self.handsOver = handsOver
            self.restAfterRun = restAfterRun
        }
    }

    /// One claim loop: the kinds it takes, its slots, and whether it runs at the process's
    /// priority.
    private final class Claimer: Sendable {
        let kinds: JobKindFilter
        /// Free slots; a run holds one from its claim until it is done.
        let freeSlots: Atomic<Int>
        /// Rings when a slot frees, a job is handed over, or the queue says work may be ready.
        let wake = WorkSignal()
        /// Jobs handed over by the queue as they were enqueued (each with its slot taken)
        /// and not yet started; closed once the claim loop has ended.
        private let handoffs = Mutex<(jobs: [Job], closed: Bool)>(([], false))

        /// Someone waits on these jobs: the lane leaves the worker's lowered threads.
        let isUrgent: Bool

        init(kinds: JobKindFilter, slots: Int, isUrgent: Bool = false) {
            self.kinds = kinds
            self.freeSlots = Atomic(max(1, slots))
            self.isUrgent = isUrgent
        }

        /// Takes a slot for a job to be handed over, if one is free and the loop runs.
        func reserveSlot() -> Bool {
            guard !handoffs.withLock({ $0.closed }) else { return false }
            var free = freeSlots.load(ordering: .relaxed)
            while free > 0 {
                let (exchanged, original) = freeSlots.compareExchange(expected: free, desired: free - 1, ordering: .acquiringAndReleasing)
                if exchanged { return true }
                free = original
            }
            return false
        }

        func freeSlot() {
            freeSlots.add(1, ordering: .releasing)
            wake.notify()
        }

        /// Queues a job handed over; false once the loop has ended (hand it back then).
        func accept(_ job: Job) -> Bool {
            let accepted = handoffs.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.jobs.append(job)
                return true
            }
            if accepted { wake.notify() }
            return accepted
        }

        /// The jobs handed over since the last call.
        func takeHandedOver() -> [Job] {
            handoffs.withLock { state in
                defer { state.jobs = [] }
                return state.jobs
            }
        }

        /// Refuses further handoffs; returns the jobs handed over and not started.
        func close() -> [Job] {
            handoffs.withLock { state in
                state.closed = true
                defer { state.jobs = [] }
                return state.jobs
            }
        }
    }

    /// - Parameters:
    ///   - runLength: the most jobs of one partition claimed together (1: one at a time);
    ///     a backlog then costs one claim per run instead of one per job. Long runs matter
    ///     for the split partition, which every webhook shares: on PostgreSQL a run of 64
    ///     capped ingest near 1,600 webhooks/s (the ingest benchmark, session 9).
    ///   - lanes: kinds that run apart, each with this many slots of its own.
    ///   - urgentLanes: lanes someone is waiting on (a customer for the bot's answer, an agent
    ///     for their reply): their claims and jobs run on Swift's global executor, at the
    ///     process's priority, even when the worker runs on lowered threads
    ///     (``BackgroundExecutor``). Their work is small beside ingest's, which stays lowered:
    ///     under a burst, webhooks still wait behind their acknowledgements, and a reply does
    ///     not wait behind the webhooks.
    ///   - giveWay: kinds whose runs yield to something more urgent (see ``GiveWay``).
    public init(
        queue: any JobQueue,
        handlers: [JobKind: any JobHandler],
        concurrency: Int,
        lanes: [JobKind: Int] = [:],
        urgentLanes: Set<JobKind> = [],
        runLength: Int = 1024,
        lease: Duration,
        workerID: String,
        backoff: Backoff = Backoff(),
        clock: any WallClock = SystemWallClock(),
        giveWay: GiveWay? = nil,
        logger: Logger
    ) {
        self.giveWay = giveWay
        self.queue = queue
        self.handlers = handlers
        self.concurrency = max(1, concurrency)
        self.runLength = max(1, runLength)
        self.lease = lease
        self.workerID = workerID
        self.backoff = backoff
        self.clock = clock
        self.logger = logger
        let general = Claimer(kinds: lanes.isEmpty ? .any : .except(Set(lanes.keys)), slots: concurrency)
        self.claimers =
            [general]
            + lanes.sorted { $0.key.rawValue < $1.key.rawValue }.map {
                Claimer(kinds: .only([$0.key]), slots: $0.value, isUrgent: urgentLanes.contains($0.key))
            }
    }

    public func run() async throws {
        let handoffs = queue as? any JobHandoffSource
        handoffs?.offer(claimers.map(taker))
        defer { handoffs?.withdrawTakers(of: workerID) }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.relayQueueSignals() }
                // Running jobs finish; the relay ends at its next wake-up.
                for claimer in self.claimers {
                    group.addTask {
                        if claimer.isUrgent {
                            await withTaskExecutorPreference(globalConcurrentExecutor) { await self.claimLoopWithRuns(claimer) }
                        } else {
                            await self.claimLoopWithRuns(claimer)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            for claimer in self.claimers { claimer.wake.notify() }
        }
        logger.info("worker stopped", metadata: ["worker": "\(workerID)"])
    }

    /// Claims and runs jobs in the caller's task, one run after another, until none is
    /// runnable; returns how many jobs it claimed. The deterministic stand-in for
    /// ``run()`` in tests: the same claims, runs and fallbacks, no timing.
    @discardableResult
    public func runUntilIdle() async throws -> Int {
        var claimed = 0
        while true {
            let runs = try await queue.claimRuns(limit: concurrency, runLength: runLength, worker: workerID, lease: lease)
            guard !runs.isEmpty else { return claimed }
            for run in runs {
                claimed += run.count
                await self.run(run)
            }
        }
    }

    private var shouldStop: Bool { stopping.load(ordering: .relaxed) || Task.isCancelled }

    /// The queue's own wake-ups (work enqueued in this process, or a poll interval for
    /// work from other processes) become the claimer's.
    private func relayQueueSignals() async {
        while !shouldStop {
            await queue.waitForWork(timeout: .milliseconds(500))
            for claimer in claimers { claimer.wake.notify() }
        }
    }

    /// The claimer's offer to take jobs straight from the transactions that enqueue them.
    private func taker(_ claimer: Claimer) -> JobTaker {
        JobTaker(
            kinds: claimer.kinds,
            worker: workerID,
            lease: lease,
            reserve: { [weak self] kind in
                guard let self, !stopping.load(ordering: .relaxed) else { return false }
                if let giveWay, giveWay.kinds.contains(kind), givesWay(claimer), !giveWay.handsOver() { return false }
                return claimer.reserveSlot()
            },
            deliver: { [queue] job in
                // The loop ended between the reservation and the commit: back to the queue.
                if !claimer.accept(job) { Task { try? await queue.release([job]) } }
            },
            release: { claimer.freeSlot() }
        )
    }

    /// The claim loop of `claimer`, its runs as child tasks (they inherit where it runs).
    private func claimLoopWithRuns(_ claimer: Claimer) async {
        await withDiscardingTaskGroup { runs in await claimLoop(claimer, group: &runs) }
    }

    private func claimLoop(_ claimer: Claimer, group: inout DiscardingTaskGroup) async {
        let wake = claimer.wake
        defer {
            // Handed over but not started: back to the queue for another worker.
            let late = claimer.close()
            if !late.isEmpty { Task { [queue] in try? await queue.release(late) } }
        }
        var lastClaimGivingWay: ContinuousClock.Instant?
        while !shouldStop {
            for job in claimer.takeHandedOver() {
                start([job], of: claimer, in: &group)
            }
            // A job handed over while this claim runs takes a slot the claim may also fill:
            // the worker then runs that many jobs over its concurrency until one ends.
            let free = claimer.freeSlots.load(ordering: .acquiring)
            guard free > 0 else {
                await wake.wait(timeout: .seconds(1))
                continue
            }
            // Giving way: one run of those kinds at a time, claimed alone. Meanwhile the other
            // kinds are claimed at most every `GiveWay.claimInterval`: every stored webhook
            // wakes the claimer, and on PostgreSQL each claim is a transaction.
            var (limit, kinds, length, rests) = (free, claimer.kinds, runLength, false)
            // While resting, an empty claim of the other kinds waits no longer than the rest.
            var restLeft = Duration.zero
            if let giveWay, givesWay(claimer) {
                if giveWay.resting.contains(where: claimer.kinds.admits) {
                    restLeft = givingWayRest.withLock { $0 }.map { $0 - .now } ?? .zero
                }
                if givingWayRuns.load(ordering: .relaxed) > 0 || restLeft > .zero {
                    let wait = lastClaimGivingWay.map { GiveWay.claimInterval - (ContinuousClock.now - $0) } ?? .zero
                    if wait > .zero {
                        await wake.wait(timeout: restLeft > .zero ? min(wait, restLeft) : wait)
                        continue
                    }
                    kinds = kinds.excluding(giveWay.kinds)
                    lastClaimGivingWay = .now
                    // A lane of giving-way kinds only (profile lookups) has nothing to
                    // claim meanwhile. Its claims of no kind once cost PostgreSQL 158 ms
                    // each, every 100 ms (the ingest benchmark, session 14).
                    if kinds.admitsNothing { continue }
                } else {
                    (limit, length, rests) = (1, min(runLength, giveWay.runLength), true)
                }
            }
            let runs: [[Job]]
            do {
                runs = try await queue.claimRuns(limit: limit, runLength: length, worker: workerID, lease: lease, kinds: kinds)
            } catch is CancellationError {
                return
            } catch {
                logger.warning("cannot claim jobs", metadata: ["error": "\(error)"])
                await wake.wait(timeout: .seconds(1))
                continue
            }
            guard !runs.isEmpty else {
                await wake.wait(timeout: restLeft > .zero ? min(.seconds(1), restLeft) : .seconds(1))
                continue
            }
            claimer.freeSlots.subtract(runs.count, ordering: .releasing)
            for run in runs {
                start(run, of: claimer, in: &group, restsAfter: rests && giveWay?.resting.contains(run[0].kind) == true)
            }
        }
    }

    /// Whether `claimer`'s runs of the giving-way kinds must give way now.
    private func givesWay(_ claimer: Claimer) -> Bool {
        guard let giveWay, giveWay.kinds.contains(where: claimer.kinds.admits) else { return false }
        return giveWay.isNeeded()
    }

    /// Runs `jobs` in a slot of `claimer` already taken, counting runs of the giving-way kinds.
    /// `restsAfter`: a run claimed while giving way, of a resting kind; the rest after it is
    /// set when it ends, if the worker still gives way.
    private func start(_ jobs: [Job], of claimer: Claimer, in group: inout DiscardingTaskGroup, restsAfter: Bool = false) {
        let yields = giveWay?.kinds.contains(jobs[0].kind) == true
        if yields { givingWayRuns.add(1, ordering: .relaxed) }
        group.addTask {
            let started = ContinuousClock.now
            await self.run(jobs)
            if restsAfter, let giveWay = self.giveWay, giveWay.isNeeded() {
                let ended = ContinuousClock.now
                let rest = (ended - started) * max(0, giveWay.restAfterRun())
                self.givingWayRest.withLock { $0 = ended + rest }
            }
            if yields { self.givingWayRuns.subtract(1, ordering: .relaxed) }
            claimer.freeSlot()
        }
    }

    /// How often a run that met a conflict (``ConflictFailure``) is tried again whole.
    static let runConflictRetries = 2

    /// Runs one claimed run: as a whole when its handler can, else job by job, stopping
    /// at the first job that does not finish (a retry keeps its place at the head of the
    /// partition, so what follows it must wait) or once half the lease is gone, and handing
    /// the rest back.
    private func run(_ jobs: [Job]) async {
        if jobs.count > 1, let handler = handlers[jobs[0].kind] as? any JobRunHandler, jobs.allSatisfy({ $0.kind == jobs[0].kind }) {
            let started = ContinuousClock.now
            for job in jobs { recordWait(job) }
            var conflicts = 0
            whole: while true {
                do {
                    try await handler.handleRun(jobs)
                    await queue.acknowledge(jobs)
                    for job in jobs { record(job, outcome: "done", started: started) }
                    return
                } catch is CancellationError {
                    try? await queue.release(jobs)
                    return
                } catch let conflict as any ConflictFailure where conflict.isConflict && conflicts < Self.runConflictRetries {
                    // Run one by one, a run of a thousand webhooks costs several times as
                    // much: a deadlock's victim is worth trying again whole.
                    conflicts += 1
                    Counter(label: "switchboard_job_run_conflicts_total", dimensions: [("kind", jobs[0].kind.rawValue)]).increment()
                    logger.info("a run of jobs met a conflict; running it again", metadata: ["kind": "\(jobs[0].kind)", "error": "\(conflict)"])
                } catch {
                    logger.notice(
                        "a run of jobs failed as a whole; running them one by one",
                        metadata: ["kind": "\(jobs[0].kind)", "jobs": "\(jobs.count)", "error": "\(error)"]
                    )
                    break whole
                }
            }
        }
        let claimed = ContinuousClock.now
        for (index, job) in jobs.enumerated() {
            // The run's later jobs were leased with the first: past half the lease, hand
            // them back rather than let a lease lapse under a job still to run (another
            // worker would then run its conversation at the same time).
            let expiring = index > 0 && ContinuousClock.now - claimed > lease / 2
            let unfinished: ArraySlice<Job>? =
                shouldStop || expiring ? jobs[index...] : (await run(job) ? nil : jobs[(index + 1)...])
            if let unfinished {
                let rest = Array(unfinished)
                do {
                    try await queue.release(rest)
                } catch {
                    logger.error("cannot hand back jobs; their leases will lapse", metadata: ["jobs": "\(rest.count)", "error": "\(error)"])
                }
                return
            }
        }
    }

    /// Runs one job; true when it is done (completed, or dead-lettered so its partition
    /// goes on), false when it will run again later.
    private func run(_ job: Job) async -> Bool {
        let started = ContinuousClock.now
        recordWait(job)
        guard let handler = handlers[job.kind] else {
            try? await queue.fail(job, reason: "no handler for job kind \(job.kind)", retryAt: nil)
            return true
        }
        do {
            if try await handler.handle(job) == .deferred {
                record(job, outcome: "deferred", started: started)
                return false
            }
            if handler.completesJob { await queue.acknowledge([job]) } else { try await queue.complete(job) }
            record(job, outcome: "done", started: started)
            return true
        } catch is CancellationError {
            try? await queue.release([job])
            return false
        } catch {
            let permanent = error is PermanentJobFailure
            let retryAt =
                permanent
                ? nil
                : clock.now().addingTimeInterval(
                    backoff.delay(attempt: job.attempt, jitter: Double.random(in: 0...1)).seconds
                )
            let dead = job.nextAttempt(retryAt: retryAt) == nil
            logger.log(
                level: dead ? .error : .warning,
                dead ? "job dead-lettered" : "job failed, will retry",
                metadata: ["job": "\(job.id)", "kind": "\(job.kind)", "attempt": "\(job.attempt)", "error": "\(error)"]
            )
            Counter(label: "switchboard_jobs_total", dimensions: [("kind", job.kind.rawValue), ("outcome", dead ? "dead" : "retry")]).increment()
            do {
                try await queue.fail(job, reason: String(describing: error), retryAt: retryAt)
            } catch {
                logger.error("cannot record a job failure; its lease will lapse", metadata: ["job": "\(job.id)", "error": "\(error)"])
            }
            return dead
        }
    }

    private func recordWait(_ job: Job) {
        Timer(label: "switchboard_job_wait_seconds", dimensions: [("kind", job.kind.rawValue)], preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(max(0, clock.now().timeIntervalSince(job.enqueuedAt)) * 1e9))
    }

    private func record(_ job: Job, outcome: String, started: ContinuousClock.Instant) {
        let dimensions = [("kind", job.kind.rawValue)]
        Timer(label: "switchboard_job_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
            .recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        Counter(label: "switchboard_jobs_total", dimensions: dimensions + [("outcome", outcome)]).increment()
    }
}
