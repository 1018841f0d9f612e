import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

/// The raw webhook log on PostgreSQL. Each stored webhook is updated once, when its split
/// records what it held; the acknowledgements' synchronous commits flush whatever WAL that
/// update wrote, so it must not write the body again.
@Suite("Webhook log")
struct WebhookLogTests {
    @Test("a split webhook's row is updated on its own page, so its body is not logged again")
    func splitUpdatesStayOnTheirPage() async throws {
        try await TestDatabase.with(.postgres) { database in
            let store = SQLStore(database: database)
            // Ten events a POST, as Meta aggregates them under load: about 2.6 KB a body, three
            // to a full page.
            let text = String(repeating: "x", count: 160)
            for post in 0..<30 {
                let events = (0..<10).map { index in
                    Webhook.message(psid: "p\(post)-\(index)", mid: "m_\(post)_\(index)", text: text, timestamp: 1_000 + Int64(post * 10 + index))
                }
                _ = try await store.storeWebhook(body: Webhook.body(events))
            }
            let stored = try await Self.pages(of: database)
            #expect(stored.count == 30 && stored.values.allSatisfy { $0.processed == false })

            try await InboundDrain(store: store).run()

            let split = try await Self.pages(of: database)
            #expect(split.values.allSatisfy { $0.processed }, "every webhook was split")
            let moved = split.filter { id, row in stored[id]?.page != row.page }.keys.sorted()
            #expect(moved.isEmpty, "rows that moved to another page: \(moved)")
        }
    }

    /// Each webhook's heap page (from its `ctid`) and whether it is marked split.
    static func pages(of database: any SQLDatabase) async throws -> [Int64: (page: Int64, processed: Bool)] {
        let rows = try await database.read { db in
            try await db.query("SELECT id, ctid::text AS place, processed_at FROM webhook_events")
        }
        var pages: [Int64: (page: Int64, processed: Bool)] = [:]
        for row in rows {
            // "(block,offset)"
            let place = try #require(row.string("place"))
            let block = try #require(Int64(place.dropFirst().prefix { $0 != "," }))
            pages[try #require(row.int("id"))] = (block, row.int("processed_at") != nil)
        }
        return pages
    }
}
