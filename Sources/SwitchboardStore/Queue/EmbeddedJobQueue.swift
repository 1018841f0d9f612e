public import Foundation
public import SwitchboardCore
import Synchronization

/// The default queue: a `jobs` table in Switchboard's own database. A job enqueued in the
/// same transaction as the data it points at is never lost and never orphaned, it
/// survives restarts and `kill -9` (leases lapse and the job runs again), and partitions
/// keep a conversation's jobs in order.
public final class EmbeddedJobQueue: JobQueue {
    let database: any SQLDatabase
    let clock: any WallClock
    let signal = WorkSignal()
    /// Lets claimers skip claims that would find nothing (``ClaimHints``), if `soleWriter`.
    private let hints: Mutex<ClaimHints>
    /// On SQLite this process is the database's only user and writes one transaction at a
    /// time, so it sees every change to the jobs: claim hints and handoffs rely on that.
    let soleWriter: Bool
    /// Local workers' offers to take jobs as they are enqueued (if `soleWriter`).
    let takers = Mutex<[JobTaker]>([])
    /// Jobs handed over so far (``JobTaker``).
    let handedOver = Atomic<UInt64>(0)

    /// - Parameter claimTrust: how long a claim that found nothing is believed, on SQLite,
    ///   for changes this process did not make (the worker polls every half second).
    public init(database: any SQLDatabase, clock: any WallClock = SystemWallClock(), claimTrust: Duration = .milliseconds(500)) {
        self.database = database
        self.clock = clock
        self.hints = Mutex(ClaimHints(trust: claimTrust.nanoseconds / 1_000_000))
        self.soleWriter = database.dialect == .sqlite
    }

    /// Records that jobs of `kinds` may have become claimable; call it for changes made to
    /// the jobs table outside this type (a wait cut short), inside their transaction or
    /// after it commits, never before: a claim that began after the touch must see the change.
    func touch(_ kinds: some Sequence<JobKind>) {
        guard soleWriter else { return }
        hints.withLock { $0.touch(kinds) }
    }

    /// Records that jobs of any kind may have become claimable (leases ended wholesale).
    func touchAll() {
        guard soleWriter else { return }
        hints.withLock { $0.touchAll() }
    }

    public func enqueue(_ jobs: [NewJob]) async throws {
        guard !jobs.isEmpty else { return }
        try await database.transaction { [self] db in try await self.enqueue(jobs, in: db) }
        signal.notify()
    }

    /// Adds jobs inside the caller's transaction; call ``wake()`` after the commit. A
    /// delayed job also wakes this process's workers when it falls due (a debounced bot
    /// answer would otherwise wait for the next poll, up to half a second). Returns the
    /// jobs handed to a local worker (``handOff(_:now:in:)``), delivered after the commit.
    @discardableResult
    public func enqueue(_ jobs: [NewJob], in db: any SQLExecutor) async throws -> [Job] {
        let now = clock.now().millisecondsSince1970
        let (jobs, handedOff) = try await handOff(jobs, now: now, in: db)
        guard !jobs.isEmpty else { return handedOff }
        touch(jobs.map(\.kind))
        for due in Set(jobs.compactMap { job in job.runAt.map { Due(kind: job.kind, at: $0.millisecondsSince1970) } }) {
            schedule(due.kind, at: due.at, now: now)
        }
        for chunk in stride(from: 0, to: jobs.count, by: 100).map({ Array(jobs[$0..<min($0 + 100, jobs.count)]) }) {
            var values: [String] = []
            var binds: [SQLValue] = []
            for job in chunk {
                let n = binds.count
                // Behind a job put back for a retry, a new job waits as those already there do
                // (see `fail`). Only where this process is the sole writer: with concurrent
                // writers the retry could finish meanwhile, in a transaction whose
                // `endWaits` cannot see this row, and leave it waiting for good; there it
                // starts ready and claims walk past it until the retry is over. The split
                // backlog never waits (its claims do not walk it).
                let state =
                    !soleWriter || job.partition == nil || job.partition == Self.webhookPartition
                    ? "'ready'"
                    : """
                    CASE WHEN EXISTS (SELECT 1 FROM jobs h WHERE h.partition_key = $\(n + 2) AND h.state = 'ready' AND h.attempts > 0)
                    THEN 'waiting' ELSE 'ready' END
                    """
                values.append("($\(n + 1), $\(n + 2), $\(n + 3), \(state), 0, $\(n + 4), $\(n + 5), $\(n + 6))")
                binds += [
                    .text(job.kind.rawValue), SQLValue(job.partition), .bytes(job.payload), .int(Int64(job.maxAttempts)),
                    .int(job.runAt?.millisecondsSince1970 ?? now), .int(now),
                ]
            }
            try await db.query(
                "INSERT INTO jobs (kind, partition_key, payload, state, attempts, max_attempts, run_at, created_at) VALUES "
                    + values.joined(separator: ", "),
                binds
            )
        }
        return handedOff
    }

    /// When jobs of a kind fall due (one timer for a batch due together).
    private struct Due: Hashable {
        let kind: JobKind
        let at: Int64
    }

    /// Notes that a job of `kind` falls due at `runAt` and wakes this process's workers then.
    private func schedule(_ kind: JobKind, at runAt: Int64, now: Int64) {
        guard runAt > now else { return }
        if soleWriter { hints.withLock { $0.schedule(kind, at: runAt) } }
        Task { [signal] in
            try? await Task.sleep(for: .milliseconds(runAt - now))
            signal.notify()
        }
    }

    /// The partition of every split job: webhooks are split in the order they were stored.
    public static let webhookPartition = "webhook"
    /// How often splitting a stored webhook is tried before it is dead-lettered.
    static let splitAttempts = 5

    /// The job that splits stored webhook `id`.
    static func splitJob(_ id: Int64) -> NewJob {
        NewJob(kind: .splitWebhook, partition: webhookPartition, payload: Array(String(id).utf8), maxAttempts: splitAttempts)
    }

    /// Tells local workers that jobs committed elsewhere in this process are ready.
    public func wake() { signal.notify() }

    public func claim(limit: Int, worker: String, lease: Duration) async throws -> [Job] {
        try await claimRuns(limit: limit, runLength: 1, worker: worker, lease: lease).flatMap { $0 }
    }

    public func claimRuns(limit: Int, runLength: Int, worker: String, lease: Duration, kinds: JobKindFilter) async throws -> [[Job]] {
        let now = clock.now().millisecondsSince1970
        guard soleWriter else { return try await claimRuns(limit: limit, runLength: runLength, worker: worker, lease: lease, kinds: kinds, now: now) }
        guard let asOf = hints.withLock({ $0.claimable(kinds, now: now) }) else { return [] }
        let runs = try await claimRuns(limit: limit, runLength: runLength, worker: worker, lease: lease, kinds: kinds, now: now)
        hints.withLock { runs.count < limit ? $0.settle(kinds, asOf: asOf, now: now) : $0.unsettle(kinds) }
        return runs
    }

    private func claimRuns(limit: Int, runLength: Int, worker: String, lease: Duration, kinds: JobKindFilter, now: Int64) async throws -> [[Job]] {
        let until = now + Int64(lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000)
        let (heads, followers) = try await database.transaction(durability: .relaxed, planning: .indexWalks) { db in
            let heads = try await Self.leaseHeads(limit: limit, now: now, until: until, worker: worker, kinds: kinds, in: db)
            guard runLength > 1 else { return (heads, [Job]()) }
            let followers = try await Self.leaseFollowers(of: heads, runLength: runLength, now: now, until: until, worker: worker, in: db)
            return (heads, followers)
        }
        var behind: [String: [Job]] = [:]
        for job in followers { behind[job.partition ?? "", default: []].append(job) }
        return heads.map { head in [head] + (head.partition.flatMap { behind[$0] } ?? []) }
    }

    /// Leases the next job of up to `limit` partitions (and jobs without one), oldest
    /// first. A partition whose earlier job is unfinished has no head to lease; with
    /// PostgreSQL, `SKIP LOCKED` keeps concurrent claimers off each other's rows. The split
    /// partition, which holds the ingest backlog, is looked at through its first job only
    /// (an index seek), and every other job through an index that leaves that backlog, the
    /// dead letters and the jobs waiting behind a retry out.
    /// Only heads of the `kinds` (a partition's jobs are all of one kind, so its followers
    /// are too).
    private static func leaseHeads(
        limit: Int,
        now: Int64,
        until: Int64,
        worker: String,
        kinds: JobKindFilter,
        in db: any SQLExecutor
    ) async throws -> [Job] {
        let claimable = "((j.state = 'ready' AND j.run_at <= $1) OR (j.state = 'leased' AND j.lease_until < $1))"
        let lease = "UPDATE jobs SET state = 'leased', lease_until = $2, leased_by = $3, attempts = attempts + 1"
        var kindBinds: [SQLValue] = []
        var kindCondition = ""
        switch kinds {
        case .any: break
        case .only(let set), .except(let set):
            let negated: Bool = if case .except = kinds { true } else { false }
            let names = set.map(\.rawValue).sorted()
            kindBinds = names.map { .text($0) }
            kindCondition =
                names.isEmpty ? (negated ? "" : "AND 1 = 0") : "AND j.kind \(negated ? "NOT IN" : "IN") (\(bindList(names.count, from: 5)))"
        }
        let takesSplits: Bool =
            switch kinds {
            case .any: true
            case .only(let set): set.contains(.splitWebhook)
            case .except(let set): !set.contains(.splitWebhook)
            }
        let split =
            !takesSplits
            ? []
            : try await db.query(
                """
                \(lease)
                WHERE id IN (
                    SELECT j.id FROM jobs j
                    WHERE j.id = (SELECT MIN(k.id) FROM jobs k WHERE k.partition_key = $4 AND k.state <> 'dead') AND \(claimable)
                    {{skip_locked}}
                )
                RETURNING \(jobColumns)
                """,
                .int(now),
                .int(until),
                .text(worker),
                .text(webhookPartition)
            )
        guard limit > split.count else { return split.map(job) }
        let others = try await db.query(
            """
            \(lease)
            WHERE id IN (
                SELECT j.id FROM jobs j {{jobs_by_claim_order}}
                WHERE j.state IN ('ready', 'leased') AND (j.partition_key IS NULL OR j.partition_key <> '\(webhookPartition)')
                  AND \(claimable) \(kindCondition)
                  AND (j.partition_key IS NULL OR NOT EXISTS (
                      SELECT 1 FROM jobs k WHERE k.partition_key = j.partition_key AND k.id < j.id AND k.state <> 'dead'))
                ORDER BY j.id LIMIT $4 {{skip_locked}}
            )
            RETURNING \(jobColumns)
            """,
            [.int(now), .int(until), .text(worker), .int(Int64(limit - split.count))] + kindBinds
        )
        return (split + others).map(job).sorted(by: idOrder)
    }

    /// Leases, behind each partitioned head, the runnable jobs that follow it without a
    /// gap: the first delayed job ends the run, since nothing may pass it. No other
    /// claimer can take these (their partition has an unfinished earlier job: the head).
    private static func leaseFollowers(
        of heads: [Job],
        runLength: Int,
        now: Int64,
        until: Int64,
        worker: String,
        in db: any SQLExecutor
    ) async throws -> [Job] {
        let partitioned = heads.filter { $0.partition != nil }
        guard !partitioned.isEmpty else { return [] }
        // Per partition, the jobs right behind its head (however long another's backlog).
        var binds: [SQLValue] = [.int(Int64(runLength))]
        let perPartition = partitioned.map { head -> String in
            binds += [.text(head.partition ?? ""), .int(Int64(head.id) ?? 0)]
            return """
                SELECT * FROM (SELECT id, partition_key, state, run_at FROM jobs
                    WHERE partition_key = $\(binds.count - 1) AND id > $\(binds.count) AND state <> 'dead' ORDER BY id LIMIT $1) AS p\(binds.count)
                """
        }
        let candidates = try await db.query(perPartition.joined(separator: " UNION ALL "), binds)
        var taken: [String: Int] = [:]
        var closed: Set<String> = []
        var ids: [Int64] = []
        for row in candidates {
            guard let id = row.int("id"), let partition = row.string("partition_key"),
                !closed.contains(partition)
            else { continue }
            guard row.string("state") == "ready", (row.int("run_at") ?? .max) <= now, taken[partition, default: 0] < runLength - 1 else {
                closed.insert(partition)
                continue
            }
            taken[partition, default: 0] += 1
            ids.append(id)
        }
        guard !ids.isEmpty else { return [] }
        let idList = bindList(ids.count, from: 3)
        let leased = try await db.query(
            """
            UPDATE jobs SET state = 'leased', lease_until = $1, leased_by = $2, attempts = attempts + 1
            WHERE id IN (\(idList)) AND state = 'ready'
            RETURNING \(jobColumns)
            """,
            [.int(until), .text(worker)] + ids.map { .int($0) }
        ).map(job).sorted(by: idOrder)
        // Only these writes lease followers, but should a row have moved meanwhile, its
        // run stops at the gap and what was leased behind it goes straight back.
        let byId = Dictionary(uniqueKeysWithValues: leased.map { ($0.id, $0) })
        let partitionOf = Dictionary(
            uniqueKeysWithValues: candidates.compactMap { row in row.int("id").map { ($0, row.string("partition_key") ?? "") } }
        )
        var gapped: Set<String> = []
        var kept: [Job] = []
        var returned: [Job] = []
        for id in ids {
            let partition = partitionOf[id] ?? ""
            guard let job = byId[String(id)] else {
                gapped.insert(partition)
                continue
            }
            if gapped.contains(partition) { returned.append(job) } else { kept.append(job) }
        }
        if !returned.isEmpty { try await Self.release(returned, in: db) }
        return kept
    }

    static let jobColumns = "id, kind, partition_key, payload, attempts, max_attempts, created_at"

    static func job(_ row: SQLRow) -> Job {
        Job(
            id: String(row.int("id") ?? 0),
            kind: JobKind(rawValue: row.string("kind") ?? ""),
            partition: row.string("partition_key"),
            payload: row["payload"].bytes ?? [],
            attempt: Int(row.int("attempts") ?? 1),
            maxAttempts: Int(row.int("max_attempts") ?? 1),
            enqueuedAt: Date(millisecondsSince1970: row.int("created_at") ?? 0)
        )
    }

    private static func idOrder(_ a: Job, _ b: Job) -> Bool { (Int64(a.id) ?? 0) < (Int64(b.id) ?? 0) }

    public func complete(_ job: Job) async throws {
        try await database.transaction(durability: .relaxed) { db in try await self.complete(job, in: db) }
        signal.notify()
    }

    /// Completes a job inside the caller's transaction, so the work and its acknowledgement
    /// commit together (exactly-once effect for the embedded queue).
    public func complete(_ job: Job, in db: any SQLExecutor) async throws {
        try await complete([job], in: db)
    }

    /// Completes jobs inside the caller's transaction, in one statement (two when one of
    /// them may have held its partition's jobs waiting).
    public func complete(_ jobs: [Job], in db: any SQLExecutor) async throws {
        guard !jobs.isEmpty else { return }
        touch(jobs.map(\.kind))
        let placeholders = bindList(jobs.count, from: 1)
        try await db.query("DELETE FROM jobs WHERE id IN (\(placeholders))", jobs.map { .int(Int64($0.id) ?? 0) })
        try await Self.endWaits(behind: jobs, in: db)
    }

    /// Whether jobs may be waiting behind `job`: only a partitioned job that failed once can
    /// have made others wait (see ``fail(_:reason:retryAt:)``), so a first attempt never has.
    static func mayHoldOthers(_ job: Job) -> Bool { job.partition != nil && job.attempt > 1 }

    /// Puts back to `ready` the jobs waiting behind any of `jobs` (which just finished or
    /// were dead-lettered). The waiting rows are found through their own small index
    /// (`jobs_waiting`).
    static func endWaits(behind jobs: [Job], in db: any SQLExecutor) async throws {
        let partitions = Set(jobs.filter(mayHoldOthers).compactMap(\.partition))
        guard !partitions.isEmpty else { return }
        try await db.query(
            "UPDATE jobs SET state = 'ready' WHERE partition_key IN (\(bindList(partitions.count, from: 1))) AND state = 'waiting'",
            partitions.sorted().map { .text($0) }
        )
    }

    /// Records a failed attempt: the job runs again at `retryAt`, or is dead-lettered
    /// (past its attempts, or without `retryAt`).
    ///
    /// A job put back for later holds up its partition, so the jobs behind it (including
    /// those its worker leased with it in a run) become `waiting`: out of the claim index,
    /// no claim walks past them until it finishes (``endWaits(behind:in:)``). Without this,
    /// every claim read every follower of every conversation held up by a retry or a
    /// paused Page. The ingest backlog is left alone: its claims never walk it.
    public func fail(_ job: Job, reason: String, retryAt: Date?) async throws {
        let retry = job.nextAttempt(retryAt: retryAt)
        let now = clock.now().millisecondsSince1970
        let id = Int64(job.id) ?? 0
        try await database.transaction(durability: .relaxed, planning: .indexWalks) { db in
            self.touch([job.kind])
            if retry != nil, let partition = job.partition, partition != Self.webhookPartition {
                // Before the head's own update, which clears the holder this reads. Only while
                // the head is still there: a run whose lease lapsed under it may put back a
                // job that a later run already finished, and nothing would end that wait.
                try await db.query(
                    """
                    UPDATE jobs SET state = 'waiting', attempts = attempts - (CASE WHEN state = 'leased' THEN 1 ELSE 0 END),
                        lease_until = NULL, leased_by = NULL
                    WHERE partition_key = $1 AND id > $2 AND EXISTS (SELECT 1 FROM jobs h WHERE h.id = $2 AND h.state = 'leased')
                      AND (state = 'ready' OR (state = 'leased' AND leased_by = (SELECT h.leased_by FROM jobs h WHERE h.id = $2)))
                    """,
                    .text(partition),
                    .int(id)
                )
            }
            try await db.query(
                "UPDATE jobs SET state = $2, run_at = $3, last_error = $4, lease_until = NULL, leased_by = NULL WHERE id = $1",
                .int(id),
                .text(retry == nil ? "dead" : "ready"),
                .int(retry?.millisecondsSince1970 ?? now),
                .text(reason)
            )
            if retry == nil { try await Self.endWaits(behind: [job], in: db) }
        }
        schedule(job.kind, at: retry?.millisecondsSince1970 ?? now, now: now)
        signal.notify()
    }

    public func release(_ jobs: [Job]) async throws {
        guard !jobs.isEmpty else { return }
        try await database.transaction(durability: .relaxed) { db in
            self.touch(jobs.map(\.kind))
            try await Self.release(jobs, in: db)
        }
        signal.notify()
    }

    private static func release(_ jobs: [Job], in db: any SQLExecutor) async throws {
        let ids = jobs.compactMap { Int64($0.id) }
        let placeholders = bindList(ids.count, from: 1)
        try await db.query(
            "UPDATE jobs SET state = 'ready', attempts = attempts - 1, lease_until = NULL, leased_by = NULL WHERE id IN (\(placeholders)) AND state = 'leased'",
            ids.map { .int($0) }
        )
    }

    /// Hands back every lease not held by `worker`. Only safe when this process is the
    /// database's sole user (the embedded SQLite file, guarded by a lock file): any other
    /// holder died with the previous run.
    @discardableResult
    public func reclaimLeases(notHeldBy worker: String) async throws -> Int {
        let rows = try await database.transaction { db in
            self.touchAll()
            return try await db.query(
                "UPDATE jobs SET state = 'ready', lease_until = NULL, leased_by = NULL WHERE state = 'leased' AND leased_by <> $1 RETURNING id",
                .text(worker)
            )
        }
        if !rows.isEmpty { signal.notify() }
        return rows.count
    }

    public func stats() async throws -> QueueStats {
        let now = clock.now().millisecondsSince1970
        let rows = try await database.read { db in
            try await db.query(
                """
                SELECT kind,
                       SUM(CASE WHEN state = 'ready' AND run_at <= $1 THEN 1 ELSE 0 END) AS ready,
                       SUM(CASE WHEN (state = 'ready' AND run_at > $1) OR state = 'waiting' THEN 1 ELSE 0 END) AS delayed,
                       SUM(CASE WHEN state = 'leased' THEN 1 ELSE 0 END) AS leased,
                       SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead,
                       MIN(CASE WHEN state = 'ready' AND run_at <= $1 THEN run_at END) AS oldest
                FROM jobs GROUP BY kind
                """,
                .int(now)
            )
        }
        var stats = QueueStats(ready: 0, delayed: 0, inFlight: 0, dead: 0, oldestReadyAgeSeconds: 0, byKind: [:])
        var oldest: Int64?
        for row in rows {
            let ready = Int(row.int("ready") ?? 0)
            stats.ready += ready
            stats.delayed += Int(row.int("delayed") ?? 0)
            stats.inFlight += Int(row.int("leased") ?? 0)
            stats.dead += Int(row.int("dead") ?? 0)
            stats.byKind[row.string("kind") ?? "?"] = ready + Int(row.int("delayed") ?? 0) + Int(row.int("leased") ?? 0)
            if let o = row.int("oldest") { oldest = min(oldest ?? o, o) }
        }
        if let oldest { stats.oldestReadyAgeSeconds = Double(max(0, now - oldest)) / 1000 }
        return stats
    }

    public func deadJobs(limit: Int) async throws -> [DeadJob] {
        try await database.read { db in
            try await db.query(
                "SELECT id, kind, partition_key, attempts, last_error FROM jobs WHERE state = 'dead' ORDER BY id DESC LIMIT $1",
                .int(Int64(limit))
            )
        }.map { row in
            DeadJob(
                id: String(row.int("id") ?? 0),
                kind: row.string("kind") ?? "",
                partition: row.string("partition_key"),
                attempts: Int(row.int("attempts") ?? 0),
                reason: row.string("last_error") ?? ""
            )
        }
    }

    public func waitForWork(timeout: Duration) async {
        await signal.wait(timeout: timeout)
    }
}
