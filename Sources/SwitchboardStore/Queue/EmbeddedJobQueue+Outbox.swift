public import SwitchboardCore

/// The `jobs` table as the durable outbox of a queue that runs jobs elsewhere (Redis
/// Streams, invariant 2): a dispatcher leases the runnable head of each partition with
/// ``EmbeddedJobQueue/claim(limit:worker:lease:)`` under one holder name, hands the jobs to
/// the other queue, and these few statements keep the two in step.
extension EmbeddedJobQueue {
    /// Ids of jobs leased to `holder` whose lease ends before `leaseEndsBefore` (ms), oldest
    /// first: the ones handed over long enough ago to check they are still there.
    public func leasedJobIDs(heldBy holder: String, leaseEndsBefore: Int64, limit: Int) async throws -> [String] {
        try await database.read { db in
            try await db.query(
                "SELECT id FROM jobs WHERE state = 'leased' AND leased_by = $1 AND lease_until < $2 ORDER BY id LIMIT $3",
                .text(holder),
                .int(leaseEndsBefore),
                .int(Int64(limit))
            )
        }.compactMap { $0.int("id").map(String.init) }
    }

    /// Of `ids`, those still leased to `holder` (the others finished, failed or were
    /// handed back meanwhile).
    public func stillLeased(_ ids: [String], heldBy holder: String) async throws -> Set<String> {
        let numbers = ids.compactMap { Int64($0) }
        guard !numbers.isEmpty else { return [] }
        let placeholders = numbers.indices.map { "$\($0 + 2)" }.joined(separator: ", ")
        return try await database.read { db in
            try await db.query(
                "SELECT id FROM jobs WHERE state = 'leased' AND leased_by = $1 AND id IN (\(placeholders))",
                [.text(holder)] + numbers.map { .int($0) }
            )
        }.reduce(into: Set<String>()) { result, row in
            if let id = row.int("id") { result.insert(String(id)) }
        }
    }

    /// Ends the leases `holder` has on these jobs (all of them when `ids` is nil) without
    /// counting an attempt, so the next claim takes them again: the other queue lost them.
    @discardableResult
    public func lapseLeases(heldBy holder: String, ids: [String]? = nil) async throws -> Int {
        var sql = "UPDATE jobs SET lease_until = 0, attempts = attempts - 1 WHERE state = 'leased' AND leased_by = $1"
        var binds: [SQLValue] = [.text(holder)]
        if let ids {
            let numbers = ids.compactMap { Int64($0) }
            guard !numbers.isEmpty else { return 0 }
            sql += " AND id IN (\(numbers.indices.map { "$\($0 + 2)" }.joined(separator: ", ")))"
            binds += numbers.map { .int($0) }
        }
        let statement = sql + " RETURNING id"
        let values = binds
        let rows = try await database.transaction(durability: .relaxed) { db in
            self.touchAll()
            return try await db.query(statement, values)
        }
        if !rows.isEmpty { signal.notify() }
        return rows.count
    }
}

extension EmbeddedJobQueue {
    /// Completes several jobs in one relaxed commit (a queue that finishes jobs in batches).
    /// Only a job with a partition can have held another back, so only then is the
    /// dispatcher woken to look for what became runnable.
    public func completeAll(_ jobs: [Job]) async throws {
        guard !jobs.isEmpty else { return }
        switch database.dialect {
        case .postgres where !jobs.contains(where: Self.mayHoldOthers):  // else `endWaits` follows, in a transaction
            // One round trip instead of four (BEGIN, SET LOCAL, DELETE, COMMIT): with
            // `is_local` set_config holds for the statement's own transaction, so its commit
            // does not wait for the disk, as a relaxed transaction's (pg_stat_wal counts no
            // WAL flush for it), and the session's setting is untouched.
            try await database.execute(
                "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)) DELETE FROM jobs USING relaxed WHERE id IN (\(bindList(jobs.count, from: 1)))",
                jobs.map { .int(Int64($0.id) ?? 0) }
            )
        default:
            try await database.transaction(durability: .relaxed) { db in try await self.complete(jobs, in: db) }
        }
        if jobs.contains(where: { $0.partition != nil }) { signal.notify() }
    }

    /// The clock the table's times come from (a queue built on the outbox keeps to it).
    public var wallClock: any WallClock { clock }
}
