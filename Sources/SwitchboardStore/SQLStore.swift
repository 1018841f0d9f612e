import Foundation
import Logging
public import SwitchboardCore

/// Switchboard's state in SQL, written once for both databases (invariants 1–4 live
/// here: durable raw webhooks, idempotent apply, per-conversation order via the queue's
/// partitions). The embedded queue shares its transactions, so work and the jobs that
/// follow from it commit together.
public final class SQLStore: Store {
    public let database: any SQLDatabase
    public let queue: EmbeddedJobQueue
    public let clock: any WallClock
    let ingestor: WebhookIngestor

    public init(database: any SQLDatabase, clock: any WallClock = SystemWallClock(), maxIngestBatch: Int = 256) {
        self.database = database
        self.clock = clock
        self.queue = EmbeddedJobQueue(database: database, clock: clock)
        self.ingestor = WebhookIngestor(database: database, queue: queue, clock: clock, maxBatch: maxIngestBatch)
    }

    var now: Int64 { clock.now().millisecondsSince1970 }

    // MARK: Webhook log

    /// Stores a verified webhook body and queues its split; returns once both are
    /// committed. Concurrent calls share one transaction (group commit).
    public func storeWebhook(body: [UInt8]) async throws -> Int64 {
        try await ingestor.store(body)
    }

    /// The raw body of a stored webhook.
    public func webhookBody(id: Int64) async throws -> [UInt8]? {
        try await webhookBodies(ids: [id])[id]
    }

    public func webhookBodies(ids: [Int64]) async throws -> [Int64: [UInt8]] {
        try await webhookColumn("body", ids: ids) { $0["body"].bytes }
    }

    public func webhookSizes(ids: [Int64]) async throws -> [Int64: Int] {
        try await webhookColumn("length(body) AS size", ids: ids) { $0.int("size").map { Int($0) } }
    }

    private func webhookColumn<T>(_ column: String, ids: [Int64], _ value: (SQLRow) -> T?) async throws -> [Int64: T] {
        guard !ids.isEmpty else { return [:] }
        let placeholders = bindList(ids.count, from: 1)
        let rows = try await database.read { db in
            try await db.query("SELECT id, \(column) FROM webhook_events WHERE id IN (\(placeholders))", ids.map { .int($0) })
        }
        var values: [Int64: T] = [:]
        for row in rows {
            if let id = row.int("id"), let value = value(row) { values[id] = value }
        }
        return values
    }

    /// Marks webhooks split, keeps their unhandled events (once per content, so a
    /// replayed body adds nothing), and completes their split jobs: a few statements for a
    /// whole run.
    static func recordSplits(_ webhooks: [SplitWebhook], now: Int64, queue: EmbeddedJobQueue, in db: any SQLExecutor) async throws {
        for webhook in webhooks {
            for event in webhook.unhandled {
                try await recordUnhandled(event, webhookEventId: webhook.id, in: db)
            }
        }
        if !webhooks.isEmpty {
            // A replayed webhook is split again: its row says what the last split found.
            let rows = webhooks.indices.map { "($\($0 * 3 + 2), $1, $\($0 * 3 + 3), $\($0 * 3 + 4))" }.joined(separator: ", ")
            try await db.query(
                """
                INSERT INTO webhook_splits (webhook_event_id, split_at, event_count, error) VALUES \(rows)
                ON CONFLICT (webhook_event_id) DO UPDATE
                    SET split_at = excluded.split_at, event_count = excluded.event_count, error = excluded.error
                """,
                [.int(now)] + webhooks.flatMap { [.int($0.id), .int(Int64($0.eventCount)), SQLValue($0.error)] }
            )
        }
        try await queue.complete(webhooks.map(\.job), in: db)
    }

    static func recordUnhandled(_ event: UnhandledEvent, webhookEventId: Int64, in db: any SQLExecutor) async throws {
        try await db.query(
            """
            INSERT INTO unhandled_events (webhook_event_id, event_index, page_id, kind, reason, body)
            SELECT $1, $2, $3, $4, $5, $6
            WHERE NOT EXISTS (
                SELECT 1 FROM unhandled_events WHERE kind = $4 AND body = $6 AND COALESCE(page_id, '') = COALESCE($3, ''))
            ON CONFLICT (webhook_event_id, event_index) DO NOTHING
            """,
            .int(webhookEventId),
            .int(Int64(event.index)),
            SQLValue(event.pageId),
            .text(event.kind),
            SQLValue(event.reason),
            .text(event.json)
        )
    }

    /// Every stored webhook id, oldest first (for replays and the crash test).
    public func webhookIds(after: Int64 = 0, limit: Int = 1000) async throws -> [Int64] {
        try await database.read { db in
            try await db.query("SELECT id FROM webhook_events WHERE id > $1 ORDER BY id LIMIT $2", .int(after), .int(Int64(limit)))
                .compactMap { $0.int("id") }
        }
    }

    // MARK: Counts

    public func counts() async throws -> StoreCounts {
        try await database.read { db in
            let row = try await db.first(
                """
                SELECT (SELECT COUNT(*) FROM pages) AS pages,
                       (SELECT COUNT(*) FROM contacts) AS contacts,
                       (SELECT COUNT(*) FROM conversations) AS conversations,
                       (SELECT COUNT(*) FROM messages) AS messages,
                       (SELECT COUNT(*) FROM webhook_events) AS received,
                       (SELECT COUNT(*) FROM webhook_events w
                        WHERE NOT EXISTS (SELECT 1 FROM webhook_splits s WHERE s.webhook_event_id = w.id)) AS pending,
                       (SELECT COUNT(*) FROM webhook_splits WHERE error IS NOT NULL) AS failed,
                       (SELECT COUNT(*) FROM unhandled_events) AS unhandled
                """
            )
            func n(_ key: String) -> Int { Int(row?.int(key) ?? 0) }
            return StoreCounts(
                pages: n("pages"),
                contacts: n("contacts"),
                conversations: n("conversations"),
                messages: n("messages"),
                webhooksReceived: n("received"),
                webhooksPending: n("pending"),
                webhooksFailed: n("failed"),
                unhandledEvents: n("unhandled")
            )
        }
    }

    /// A cheap round trip, for `/readyz`.
    public func ping() async throws {
        _ = try await database.read { db in try await db.query("SELECT 1 AS one") }
    }
}
