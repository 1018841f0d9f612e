import Foundation
import SwitchboardCore
import Synchronization

/// Group commit for webhook bodies: while one transaction is being written, arriving
/// bodies wait; the next transaction takes all of them at once. Under load each commit
/// (and each fsync) acknowledges many webhooks; when idle a body is written at once.
/// The caller whose body heads the next batch writes it, so no background task exists.
final class WebhookIngestor: Sendable {
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
    private let database: any SQLDatabase
    private let queue: EmbeddedJobQueue
    private let clock: any WallClock
    private let maxBatch: Int

    init(database: any SQLDatabase, queue: EmbeddedJobQueue, clock: any WallClock, maxBatch: Int) {
        self.database = database
        self.queue = queue
        self.clock = clock
        self.maxBatch = maxBatch
    }

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
        case .lead: return try await writeBatches(leader: entry)
        }
    }

    /// Writes the pending bodies (the leader's among them), wakes their owners, and hands
    /// the writer role to the first body that arrived meanwhile.
    private func writeBatches(leader: Entry) async throws -> Int64 {
        let batch = state.withLock { state -> [Entry] in
            let count = min(state.pending.count, maxBatch)
            defer { state.pending.removeFirst(count) }
            return Array(state.pending.prefix(count))
        }
        var result: Result<Int64, any Error> = .failure(SwitchboardError(.storageUnavailable, "The webhook was not written."))
        do {
            let ids = try await write(batch.map(\.body))
            for (entry, id) in zip(batch, ids) {
                if entry === leader {
                    result = .success(id)
                } else {
                    entry.continuation?.resume(returning: .committed(id))
                }
            }
            queue.wake()
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

    private func write(_ bodies: [[UInt8]]) async throws -> [Int64] {
        let now = clock.now().millisecondsSince1970
        return try await database.transaction { [queue] db in
            var values: [String] = []
            var binds: [SQLValue] = []
            for body in bodies {
                values.append("($\(binds.count + 1), $\(binds.count + 2))")
                binds += [.int(now), .bytes(body)]
            }
            let ids = try await db.query(
                "INSERT INTO webhook_events (received_at, body) VALUES \(values.joined(separator: ", ")) RETURNING id",
                binds
            ).compactMap { $0.int("id") }.sorted()
            guard ids.count == bodies.count else {
                throw SwitchboardError(.storageUnavailable, "The database returned \(ids.count) ids for \(bodies.count) webhooks.")
            }
            try await queue.enqueue(
                ids.map { NewJob(kind: .splitWebhook, partition: "webhook", payload: Array(String($0).utf8), maxAttempts: 5) },
                in: db
            )
            return ids
        }
    }
}
