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

/// Claims jobs and runs their handlers, `concurrency` at a time. On graceful shutdown it
/// stops claiming, lets running jobs finish, and hands back any job it could not finish
/// so another worker (or the next start) runs it.
public final class JobWorker: Service {
    private let queue: any JobQueue
    private let handlers: [JobKind: any JobHandler]
    private let concurrency: Int
    private let lease: Duration
    private let backoff: Backoff
    private let workerID: String
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)

    public init(
        queue: any JobQueue,
        handlers: [JobKind: any JobHandler],
        concurrency: Int,
        lease: Duration,
        workerID: String,
        backoff: Backoff = Backoff(),
        logger: Logger
    ) {
        self.queue = queue
        self.handlers = handlers
        self.concurrency = concurrency
        self.lease = lease
        self.workerID = workerID
        self.backoff = backoff
        self.logger = logger
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for _ in 0..<concurrency {
                    group.addTask { await self.runLoop() }
                }
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        logger.info("worker stopped", metadata: ["worker": "\(workerID)"])
    }

    private var shouldStop: Bool { stopping.load(ordering: .relaxed) || Task.isCancelled }

    private func runLoop() async {
        while !shouldStop {
            let jobs: [Job]
            do {
                jobs = try await queue.claim(limit: 1, worker: workerID, lease: lease)
            } catch is CancellationError {
                return
            } catch {
                logger.warning("cannot claim jobs", metadata: ["error": "\(error)"])
                await queue.waitForWork(timeout: .seconds(1))
                continue
            }
            guard let job = jobs.first else {
                await queue.waitForWork(timeout: .milliseconds(500))
                continue
            }
            await run(job)
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
            if handler.completesJob { try await queue.acknowledge(job) } else { try await queue.complete(job) }
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
