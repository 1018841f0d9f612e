import Metrics
public import SwitchboardCore
import Synchronization

extension EmbeddedJobQueue: JobHandoffSource {
    public func offer(_ more: [JobTaker]) {
        guard soleWriter else { return }
        takers.withLock { $0 += more }
    }

    public func withdrawTakers(of worker: String) {
        takers.withLock { $0.removeAll { $0.worker == worker } }
    }

    /// Jobs handed to a local worker as they were enqueued, without a claim.
    public var handoffs: UInt64 { handedOver.load(ordering: .relaxed) }

    /// Writes the jobs a local worker can take at once as already leased to it, and
    /// returns the others for the usual insert. A job qualifies when it is due now, no
    /// other job of this call shares its partition, its partition has no unfinished job
    /// (so it is the head anyway, and order holds), and a taker of its kind has a free
    /// slot. The taker gets the job once the transaction has committed; if it rolls back,
    /// the slot is given back.
    func handOff(_ jobs: [NewJob], now: Int64, in db: any SQLExecutor) async throws -> (rest: [NewJob], handedOff: [Job]) {
        // Only SQLite's transactions say when they ended (and only there are takers).
        guard let end = TransactionEnd.current else { return (jobs, []) }
        let available = takers.withLock { $0 }
        guard !available.isEmpty else { return (jobs, []) }
        var partitions: [String: Int] = [:]
        for job in jobs { if let partition = job.partition { partitions[partition, default: 0] += 1 } }
        var rest: [NewJob] = []
        var handedOff: [Job] = []
        for job in jobs {
            guard job.runAt.map({ $0.millisecondsSince1970 <= now }) ?? true,
                job.partition.map({ partitions[$0] == 1 }) ?? true,
                let taker = available.first(where: { $0.kinds.admits(job.kind) }),
                taker.reserve(job.kind)
            else {
                rest.append(job)
                continue
            }
            guard let leased = try await insertLeased(job, to: taker, now: now, in: db) else {
                taker.release()
                rest.append(job)
                continue
            }
            end.onEnd { [self] committed in
                guard committed else { return taker.release() }
                handedOver.add(1, ordering: .relaxed)
                Counter(label: "switchboard_jobs_handed_over_total", dimensions: [("kind", leased.kind.rawValue)]).increment()
                taker.deliver(leased)
            }
            handedOff.append(leased)
        }
        return (rest, handedOff)
    }

    /// Inserts `job` leased to the taker's worker, unless its partition has an unfinished job.
    private func insertLeased(_ job: NewJob, to taker: JobTaker, now: Int64, in db: any SQLExecutor) async throws -> Job? {
        if let partition = job.partition,
            try await db.first("SELECT 1 AS busy FROM jobs WHERE partition_key = $1 AND state <> 'dead' LIMIT 1", .text(partition)) != nil
        {
            return nil
        }
        let until = now + taker.lease.nanoseconds / 1_000_000
        let row = try await db.first(
            """
            INSERT INTO jobs (kind, partition_key, payload, state, attempts, max_attempts, run_at, created_at, lease_until, leased_by)
            VALUES ($1, $2, $3, 'leased', 1, $4, $5, $5, $6, $7) RETURNING \(Self.jobColumns)
            """,
            .text(job.kind.rawValue),
            SQLValue(job.partition),
            .bytes(job.payload),
            .int(Int64(job.maxAttempts)),
            .int(now),
            .int(until),
            .text(taker.worker)
        )
        return row.map { row in
            var job = Self.job(row)
            job.handedOff = true
            return job
        }
    }
}
