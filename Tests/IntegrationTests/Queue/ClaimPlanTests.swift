import Foundation
import SwitchboardCore
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

    @Test("with statistics of an empty table, every claim walks an index past a backlog and dead letters")
    func claimsWalkIndexes() async throws {
        try await TestDatabase.with(.postgres) { inner in
            try await inner.read { db in try await db.query("ANALYZE jobs") }
            let backlog = "INSERT INTO jobs (kind, partition_key, payload, state, attempts, max_attempts, run_at, created_at) "
            try await inner.read { db in
                try await db.query(
                    backlog + "SELECT 'webhook.split', 'webhook', convert_to(g::text, 'UTF8'), 'ready', 0, 5, 0, 0 FROM generate_series(1, 3000) g"
                )
                try await db.query(
                    backlog + "SELECT 'contact.profile', NULL, convert_to(g::text, 'UTF8'), 'dead', 5, 5, 0, 0 FROM generate_series(1, 3000) g"
                )
                try await db.query(
                    backlog
                        + "SELECT 'message.send', 'conv:' || (g % 50), convert_to(g::text, 'UTF8'), 'ready', 0, 5, 0, 0 FROM generate_series(1, 500) g"
                )
            }
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

            let plans = database.plans
            #expect(plans.count >= 4)
            for plan in plans {
                let nodes = plan.nodes
                #expect(!nodes.contains { $0.hasPrefix("Seq Scan") || $0.hasPrefix("Bitmap") || $0.hasPrefix("Sort") }, "\(plan.sql)\n\(nodes)")
            }
        }
    }
}

/// A PostgreSQL database that, inside transactions, asks for the plan of every statement
/// on the jobs table before running it.
private final class ExplainingDatabase: SQLDatabase, @unchecked Sendable {
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
            if sql.contains("jobs") {
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
