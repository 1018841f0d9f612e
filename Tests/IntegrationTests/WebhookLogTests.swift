import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

/// The raw webhook log is only ever inserted into: what a split found is recorded beside it
/// (`webhook_splits`), so a stored body is written once, to the disk and to the WAL that the
/// next acknowledgement's commit flushes.
@Suite("Webhook log")
struct WebhookLogTests {
    @Test("splitting a webhook leaves its stored row as it was")
    func splitLeavesTheRowAlone() async throws {
        try await TestDatabase.with(.postgres) { database in
            let store = SQLStore(database: database)
            for post in 0..<20 {
                let events = (0..<10).map { index in
                    Webhook.message(psid: "p\(post)-\(index)", mid: "m_\(post)_\(index)", text: "hello", timestamp: 1_000 + Int64(post * 10 + index))
                }
                _ = try await store.storeWebhook(body: Webhook.body(events))
            }
            let stored = try await Self.versions(in: database)
            #expect(try await store.counts().webhooksPending == 20)

            try await InboundDrain(store: store).run()

            #expect(try await store.counts().webhooksPending == 0)
            #expect(try await store.counts().messages == 200)
            // A row's xmin and place change with any update of it.
            #expect(try await Self.versions(in: database) == stored)
        }
    }

    @Test("a database from before the split table keeps what its splits found", arguments: TestDatabaseKind.all)
    func upgradeKeepsSplits(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind, migrate: false) { database in
            let migrator = Migrator(database: database)
            try await migrator.migrate(now: 1, upTo: 10)
            try await database.transaction { db in
                try await db.query(
                    """
                    INSERT INTO webhook_events (received_at, body, processed_at, event_count, error)
                    VALUES (1, $1, 2, 3, NULL), (1, $1, 2, 0, 'not JSON'), (1, $1, NULL, NULL, NULL)
                    """,
                    .bytes(Array("{}".utf8))
                )
            }
            try await migrator.migrate(now: 3)
            let store = SQLStore(database: database)
            let counts = try await store.counts()
            #expect(counts.webhooksReceived == 3 && counts.webhooksPending == 1 && counts.webhooksFailed == 1)
            let splits = try await database.read { db in
                try await db.query("SELECT webhook_event_id, split_at, event_count, error FROM webhook_splits ORDER BY webhook_event_id")
            }
            #expect(splits.map { $0.int("event_count") } == [3, 0])
            #expect(splits.map { $0.string("error") } == [nil, "not JSON"])
        }
    }

    /// Each stored webhook's row version: its `xmin` and `ctid`.
    static func versions(in database: any SQLDatabase) async throws -> [String] {
        try await database.read { db in
            try await db.query("SELECT id, xmin::text AS version, ctid::text AS place FROM webhook_events ORDER BY id")
        }.map { "\($0.int("id") ?? 0) \($0.string("version") ?? "") \($0.string("place") ?? "")" }
    }
}
