import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
public import SwitchboardCore
import Synchronization

/// Runs one kind of job. Throwing retries the job later (or dead-letters it once its
/// attempts are used up); a ``PermanentJobFailure`` dead-letters it at once.
public protocol JobHandler: Sendable {
    func handle(_ job: Job) async throws
    /// True when `handle` acknowledges the job itself, inside the transaction of its work
    /// (so work and acknowledgement commit together); otherwise the worker completes it.
    var completesJob: Bool { get }
}

extension JobHandler {
    public var completesJob: Bool { false }
}

/// A failure that no retry can fix (a body that is not JSON, say).
public struct PermanentJobFailure: Error, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Claims jobs and runs their handlers, `concurrency` at a time. Kinds given a lane of
/// their own (the bot's answers, which wait seconds on a model) run there, up to that
/// lane's width, and never in the general places: a thousand slow answers cannot delay
/// an agent's message. On graceful shutdown it stops claiming, lets running jobs finish,
/// and hands back any job it could not finish so another worker (or the next start) runs it.
public final class JobWorker: Service {
    private let queue: any JobQueue
    private let handlers: [JobKind: any JobHandler]
    private let concurrency: Int
    private let lanes: [JobKind: Int]
    private let lease: Duration
    private let backoff: Backoff
    private let workerID: String
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)

    public init(
        queue: any JobQueue,
        handlers: [JobKind: any JobHandler],
        concurrency: Int,
        lanes: [JobKind: Int] = [:],
        lease: Duration,
        workerID: String,
        backoff: Backoff = Backoff(),
        logger: Logger
    ) {
        self.queue = queue
        self.handlers = handlers
        self.concurrency = concurrency
        self.lanes = lanes
        self.lease = lease
        self.workerID = workerID
        self.backoff = backoff
        self.logger = logger
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                let general: JobKindFilter = lanes.isEmpty ? .any : .except(Set(lanes.keys))
                for _ in 0..<concurrency {
                    group.addTask { await self.runLoop(general) }
                }
                for (kind, width) in lanes {
                    group.addTask { await self.runLane(kind, width: width) }
                }
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        logger.info("worker stopped", metadata: ["worker": "\(workerID)"])
    }

    private var shouldStop: Bool { stopping.load(ordering: .relaxed) || Task.isCancelled }

    private func runLoop(_ kinds: JobKindFilter) async {
        while !shouldStop {
            guard let jobs = await claim(limit: 1, kinds) else { return }
            guard let job = jobs.first else {
                // Any of the general places takes any general job, so one that missed a
                // notify while claiming is covered by the others (and re-claiming after
                // every notify would flood the single writer with empty claims).
                await queue.waitForWork(timeout: .milliseconds(500))
                continue
            }
            await run(job)
        }
    }

    /// One claimer for a lane: it leases as many jobs as the lane has free places in one
    /// query and runs each in its own task (a thousand waiting answers are a thousand
    /// suspended tasks, not a thousand pollers).
    private func runLane(_ kind: JobKind, width: Int) async {
        let running = LaneOccupancy()
        await withDiscardingTaskGroup { group in
            while !shouldStop {
                let free = width - running.count
                guard free > 0 else {
                    await running.freed.wait(timeout: .milliseconds(500))
                    continue
                }
                // The lane's one claimer must see every notify: none of the general places
                // takes its jobs.
                let seen = queue.workGeneration
                guard let jobs = await claim(limit: min(free, 64), .only([kind])) else { return }
                guard !jobs.isEmpty else {
                    await queue.waitForWork(timeout: .milliseconds(500), since: seen)
                    continue
                }
                running.add(jobs.count)
                for job in jobs {
                    group.addTask {
                        await self.run(job)
                        running.finished()
                    }
                }
            }
        }
    }

    /// nil when cancelled; an empty list after a failed claim (logged, then a pause).
    private func claim(limit: Int, _ kinds: JobKindFilter) async -> [Job]? {
        do {
            return try await queue.claim(limit: limit, worker: workerID, lease: lease, kinds: kinds)
        } catch is CancellationError {
            return nil
        } catch {
            logger.warning("cannot claim jobs", metadata: ["error": "\(error)"])
            await queue.waitForWork(timeout: .seconds(1))
            return []
        }
    }

    private func run(_ job: Job) async {
        let started = ContinuousClock.now
        let dimensions = [("kind", job.kind.rawValue)]
        guard let handler = handlers[job.kind] else {
            try? await queue.fail(job, reason: "no handler for job kind \(job.kind)", retryAt: nil)
            return
        }
        Timer(label: "switchboard_job_wait_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(max(0, Date().timeIntervalSince(job.enqueuedAt)) * 1e9))
        do {
            try await handler.handle(job)
            if !handler.completesJob { try await queue.complete(job) }
            Timer(label: "switchboard_job_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
                .recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            Counter(label: "switchboard_jobs_total", dimensions: dimensions + [("outcome", "done")]).increment()
        } catch is CancellationError {
            try? await queue.release([job])
        } catch {
            let permanent = error is PermanentJobFailure
            let retryAt =
                permanent
                ? nil
                : SystemWallClock().now().addingTimeInterval(
                    backoff.delay(attempt: job.attempt, jitter: Double.random(in: 0...1)).seconds
                )
            let dead = retryAt == nil || job.attempt >= job.maxAttempts
            logger.log(
                level: dead ? .error : .warning,
                dead ? "job dead-lettered" : "job failed, will retry",
                metadata: ["job": "\(job.id)", "kind": "\(job.kind)", "attempt": "\(job.attempt)", "error": "\(error)"]
            )
            Counter(label: "switchboard_jobs_total", dimensions: dimensions + [("outcome", dead ? "dead" : "retry")]).increment()
            do {
                try await queue.fail(job, reason: String(describing: error), retryAt: retryAt)
            } catch {
                logger.error("cannot record a job failure; its lease will lapse", metadata: ["job": "\(job.id)", "error": "\(error)"])
            }
        }
    }
}

/// How many of a lane's jobs are running, and a signal when one ends.
private final class LaneOccupancy: Sendable {
    private let running = Atomic<Int>(0)
    let freed = WorkSignal()

    var count: Int { running.load(ordering: .acquiring) }
    func add(_ n: Int) { running.add(n, ordering: .relaxed) }

    func finished() {
        running.subtract(1, ordering: .releasing)
        freed.notify()
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds (what swift-metrics timers record).
    public var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
