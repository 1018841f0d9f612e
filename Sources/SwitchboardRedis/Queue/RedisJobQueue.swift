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
/// transaction of the work that creates them. A dispatcher on every node leases runs from
/// the table with the embedded claim (a partition's next jobs in order, only once the one
/// before them finished; delayed retries once due) and hands each run to one stream as one
/// entry; workers on any node read entries with `XREADGROUP` and run a run's jobs in order.
/// A handler deletes its job's row in the transaction of its work before the job is
/// acknowledged. So:
/// - a conversation's jobs run in order, different conversations on any worker of any node,
///   and a backlog moves in runs (one claim, one entry, one commit for many jobs);
/// - a worker that dies leaves its entries pending; after `lease` without its heartbeat
///   another node takes over what they hold unfinished (`XAUTOCLAIM`) as a further attempt;
/// - a failed job waits in the table for its retry time, still heading its partition;
///   a dead one stays there with its reason and is also written to a dead-letter stream;
/// - while Redis is down rows simply wait; a job Redis lost (restart, flush, fail-over)
///   is found by its row and handed over again, and the entries hash keeps a run from
///   being in the stream twice.
public final class RedisJobQueue: JobQueue, Service {
    public struct Configuration: Sendable {
        /// How long a delivered job may go without its worker's heartbeat before another
        /// node takes it over. Live workers renew theirs every third of it.
        public var lease: Duration
        /// Most runs handed over per dispatcher round.
        public var dispatchBatch = 1000
        /// Most jobs of one partition in one run (one entry).
        public var runLength = 64
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
    /// Finishes jobs in batches (one commit deletes many rows).
    let completions = CompletionBatcher(maxBatch: 256)

    /// A run read from the stream and the entry it came in.
    struct Delivery: Sendable {
        var jobs: [Job]
        var entryID: String
    }

    /// What to tell Redis: jobs settled (job id, entry id) and entries all of whose jobs
    /// are settled.
    struct Acknowledgements: Sendable {
        var jobs: [(jobID: String, entryID: String)] = []
        var entries: [String] = []
        var isEmpty: Bool { jobs.isEmpty && entries.isEmpty }

        mutating func append(_ other: Acknowledgements) {
            jobs += other.jobs
            entries += other.entries
        }
    }

    struct State {
        /// Read but not yet claimed by a worker of this node.
        var buffered: [Delivery] = []
        /// Bumped with each read that buffers something (a waiting relay wakes for new ones).
        var arrivals = 0
        var arrivalsSeen = 0
        /// Claimed jobs: delivery key → entry id.
        var inFlight: [String: String] = [:]
        /// Entry id → its jobs claimed and not yet settled.
        var outstanding: [String: Int] = [:]
        /// A worker is in a blocking read for the others.
        var reading = false
        /// What Redis did not take (it was down); sent again by the upkeep.
        var unacknowledged = Acknowledgements()
        /// What to send next, and whether a caller is sending.
        var acknowledging = Acknowledgements()
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

    /// Jobs this node read from the stream, one per partition (a longer run's rest is
    /// handed back to the table and follows once this one finished).
    public func claim(limit: Int, worker: String, lease: Duration) async throws -> [Job] {
        try await claimRuns(limit: limit, runLength: 1, worker: worker, lease: lease, kinds: .any).flatMap { $0 }
    }

    /// Runs this node read from the stream (or took over from a dead worker), of the
    /// `kinds` (others stay buffered for this node's other claimers); a run longer than
    /// `runLength` is cut and its rest handed back to the table. Returns nothing (rather
    /// than failing) while Redis is unreachable.
    public func claimRuns(limit: Int, runLength: Int, worker: String, lease: Duration, kinds: JobKindFilter) async throws -> [[Job]] {
        guard backend.isConnected, limit > 0 else { return [] }
        try await prepareIfNeeded()
        let reclaimed = try await reclaimIfDue()
        var (taken, buffered) = state.withLock { state in
            state.buffered += reclaimed
            return (Self.take(limit, kinds, from: &state.buffered), state.buffered.count)
        }
        if taken.count < limit && buffered < 4 * configuration.prefetch {
            // Read a few ahead for this node's other workers and lanes.
            let read = try await read(count: max(limit - taken.count, configuration.prefetch), block: nil)
            let rest = state.withLock { state in
                state.buffered += read
                taken += Self.take(limit - taken.count, kinds, from: &state.buffered)
                if !state.buffered.isEmpty { state.arrivals += 1 }
                return state.buffered.count
            }
            if rest > 0 { arrivals.notify() }
        }
        var runs: [[Job]] = []
        var cut: [Job] = []
        state.withLock { state in
            for delivery in taken {
                state.outstanding[delivery.entryID, default: 0] += delivery.jobs.count
                for job in delivery.jobs { state.inFlight[Self.deliveryKey(job)] = delivery.entryID }
                runs.append(Array(delivery.jobs.prefix(max(1, runLength))))
                cut += delivery.jobs.dropFirst(max(1, runLength))
            }
        }
        if !cut.isEmpty { try await release(cut) }
        return runs
    }

    /// Takes up to `limit` buffered runs of the `kinds` (a run's jobs share a kind).
    static func take(_ limit: Int, _ kinds: JobKindFilter, from buffered: inout [Delivery]) -> [Delivery] {
        var taken: [Delivery] = []
        var kept: [Delivery] = []
        for delivery in buffered {
            if taken.count < limit && kinds.admits(delivery.jobs[0].kind) { taken.append(delivery) } else { kept.append(delivery) }
        }
        buffered = kept
        return taken
    }

    /// Deletes the row (in one commit with the jobs finishing meanwhile), then
    /// acknowledges the entry (a row is always gone before its job leaves the entries hash).
    public func complete(_ job: Job) async throws {
        try await completions.finish(
            job,
            write: { [outbox] jobs in try await outbox.completeAll(jobs) },
            afterwards: { [self] jobs in await acknowledgeDeliveries(jobs) }
        )
    }

    /// The handler deleted the rows with its work: acknowledge the entries (with the others
    /// waiting; this node's next job does not wait for them).
    public func acknowledge(_ jobs: [Job]) async {
        await acknowledgeDeliveries(jobs)
    }

    /// Records the failure on the row (retry time or dead with the reason), then settles
    /// the job; a dead one also goes to the dead-letter stream.
    public func fail(_ job: Job, reason: String, retryAt: Date?) async throws {
        try await outbox.fail(job, reason: reason, retryAt: retryAt)
        if job.nextAttempt(retryAt: retryAt) == nil { await writeDeadLetter(job, reason: reason) }
        await acknowledgeDeliveries([job])
    }

    /// Hands the rows back (ready, the attempt not counted) and settles the jobs.
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

    /// One caller at a time blocks on the stream for the node's workers; the others wait
    /// for what it reads. Returns at once when something arrived since the last return.
    public func waitForWork(timeout: Duration) async {
        let role = state.withLock { state -> WaitRole in
            if state.arrivals != state.arrivalsSeen {
                state.arrivalsSeen = state.arrivals
                return .ready
            }
            if state.reading || state.buffered.count >= 4 * configuration.prefetch { return .follow }
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
                state.withLock { state in
                    state.buffered += read
                    state.arrivals += 1
                    state.arrivalsSeen = state.arrivals
                }
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

    /// Settles claimed jobs here: what to tell Redis about them.
    func settle(_ jobs: [Job]) -> Acknowledgements {
        state.withLock { state in
            var acknowledgements = Acknowledgements()
            for job in jobs {
                guard let entryID = state.inFlight.removeValue(forKey: Self.deliveryKey(job)) else { continue }
                acknowledgements.jobs.append((jobID: job.id, entryID: entryID))
                let left = (state.outstanding[entryID] ?? 1) - 1
                if left > 0 {
                    state.outstanding[entryID] = left
                } else {
                    state.outstanding[entryID] = nil
                    acknowledgements.entries.append(entryID)
                }
            }
            return acknowledgements
        }
    }
}

extension JobKindFilter {
    /// Whether a claim with this filter may take a job of `kind`.
    func admits(_ kind: JobKind) -> Bool {
        switch self {
        case .any: true
        case .only(let kinds): kinds.contains(kind)
        case .except(let kinds): !kinds.contains(kind)
        }
    }
}
