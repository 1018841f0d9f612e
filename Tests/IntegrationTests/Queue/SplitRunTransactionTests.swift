import Foundation
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport
import Testing

/// On PostgreSQL a large split run applies its conversations in several transactions side
/// by side, except while ingest gives way to acknowledgements: then in one, so that a run
/// holds one connection's share of the database (docs/ingest.md, session 15).
@Suite("Split runs' transactions")
struct SplitRunTransactionTests {
    /// Stores one webhook for each of `customers` new customers, splits them as one run,
    /// and returns how many transactions wrote their messages.
    static func transactions(
        customers: Int,
        tag: String,
        givingWay: Bool,
        store: SQLStore,
        database: any SQLDatabase
    ) async throws -> Int {
        for index in 0..<customers {
            _ = try await store.storeWebhook(
                body: Webhook.body([Webhook.message(psid: "\(tag)\(index)", mid: "m_\(tag)_\(index)", text: "hello", timestamp: 1_000 + Int64(index))]
                )
            )
        }
        let run = try #require(try await store.queue.claimRuns(limit: 1, runLength: 1024, worker: "t", lease: .seconds(60)).first)
        #expect(run.count == customers)
        let logger = TestDatabase.logger
        let apply = ApplyInboundHandler(store: store, queue: store.queue, publisher: DiscardingEventPublisher(), ourAppId: nil, logger: logger)
        try await SplitWebhookHandler(store: store, logger: logger, applier: apply, givingWay: { givingWay }).handleRun(run)
        let rows = try await database.read { db in
            try await db.query("SELECT count(DISTINCT xmin::text) AS n, count(*) AS messages FROM messages WHERE mid LIKE $1", .text("m_\(tag)_%"))
        }
        #expect(rows.first?.int("messages") == Int64(customers), "every message applied")
        return Int(rows.first?.int("n") ?? 0)
    }

    @Test("48 conversations: three transactions side by side, one while giving way")
    func oneTransactionWhileGivingWay() async throws {
        try await TestDatabase.with(.postgres) { database in
            let store = SQLStore(database: database)
            let sideBySide = try await Self.transactions(customers: 48, tag: "side", givingWay: false, store: store, database: database)
            let givingWay = try await Self.transactions(customers: 48, tag: "way", givingWay: true, store: store, database: database)
            #expect(sideBySide == 3)
            #expect(givingWay == 1)
        }
    }
}
