import Foundation
import SwitchboardCore
import Synchronization

/// Group commit for webhook bodies: while a transaction is being written, arriving bodies
/// wait; the next transaction takes all of them at once. Under load each commit (and each
/// fsync) acknowledges many webhooks; when idle a body is written at once.
///
/// The database decides how many transactions may be in flight (``SQLDatabase/concurrentWriters``):
/// one for SQLite, a few for PostgreSQL, whose commits in flight share WAL flushes. Each
/// lane is an independent group commit; a body goes to an idle lane if there is one. The
/// caller whose body heads a lane's next batch writes it, so no background task exists.
final class WebhookIngestor: Sendable {
    private let lanes: [Lane]
    private let nextLane = Atomic<Int>(0)

    init(database: any SQLDatabase, queue: EmbeddedJobQueue, clock: any WallClock, maxBatch: Int) {
        let writer = BatchWriter(database: database, queue: queue, clock: clock)
        lanes = (0..<max(1, database.concurrentWriters)).map { _ in Lane(writer: writer, maxBatch: maxBatch) }
    }

    func store(_ body: [UInt8]) async throws -> Int64 {
        let lane =
            lanes.first { !$0.isWriting }
            ?? lanes[nextLane.wrappingAdd(1, ordering: .relaxed).oldValue % lanes.count]
        return try await lane.store(body)
    }
}

/// Writes a batch of bodies and their split jobs, durably, in one commit.
private struct BatchWriter: Sendable {
    let database: any SQLDatabase
    let queue: EmbeddedJobQueue
    let clock: any WallClock

    /// The stored ids, in the order of `bodies`.
    func write(_ bodies: [[UInt8]]) async throws -> [Int64] {
        let now = clock.now().millisecondsSince1970
        let rows = bodies.indices.map { "($1, $\($0 + 2))" }.joined(separator: ", ")
        let binds: [SQLValue] = [.int(now)] + bodies.map { .bytes($0) }
        let ids: [Int64]
        switch database.dialect {
        case .postgres:
            // One statement, so one round trip, committed on its own.
            ids = try await database.execute(
                """
                WITH stored AS (
                    INSERT INTO webhook_events (received_at, body) VALUES \(rows) RETURNING id)
                INSERT INTO jobs (kind, partition_key, payload, state, attempts, max_attempts, run_at, created_at)
                SELECT '\(JobKind.splitWebhook.rawValue)', '\(EmbeddedJobQueue.webhookPartition)', convert_to(id::text, 'UTF8'),
                    'ready', 0, \(EmbeddedJobQueue.splitAttempts), $1, $1
                FROM stored ORDER BY id
                RETURNING convert_from(payload, 'UTF8') AS webhook
                """,
                binds
            ).compactMap { $0.string("webhook").flatMap { Int64($0) } }.sorted()
        case .sqlite:
            ids = try await database.transaction { [queue] db in
                let ids = try await db.query(
                    "INSERT INTO webhook_events (received_at, body) VALUES \(rows) RETURNING id",
                    binds
                ).compactMap { $0.int("id") }.sorted()
                try await queue.enqueue(ids.map(EmbeddedJobQueue.splitJob), in: db)
                return ids
            }
        }
        guard ids.count == bodies.count else {
            throw SwitchboardError(.storageUnavailable, "The database returned \(ids.count) ids for \(bodies.count) webhooks.")
        }
        queue.wake()
        return ids
    }
}

/// One group commit: at most one batch in flight.
private final class Lane: Sendable {
    private enum Outcome: Sendable {
        case committed(Int64)
        case failed(any Error)
        case lead
    }

    private final class Entry: @unchecked Sendable {
        let body: [UInt8]
        var continuation: CheckedContinuation<Outcome, Never>?
        init(body: [UInt8]) { self.body = body }
    }

    private struct State {
        var pending: [Entry] = []
        var writing = false
    }

    private let state = Mutex(State())
    private let writer: BatchWriter
    private let maxBatch: Int

    init(writer: BatchWriter, maxBatch: Int) {
        self.writer = writer
        self.maxBatch = maxBatch
    }

    var isWriting: Bool { state.withLock { $0.writing } }

    func store(_ body: [UInt8]) async throws -> Int64 {
        let entry = Entry(body: body)
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let lead = state.withLock { state -> Bool in
                state.pending.append(entry)
                if state.writing {
                    entry.continuation = continuation
                    return false
                }
                state.writing = true
                return true
            }
            if lead { continuation.resume(returning: .lead) }
        }
        switch outcome {
        case .committed(let id): return id
        case .failed(let error): throw error
        case .lead: return try await writeBatch(leader: entry)
        }
    }

    /// Writes the pending bodies (the leader's first among them), wakes their owners, and
    /// hands the writer role to the first body that arrived meanwhile.
    private func writeBatch(leader: Entry) async throws -> Int64 {
        let batch = state.withLock { state -> [Entry] in
            let count = min(state.pending.count, maxBatch)
            defer { state.pending.removeFirst(count) }
            return Array(state.pending.prefix(count))
        }
        var result: Result<Int64, any Error> = .failure(SwitchboardError(.storageUnavailable, "The webhook was not written."))
        do {
            let ids = try await writer.write(batch.map(\.body))
            for (entry, id) in zip(batch, ids) {
                if entry === leader {
                    result = .success(id)
                } else {
                    entry.continuation?.resume(returning: .committed(id))
                }
            }
        } catch {
            for entry in batch where entry !== leader {
                entry.continuation?.resume(returning: .failed(error))
            }
            result = .failure(error)
        }
        let nextLeader = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            guard let next = state.pending.first else {
                state.writing = false
                return nil
            }
            defer { next.continuation = nil }
            return next.continuation
        }
        nextLeader?.resume(returning: .lead)
        return try result.get()
    }
}
