public import Foundation
public import Logging
import RESP
public import ServiceLifecycle
public import SwitchboardCore
public import SwitchboardStore
import Synchronization

/// The queue on Redis Streams, with the database as its durable outbox (invariant 2:
/// Redis is never the only copy).
///
/// Jobs are written to the `jobs` table exactly as the embedded queue writes them, in the
/// transaction of the work that creates them. A dispatcher on every node leases the
/// runnable head of each partition (the embedded claim: a conversation's next job only
/// once the one before it finished, delayed retries once due) and hands it to one stream;
/// workers on any node read it with `XREADGROUP`, and the handler deletes the row in the
/// transaction of its work before the entry is acknowledged. So:
/// - a conversation's jobs run in order, different conversations on any worker of any node;
/// - a worker that dies leaves its entries pending; after `lease` without its heartbeat
///   another node takes them over (`XAUTOCLAIM`) as a further attempt;
/// - a failed job waits in the table for its retry time, still heading its partition;
///   a dead one stays there with its reason and is also written to a dead-letter stream;
/// - while Redis is down rows simply wait; a job Redis lost (restart, flush, fail-over)
///   is found by its row and handed over again, and the entries hash keeps a job from
///   being in the stream twice.
public final class RedisJobQueue: JobQueue, Service {
    public struct Configuration: Sendable {
        /// How long a delivered job may go without its worker's heartbeat before another
        /// node takes it over. Live workers renew theirs every third of it.
        public var lease: Duration
        /// Most rows handed over per dispatcher round.
        public var dispatchBatch = 1000
        /// Most entries one read takes (a node never sits on more than this unstarted).
        public var prefetch = 16
        /// How often an idle dispatcher looks for due rows written by other nodes.
        public var idlePoll: Duration = .milliseconds(250)
        /// How often rows handed over are checked against what Redis still holds.
        public var sweepInterval: Duration = .seconds(5)
        /// A row handed over this recently is not checked yet (its entry may be on its way).
        public var handOverGrace: Duration = .seconds(5)
        /// About how many dead-lettered jobs the dead-letter stream keeps.
        public var deadLetterLength = 10_000

        public init(lease: Duration) {
            self.lease = lease
        }
    }

    /// The name rows handed to the streams are leased to.
    static let holder = "redis-streams"
    /// How long a handed-over row stays leased before it is handed over again regardless
    /// (the sweep finds a lost one much sooner).
    static let handOverLease: Duration = .seconds(600)

    /// The durable side: the `jobs` table.
    public let outbox: EmbeddedJobQueue
    let backend: RedisBackend
    let keys: RedisQueueKeys
    let configuration: Configuration
    let logger: Logger
    let state = Mutex(State())
    /// Wakes workers waiting for a read another worker of this node made.
    let arrivals = WorkSignal()
    /// Finishes jobs in batches (one transaction deletes many rows).
    let completions = CompletionBatcher(maxBatch: 256)

    /// A job read from the stream and the entry it came in.
    struct Delivery: Sendable {
        var job: Job
        var entryID: String
    }

    struct State {
        /// Read but not yet claimed by a worker of this node.
        var buffered: [Delivery] = []
        /// Claimed: delivery key → entry id.
        var inFlight: [String: String] = [:]
        /// A worker is in a blocking read for the others.
        var reading = false
        /// Acknowledgements Redis did not take (it was down); sent again.
        var unacknowledged: [(jobID: String, entryID: String)] = []
        /// Acknowledgements to send, and whether a caller is sending them.
        var acknowledging: [(jobID: String, entryID: String)] = []
        var sendingAcknowledgements = false
        /// The backend generation the consumer group and epoch were checked for.
        var preparedGeneration = -1
        var epoch: String?
        var nextReclaim = ContinuousClock.now
        var reclaimCursor = "0-0"
        var nextSweep = ContinuousClock.now
    }

    public init(outbox: EmbeddedJobQueue, backend: RedisBackend, configuration: Configuration, logger: Logger) {
        self.outbox = outbox
        self.backend = backend
        self.keys = RedisQueueKeys(prefix: backend.keyPrefix)
        self.configuration = configuration
        self.logger = logger
    }

    var consumer: String { backend.nodeID }

    static func deliveryKey(_ job: Job) -> String { "\(job.id)#\(job.attempt)" }

    // MARK: JobQueue

    /// Writes the rows (the dispatcher hands them over, on this node at once).
    public func enqueue(_ jobs: [NewJob]) async throws {
        try await outbox.enqueue(jobs)
    }

    /// Jobs this node read from the stream; reclaims those of dead workers when due.
    /// Returns nothing (rather than failing) while Redis is unreachable.
    public func claim(limit: Int, worker: String, lease: Duration) async throws -> [Job] {
        guard backend.isConnected, limit > 0 else { return [] }
        try await prepareIfNeeded()
        let reclaimed = try await reclaimIfDue()
        var taken = state.withLock { state -> [Delivery] in
            state.buffered += reclaimed
            let count = min(limit, state.buffered.count)
            defer { state.buffered.removeFirst(count) }
            return Array(state.buffered.prefix(count))
        }
        if taken.count < limit {
            // Read a few ahead for this node's other workers (they claim them from the buffer).
            let read = try await read(count: max(limit - taken.count, configuration.prefetch), block: nil)
            let wanted = min(limit - taken.count, read.count)
            taken += read.prefix(wanted)
            if read.count > wanted {
                state.withLock { $0.buffered += read.dropFirst(wanted) }
                arrivals.notify()
            }
        }
        return state.withLock { state in
            for delivery in taken { state.inFlight[Self.deliveryKey(delivery.job)] = delivery.entryID }
            return taken.map(\.job)
        }
    }

    /// Deletes the row (in one transaction with the jobs finishing meanwhile), then
    /// acknowledges the entry (a row is always gone before its job leaves the entries hash).
    public func complete(_ job: Job) async throws {
        try await completions.finish(
            job,
            write: { [outbox] jobs in try await outbox.completeAll(jobs) },
            afterwards: { [self] jobs in await acknowledgeDeliveries(jobs) }
        )
    }

    /// The handler deleted the row with its work: acknowledge the entry (with the others
    /// waiting; this node's next job does not wait for it).
    public func acknowledge(_ job: Job) async throws {
        await acknowledgeDeliveries([job])
    }

    /// Records the failure on the row (retry time or dead with the reason), then
    /// acknowledges the entry; a dead job also goes to the dead-letter stream.
    public func fail(_ job: Job, reason: String, retryAt: Date?) async throws {
        try await outbox.fail(job, reason: reason, retryAt: retryAt)
        let dead = retryAt == nil || job.attempt >= job.maxAttempts
        guard dead, let entryID = takeInFlight(job) else {
            await acknowledgeDeliveries([job])
            return
        }
        await bury(job, entryID: entryID, reason: reason)
    }

    /// Hands the rows back (ready, the attempt not counted) and acknowledges the entries.
    public func release(_ jobs: [Job]) async throws {
        guard !jobs.isEmpty else { return }
        try await outbox.release(jobs)
        await acknowledgeDeliveries(jobs)
    }

    /// The table's counts (the truth), with the stream's length, pending entries and lag.
    public func stats() async throws -> QueueStats {
        var stats = try await outbox.stats()
        if backend.isConnected { stats.streams = try? await streamStats() }
        return stats
    }

    public func deadJobs(limit: Int) async throws -> [DeadJob] {
        try await outbox.deadJobs(limit: limit)
    }

    /// One worker of the node blocks on the stream for all of them; the others wait for
    /// what it reads.
    public func waitForWork(timeout: Duration) async {
        let role = state.withLock { state -> WaitRole in
            if !state.buffered.isEmpty { return .ready }
            if state.reading { return .follow }
            state.reading = true
            return .read
        }
        switch role {
        case .ready:
            return
        case .follow:
            await arrivals.wait(timeout: timeout)
        case .read:
            defer { state.withLock { $0.reading = false } }
            guard backend.isConnected else {
                await backend.waitForChange(timeout: timeout)
                return
            }
            do {
                try await prepareIfNeeded()
                let read = try await read(count: configuration.prefetch, block: timeout)
                guard !read.isEmpty else { return }
                state.withLock { $0.buffered += read }
                arrivals.notify()
            } catch {
                logger.debug("reading the job stream failed", metadata: ["error": "\(error)"])
                await backend.waitForChange(timeout: timeout)
            }
        }
    }

    private enum WaitRole {
        case ready, follow, read
    }

    func takeInFlight(_ job: Job) -> String? {
        state.withLock { $0.inFlight.removeValue(forKey: Self.deliveryKey(job)) }
    }
}
