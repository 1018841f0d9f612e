import Foundation
import Messenger
public import SwitchboardCore

extension SQLStore {
    /// Applies one conversation's events in one transaction. Idempotent (invariant 3):
    /// messages and echoes are unique on (page, mid), receipts are monotonic watermarks,
    /// reactions and postbacks have natural keys; applying the same batch again changes
    /// nothing and emits nothing.
    public func applyInbound(_ batch: InboundBatch, completing job: Job? = nil) async throws -> InboundOutcome {
        let now = self.now
        let outcome = try await database.transaction(durability: .relaxed) { [queue] db in
            let outcome = try await Self.apply([batch], now: now, queue: queue, in: db)[0]
            if let job { try await queue.complete(job, in: db) }
            return outcome
        }
        queue.wake()
        return outcome
    }

    /// How many transactions apply a run of `shares` conversations side by side: one on
    /// SQLite (one writer: one transaction does it all, in one commit); on PostgreSQL one per
    /// 16 conversations, up to 4, each waiting on its round trips rather than on the others.
    /// A lane costs a dozen round trips, so a small run takes one.
    func applyLanes(shares: Int) -> Int {
        database.dialect == .postgres ? min(4, (shares + 15) / 16) : 1
    }

    /// The split run's statements look up jobs by partition, whose statistics lag behind
    /// the backlog (see ``QueryPlanning/indexWalks``); the rest are index lookups anyway.
    private static let runPlanning = QueryPlanning.indexWalks

    public func recordWebhookRun(
        _ webhooks: [SplitWebhook],
        _ shares: [ConversationShare],
        applying: ShareApplication
    ) async throws
        -> [InboundOutcome?]
    {
        let now = self.now
        let inline = applying != .queued
        let applyLanes = applying == .inline(sideBySide: true) ? applyLanes(shares: shares.count) : 1
        guard inline, applyLanes > 1 else {
            let outcomes = try await database.transaction(durability: .relaxed, planning: Self.runPlanning) { [queue] db in
                let waiting = inline ? try await Self.partitionsWithApplyJobs(shares.map(\.partition), in: db) : []
                let applied = shares.indices.filter { inline && !waiting.contains(shares[$0].partition) }
                var outcomes = [InboundOutcome?](repeating: nil, count: shares.count)
                for (index, outcome) in zip(applied, try await Self.apply(applied.map { shares[$0].batch }, now: now, queue: queue, in: db)) {
                    outcomes[index] = outcome
                }
                for share in shares where !inline || waiting.contains(share.partition) {
                    try await queue.enqueue(share.jobs, in: db)
                }
                try await Self.recordSplits(webhooks, now: now, queue: queue, in: db)
                return outcomes
            }
            queue.wake()
            return outcomes
        }
        // Lanes: each applies its conversations in its own transaction, then one more
        // records the split. A crash in between runs the split again, which finds what the
        // lanes committed already applied (invariant 3).
        let waiting = try await database.transaction(durability: .relaxed, planning: Self.runPlanning) { db in
            try await Self.partitionsWithApplyJobs(shares.map(\.partition), in: db)
        }
        let inlineShares = shares.indices.filter { !waiting.contains(shares[$0].partition) }
        let lanes = (0..<applyLanes).map { lane in stride(from: lane, to: inlineShares.count, by: applyLanes).map { inlineShares[$0] } }
        var outcomes = [InboundOutcome?](repeating: nil, count: shares.count)
        try await withThrowingTaskGroup(of: [(Int, InboundOutcome)].self) { group in
            for lane in lanes where !lane.isEmpty {
                group.addTask {
                    try await self.database.transaction(durability: .relaxed, planning: Self.runPlanning) { db in
                        Array(zip(lane, try await Self.apply(lane.map { shares[$0].batch }, now: now, queue: self.queue, in: db)))
                    }
                }
            }
            for try await applied in group {
                for (index, outcome) in applied { outcomes[index] = outcome }
            }
        }
        try await database.transaction(durability: .relaxed, planning: Self.runPlanning) { [queue] db in
            for share in shares where waiting.contains(share.partition) {
                try await queue.enqueue(share.jobs, in: db)
            }
            try await Self.recordSplits(webhooks, now: now, queue: queue, in: db)
        }
        queue.wake()
        return outcomes
    }

    /// Applies conversations' events inside the caller's transaction, and lets the bot of
    /// each Page that has one decide about them in it: a crash cannot keep the messages and
    /// lose what the bot must do about them.
    static func apply(_ batches: [InboundBatch], now: Int64, queue: EmbeddedJobQueue, in db: any SQLExecutor) async throws -> [InboundOutcome] {
        var run = InboundRun(db: db, batches: batches, now: now)
        var outcomes = try await run.apply()
        // An echo may have cut short a send's wait for it (InboundApplication).
        queue.touch([.sendMessage])
        var botPages: [String: Bool] = [:]
        for (index, batch) in batches.enumerated() where !outcomes[index].botEvents.isEmpty {
            if botPages[batch.pageId] == nil { botPages[batch.pageId] = try await botSettings(pageId: batch.pageId, in: db)?.enabled == true }
            guard botPages[batch.pageId] == true, let conversation = Int64(outcomes[index].conversationId) else { continue }
            if let fed = try await feedBot(
                in: db,
                conversationId: conversation,
                pageId: batch.pageId,
                events: outcomes[index].botEvents,
                actor: "webhook",
                now: now,
                queue: queue
            ) {
                outcomes[index].realtime += fed.events
                outcomes[index].bot = fed
            }
        }
        return outcomes
    }

    /// Which of these partitions still have `inbound.apply` jobs queued.
    static func partitionsWithApplyJobs(_ partitions: [String], in db: any SQLExecutor) async throws -> Set<String> {
        var found: Set<String> = []
        for chunk in stride(from: 0, to: partitions.count, by: 500).map({ Array(partitions[$0..<min($0 + 500, partitions.count)]) }) {
            let placeholders = bindList(chunk.count, from: 2)
            let rows = try await db.query(
                "SELECT DISTINCT partition_key FROM jobs WHERE kind = $1 AND state <> 'dead' AND partition_key IN (\(placeholders))",
                [.text(JobKind.applyInbound.rawValue)] + chunk.map { .text($0) }
            )
            found.formUnion(rows.compactMap { $0.string("partition_key") })
        }
        return found
    }
}
