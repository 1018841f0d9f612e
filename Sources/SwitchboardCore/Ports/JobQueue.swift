public import Foundation

/// What a job is for; the worker dispatches on it.
public struct JobKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// Split a stored webhook body into per-conversation work.
    public static let splitWebhook = JobKind(rawValue: "webhook.split")
    /// Apply one conversation's inbound events.
    public static let applyInbound = JobKind(rawValue: "inbound.apply")
    /// Fetch or refresh a contact's profile.
    public static let fetchProfile = JobKind(rawValue: "contact.profile")
}

/// A job to enqueue. Jobs sharing a `partition` run one at a time in enqueue order
/// (invariant 4); jobs without one run in any order, in parallel.
public struct NewJob: Sendable, Equatable {
    public var kind: JobKind
    public var partition: String?
    public var payload: [UInt8]
    public var maxAttempts: Int
    public var runAt: Date?

    public init(kind: JobKind, partition: String?, payload: [UInt8], maxAttempts: Int = 8, runAt: Date? = nil) {
        self.kind = kind
        self.partition = partition
        self.payload = payload
        self.maxAttempts = maxAttempts
        self.runAt = runAt
    }
}

/// A claimed job: the worker owns it until it completes, fails, or its lease lapses.
public struct Job: Sendable, Equatable {
    public var id: String
    public var kind: JobKind
    public var partition: String?
    public var payload: [UInt8]
    /// 1 on the first run.
    public var attempt: Int
    public var maxAttempts: Int
    public var enqueuedAt: Date
    /// Delivered by a handoff, straight from the transaction that enqueued it
    /// (``JobTaker``). Such a delivery happens once per job and before any other, so no
    /// earlier attempt can have started: what that transaction wrote for the job's first
    /// attempt (the sender's "send started" mark) belongs to this delivery.
    public var handedOff = false

    public init(id: String, kind: JobKind, partition: String?, payload: [UInt8], attempt: Int, maxAttempts: Int, enqueuedAt: Date) {
        self.id = id
        self.kind = kind
        self.partition = partition
        self.payload = payload
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.enqueuedAt = enqueuedAt
    }

    /// When a failed attempt runs again: `retryAt` (the worker's backoff; nil for a failure
    /// no retry can mend) while attempts remain, else nil, and the job is dead-lettered.
    /// The one rule every queue and the worker's logs and counters agree on.
    public func nextAttempt(retryAt: Date?) -> Date? {
        isLastAttempt ? nil : retryAt
    }

    /// No attempt follows this one, whatever the failure.
    public var isLastAttempt: Bool { attempt >= maxAttempts }
}

/// Counts for `status`, `/api/status` and `/metrics`.
public struct QueueStats: Sendable, Equatable, Codable {
    /// Jobs a worker could start now.
    public var ready: Int
    /// Jobs waiting for a time: a retry's, a scheduled job's, or that of an earlier job of
    /// their partition (a conversation's next messages wait for its retried one).
    public var delayed: Int
    public var inFlight: Int
    public var dead: Int
    /// Age of the oldest runnable job, in seconds (0 when none waits).
    public var oldestReadyAgeSeconds: Double
    public var byKind: [String: Int]
    /// The Redis Streams side of the queue (nil for the embedded queue, or while Redis is
    /// unreachable).
    public var streams: QueueStreamStats?

    public init(
        ready: Int,
        delayed: Int,
        inFlight: Int,
        dead: Int,
        oldestReadyAgeSeconds: Double,
        byKind: [String: Int],
        streams: QueueStreamStats? = nil
    ) {
        self.ready = ready
        self.delayed = delayed
        self.inFlight = inFlight
        self.dead = dead
        self.oldestReadyAgeSeconds = oldestReadyAgeSeconds
        self.byKind = byKind
        self.streams = streams
    }
}

/// Depths and lag of the Redis stream the workers read: what has been handed to Redis
/// and not yet finished. The database's counts above stay the source of truth
/// (invariant 2); these say where the handed-over part is.
public struct QueueStreamStats: Sendable, Equatable, Codable {
    /// Entries in the stream (waiting or being worked on).
    public var length: Int
    /// Entries delivered to a worker and not yet acknowledged.
    public var pending: Int
    /// Entries not yet delivered to any worker.
    public var lag: Int
    /// Consumers (worker processes) the group knows.
    public var consumers: Int
    /// Entries in the dead-letter stream.
    public var deadLetters: Int

    public init(length: Int, pending: Int, lag: Int, consumers: Int, deadLetters: Int) {
        self.length = length
        self.pending = pending
        self.lag = lag
        self.consumers = consumers
        self.deadLetters = deadLetters
    }
}

/// A dead-lettered job and why it died.
public struct DeadJob: Sendable, Equatable, Codable {
    public var id: String
    public var kind: String
    public var partition: String?
    public var attempts: Int
    public var reason: String

    public init(id: String, kind: String, partition: String?, attempts: Int, reason: String) {
        self.id = id
        self.kind = kind
        self.partition = partition
        self.attempts = attempts
        self.reason = reason
    }
}

/// Which kinds of job a claim may hand out: a worker runs slow kinds (the bot's answers,
/// which wait on a model for seconds) in their own lane, so they never take the places
/// of the jobs that carry people's messages.
public enum JobKindFilter: Sendable, Hashable {
    case any
    case only(Set<JobKind>)
    case except(Set<JobKind>)

    /// Whether a claim with this filter may hand out jobs of `kind`.
    public func admits(_ kind: JobKind) -> Bool {
        switch self {
        case .any: true
        case .only(let kinds): kinds.contains(kind)
        case .except(let kinds): !kinds.contains(kind)
        }
    }

    /// Whether no kind passes (``only(_:)`` of none): a claim with it can find nothing.
    public var admitsNothing: Bool {
        if case .only(let kinds) = self { return kinds.isEmpty }
        return false
    }

    /// This filter without `kinds`.
    public func excluding(_ kinds: Set<JobKind>) -> JobKindFilter {
        switch self {
        case .any: .except(kinds)
        case .only(let admitted): .only(admitted.subtracting(kinds))
        case .except(let excluded): .except(excluded.union(kinds))
        }
    }
}

/// The queue between the webhook, the REST API and the workers. Delivery is at least
/// once; handlers are idempotent (invariant 3). Two implementations: the embedded one in
/// the database (default) and Redis Streams.
public protocol JobQueue: Sendable {
    /// Adds jobs; they are durable when this returns.
    func enqueue(_ jobs: [NewJob]) async throws
    /// Leases up to `limit` runnable jobs to `worker` for `lease`. Never hands out a job
    /// whose partition has an earlier job unfinished.
    func claim(limit: Int, worker: String, lease: Duration) async throws -> [Job]
    /// Leases up to `limit` runs of the `kinds`: each is a partition's next job followed by
    /// up to `runLength - 1` of the jobs right behind it (all runnable, in order), or one
    /// job without a partition. A worker runs a run's jobs in order and hands back the rest
    /// of it once one fails, so claiming a run never reorders a partition (invariant 4);
    /// it only saves a claim per job where a backlog has formed.
    func claimRuns(limit: Int, runLength: Int, worker: String, lease: Duration, kinds: JobKindFilter) async throws -> [[Job]]
    /// The job is done; it will not run again.
    func complete(_ job: Job) async throws
    /// The job failed. With `retryAt` it runs again then (keeping its place at the head of
    /// its partition); without, or past its attempts, it is dead-lettered with `reason`.
    func fail(_ job: Job, reason: String, retryAt: Date?) async throws
    /// Hands unfinished jobs back (graceful shutdown) without counting an attempt.
    func release(_ jobs: [Job]) async throws
    /// Depths and ages.
    func stats() async throws -> QueueStats
    /// Dead-lettered jobs, newest first.
    func deadJobs(limit: Int) async throws -> [DeadJob]
    /// Resolves when new work may be available or `timeout` passes, whichever is first.
    func waitForWork(timeout: Duration) async
    /// The handler completed `jobs` inside the transaction of its own work
    /// (`JobHandler.completesJob`); a queue that also tracks delivery outside the
    /// database (Redis Streams) forgets them there, now or, when it cannot, later. The
    /// embedded queue has nothing to do.
    func acknowledge(_ jobs: [Job]) async
}

extension JobQueue {
    public func acknowledge(_ jobs: [Job]) async {}
}

extension JobQueue {
    /// Runs of one job each, of any kind: right for any queue that hands out a partition's
    /// jobs one at a time. Such a queue cannot claim by kind, so a worker with lanes
    /// (``JobKindFilter/only(_:)``) needs a queue that implements this itself.
    public func claimRuns(limit: Int, runLength: Int, worker: String, lease: Duration, kinds: JobKindFilter) async throws -> [[Job]] {
        guard kinds == .any else { throw SwitchboardError(.invalidArgument, "This queue cannot claim jobs by kind.") }
        return try await claim(limit: limit, worker: worker, lease: lease).map { [$0] }
    }

    /// Runs of any kind.
    public func claimRuns(limit: Int, runLength: Int, worker: String, lease: Duration) async throws -> [[Job]] {
        try await claimRuns(limit: limit, runLength: runLength, worker: worker, lease: lease, kinds: .any)
    }
}
