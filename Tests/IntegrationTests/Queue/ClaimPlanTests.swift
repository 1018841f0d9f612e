import Foundation
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport
import Testing

/// How PostgreSQL runs the embedded queue's claims. Its jobs table grows from empty to an
/// ingest backlog within seconds, faster than its statistics follow; claims planned from
/// stale statistics read that whole backlog on every call (the ingest benchmark counted
/// 25,000 index entries per claim). Claims are therefore planned as index walks.
@Suite("Claim plans")
struct ClaimPlanTests {
    @Test("a transaction planned as index walks turns off scans and sorts for itself only")
    func localSettings() async throws {
        try await TestDatabase.with(.postgres) { database in
            let settings =
                "SELECT current_setting('enable_seqscan') AS seq, current_setting('enable_bitmapscan') AS bitmap, "
                + "current_setting('enable_sort') AS sort"
            for durability in [CommitDurability.relaxed, .durable] {
                let walks = try await database.transaction(durability: durability, planning: .indexWalks) { db in try await db.first(settings) }
                #expect(walks?.string("seq") == "off" && walks?.string("bitmap") == "off" && walks?.string("sort") == "off")
            }
            // SET LOCAL ends with its transaction: no pooled connection keeps it.
            for durability in Array(repeating: CommitDurability.relaxed, count: 8) + [.durable] {
                let costed = try await database.transaction(durability: durability) { db in try await db.first(settings) }
                #expect(costed?.string("seq") == "on" && costed?.string("bitmap") == "on" && costed?.string("sort") == "on")
            }
        }
    }

    /// Gives the jobs table an empty table's statistics, then rows of `kinds` (kind,
    /// partition key as SQL, state; 3,000 of each unless said).
    static func backlog(_ kinds: [(kind: String, partition: String, state: String, count: Int)], in database: any SQLDatabase) async throws {
        try await database.read { db in
            try await db.query("ANALYZE jobs")
            for rows in kinds {
                try await db.query(
                    """
                    INSERT INTO jobs (kind, partition_key, payload, state, attempts, max_attempts, run_at, created_at)
                    SELECT '\(rows.kind)', \(rows.partition), convert_to(g::text, 'UTF8'), '\(rows.state)', 0, 5, 0, 0
                    FROM generate_series(1, \(rows.count)) g
                    """
                )
            }
        }
    }

    static func expectIndexWalks(_ plans: [ExplainingDatabase.Plan], sourceLocation: SourceLocation = #_sourceLocation) {
        for plan in plans {
            let nodes = plan.nodes
            #expect(
                !nodes.contains { $0.hasPrefix("Seq Scan") || $0.hasPrefix("Bitmap") || $0.hasPrefix("Sort") },
                "\(plan.sql)\n\(nodes)",
                sourceLocation: sourceLocation
            )
        }
    }

    @Test("with statistics of an empty table, every claim, and a retry's hold on what follows it, walks an index")
    func claimsWalkIndexes() async throws {
        try await TestDatabase.with(.postgres) { inner in
            try await Self.backlog(
                [
                    ("webhook.split", "'webhook'", "ready", 3000), ("contact.profile", "NULL", "dead", 3000),
                    ("message.send", "'conv:' || (g % 50)", "ready", 500),
                ],
                in: inner
            )
            let database = ExplainingDatabase(inner)
            let queue = EmbeddedJobQueue(database: database)
            try await queue.enqueue([NewJob(kind: .botAnswer, partition: "bot:1", payload: Array("answer".utf8))])
            let lease = Duration.seconds(30)
            let bot = try await queue.claimRuns(limit: 4, runLength: 1024, worker: "w", lease: lease, kinds: .only([.botAnswer]))
            #expect(bot.map { $0.map(\.kind) } == [[.botAnswer]])
            let general = try await queue.claimRuns(limit: 8, runLength: 1024, worker: "w", lease: lease, kinds: .except([.botAnswer]))
            #expect(general.first?.count == 1024, "the split partition's run: its head and 1,023 behind it")
            #expect(general.first?.allSatisfy { $0.kind == .splitWebhook } == true)
            #expect(general.dropFirst().map(\.count) == Array(repeating: 10, count: 7), "seven conversations, each one's ten sends")
            // A send put back for a retry (due at once): the nine behind it, in its run,
            // wait until it has run again and finished.
            let retried = try #require(general.dropFirst().first?.first)
            try await queue.fail(retried, reason: "1200", retryAt: Date())
            let again = try await queue.claimRuns(limit: 50, runLength: 1024, worker: "w", lease: lease, kinds: .only([.sendMessage]))
            #expect(again.filter { $0.first?.partition == retried.partition }.map { $0.map(\.id) } == [[retried.id]])
            try await queue.complete(try #require(again.first { $0.first?.id == retried.id }?.first))
            let behind = try await queue.claimRuns(limit: 50, runLength: 1024, worker: "w", lease: lease, kinds: .only([.sendMessage]))
            #expect(behind.filter { $0.first?.partition == retried.partition }.map(\.count) == [9])

            #expect(database.plans.contains { $0.sql.contains("SET state = 'waiting'") })
            #expect(database.plans.contains { $0.sql.contains("SET state = 'ready' WHERE partition_key IN") })
            #expect(database.plans.count >= 7)
            Self.expectIndexWalks(database.plans)
        }
    }

    @Test("with statistics of an empty table, a split run looks up waiting apply jobs along an index")
    func splitRunsWalkIndexes() async throws {
        try await TestDatabase.with(.postgres) { inner in
            try await Self.backlog(
                [("inbound.apply", "'conv:other:' || g", "ready", 3000), ("contact.profile", "NULL", "dead", 3000)],
                in: inner
            )
            let database = ExplainingDatabase(inner)
            let store = SQLStore(database: database)
            let logger = TestDatabase.logger
            let apply = ApplyInboundHandler(store: store, queue: store.queue, publisher: DiscardingEventPublisher(), ourAppId: nil, logger: logger)
            // 40 customers: a run large enough for apply lanes and their look-up.
            for index in 0..<40 {
                _ = try await store.storeWebhook(
                    body: Webhook.body([Webhook.message(psid: "p\(index)", mid: "m_\(index)", text: "hello", timestamp: 1_000 + Int64(index))])
                )
            }
            let run = try #require(try await store.queue.claimRuns(limit: 1, runLength: 64, worker: "t", lease: .seconds(60)).first)
            #expect(run.count == 40)
            try await SplitWebhookHandler(store: store, logger: logger, applier: apply).handleRun(run)
            #expect(try await store.conversations(ConversationQuery(limit: 50)).items.count == 40)
            #expect(database.plans.contains { $0.sql.contains("SELECT DISTINCT partition_key FROM jobs") })
            Self.expectIndexWalks(database.plans)
            // The same customers again: their contacts are found along their natural key, not
            // by a walk of a Page's (or every) contact against the run's list.
            for index in 0..<40 {
                _ = try await store.storeWebhook(
                    body: Webhook.body([Webhook.message(psid: "p\(index)", mid: "m_again_\(index)", text: "again", timestamp: 2_000 + Int64(index))])
                )
            }
            let again = try #require(try await store.queue.claimRuns(limit: 1, runLength: 64, worker: "t", lease: .seconds(60)).first)
            try await SplitWebhookHandler(store: store, logger: logger, applier: apply).handleRun(again)
            #expect(try await store.conversations(ConversationQuery(limit: 50)).items.map(\.messageCount) == Array(repeating: 2, count: 40))
            let lookups = database.plans.filter { $0.sql.contains("IN (VALUES") }
            #expect(lookups.count >= 2 && lookups.allSatisfy { $0.sql.contains("FROM contacts") }, "contacts, looked up in each run")
            for plan in lookups {
                #expect(plan.nodes.contains { $0.hasPrefix("Index Scan using") && $0.contains("page_id") }, "\(plan.sql)\n\(plan.nodes)")
            }
        }
    }
}

/// A PostgreSQL database that, inside transactions, asks for the plan of every statement
/// on the jobs table, and of every look-up by a list of keys, before running it.
final class ExplainingDatabase: SQLDatabase, @unchecked Sendable {
    struct Plan {
        var sql: String
        /// The plan's nodes, top down.
        var nodes: [String]
    }

    private let inner: any SQLDatabase
    private let lock = NSLock()
    private var recorded: [Plan] = []

    init(_ inner: any SQLDatabase) { self.inner = inner }

    var plans: [Plan] { lock.withLock { recorded } }
    var dialect: SQLDialect { inner.dialect }
    var concurrentWriters: Int { inner.concurrentWriters }

    func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await inner.read(body)
    }

    func transaction<T: Sendable>(
        durability: CommitDurability,
        planning: QueryPlanning,
        _ body: @Sendable (any SQLExecutor) async throws -> T
    ) async throws -> T {
        try await inner.transaction(durability: durability, planning: planning) { db in
            try await body(Explaining(inner: db, database: self))
        }
    }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] { try await inner.execute(sql, binds) }
    func syncCommitted() async throws { try await inner.syncCommitted() }
    func close() async { await inner.close() }

    fileprivate func record(_ plan: Plan) { lock.withLock { recorded.append(plan) } }

    private struct Explaining: SQLExecutor {
        let inner: any SQLExecutor
        let database: ExplainingDatabase
        var dialect: SQLDialect { inner.dialect }

        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            if sql.contains("jobs") || sql.contains("IN (VALUES") {
                let lines = try await inner.query("EXPLAIN (COSTS OFF) " + sql, binds).compactMap { $0.values.first?.string }
                database.record(Plan(sql: sql, nodes: Self.nodes(lines)))
            }
            return try await inner.query(sql, binds)
        }

        /// The plan's nodes: its first line, then every line a `->` starts (the others
        /// are a node's details: conditions, keys, subplan names).
        static func nodes(_ lines: [String]) -> [String] {
            let children = lines.dropFirst().compactMap { line -> String? in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                return trimmed.hasPrefix("->") ? trimmed.dropFirst(2).trimmingCharacters(in: .whitespaces) : nil
            }
            return Array(lines.prefix(1)) + children
        }
    }
}
