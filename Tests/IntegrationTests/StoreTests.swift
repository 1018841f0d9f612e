import Foundation
import Messenger
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport
import Testing

/// The store suite: every test runs on SQLite and on PostgreSQL.
@Suite("Store")
struct StoreTests {
    static let ourAppId = "947561230458812"

    @Test("migrate is idempotent", arguments: TestDatabaseKind.all)
    func migrateIsIdempotent(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind, migrate: false) { database in
            let migrator = Migrator(database: database)
            #expect(try await migrator.currentVersion() == 0)
            await #expect(throws: SwitchboardError.self) { try await migrator.requireCurrent() }
            // Every step once, oldest first (versions are numbered per branch, so gaps may exist until a merge).
            let applied = try await migrator.migrate(now: 1)
            #expect(applied.first == 1 && applied.last == Migrator.latestVersion && applied == applied.sorted())
            #expect(try await migrator.migrate(now: 2) == [])
            #expect(try await migrator.currentVersion() == Migrator.latestVersion)
            try await migrator.requireCurrent()
        }
    }

    @Test("a statement is prepared per dialect: tokens filled, and SQLite's placeholders numbered ?n")
    func preparedStatements() {
        let sql = "SELECT id FROM jobs {{jobs_by_claim_order}} WHERE a = $1 AND b = $12 AND c = '$x' {{skip_locked}}"
        for _ in 0..<2 {  // the second time from the cache
            #expect(SQLDialect.sqlite.prepare(sql) == "SELECT id FROM jobs INDEXED BY jobs_claim_order WHERE a = ?1 AND b = ?12 AND c = '$x' ")
            #expect(SQLDialect.postgres.prepare(sql) == "SELECT id FROM jobs  WHERE a = $1 AND b = $12 AND c = '$x' FOR UPDATE SKIP LOCKED")
        }
    }

    @Test("a connection PostgreSQL drops mid-transaction fails that transaction promptly, and the pool goes on")
    func droppedConnection() async throws {
        guard TestDatabaseKind.all.contains(.postgres) else { return }
        try await TestDatabase.with(.postgres) { database in
            // The next statement lands on a connection being closed, or already closed:
            // PostgresNIO fails the first and loses the second (PostgresDeadline); without
            // that bound this test waits for ever.
            for _ in 0..<5 {
                let error = await #expect(throws: SwitchboardError.self) {
                    try await database.transaction(durability: .durable) { transaction in
                        _ = try? await transaction.query("SELECT pg_terminate_backend(pg_backend_pid())")
                        try await transaction.query("SELECT 1")
                    }
                }
                #expect(error?.code == .storageUnavailable)
            }
            let rows = try await database.read { try await $0.query("SELECT 2 AS two") }
            #expect(rows.first?.int("two") == 2)
        }
    }

    @Test("the whole corpus applied twice equals once", arguments: TestDatabaseKind.all)
    func corpusTwiceEqualsOnce(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            let drain = InboundDrain(store: store, ourAppId: Self.ourAppId)
            let corpus = try Corpus.names().map { try Corpus.body($0) }
            for body in corpus { _ = try await store.storeWebhook(body: body) }
            try await drain.run()
            let once = try await Snapshot.take(store)
            #expect(once.messages.count > 20)
            let counts = try await store.counts()
            #expect(counts.webhooksReceived == corpus.count)
            #expect(counts.webhooksPending == 0)

            for body in corpus { _ = try await store.storeWebhook(body: body) }
            try await drain.run()
            let twice = try await Snapshot.take(store)
            #expect(twice.conversations == once.conversations)
            #expect(twice.messages == once.messages)
            #expect(twice.counts.messages == once.counts.messages)
            #expect(twice.counts.unhandledEvents == once.counts.unhandledEvents)
            #expect(try await store.queue.stats().dead == 0)
        }
    }

    @Test("a mid duplicated inside one POST becomes one message", arguments: TestDatabaseKind.all)
    func duplicateInOnePost(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            _ = try await store.storeWebhook(body: try Corpus.body("batch-duplicate-mid.json"))
            try await InboundDrain(store: store).run()
            let snapshot = try await Snapshot.take(store)
            let mids = snapshot.messages.compactMap(\.facebookMessageId)
            #expect(Set(mids).count == mids.count)
            #expect(mids.contains("m_AbC1-text-0001"))
        }
    }

    @Test("unreadable bodies are kept, counted, and stop nothing", arguments: TestDatabaseKind.all)
    func undecodableBodies(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            let bad = try Corpus.undecodable()
            #expect(!bad.isEmpty)
            for (_, body) in bad { _ = try await store.storeWebhook(body: body) }
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "p1", mid: "m_after_bad", text: "still here", timestamp: 1)]))
            try await InboundDrain(store: store).run()
            let counts = try await store.counts()
            #expect(counts.webhooksFailed == bad.count)
            #expect(counts.webhooksPending == 0)
            #expect(try await Snapshot.take(store).messages.map(\.facebookMessageId) == ["m_after_bad"])
            #expect(try await store.queue.stats().dead == 0)
        }
    }

    @Test("a new customer's first messages in parallel make one contact and one conversation", arguments: TestDatabaseKind.all)
    func firstMessagesRace(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            // Through the store directly, bypassing the queue's per-conversation order: the
            // upserts themselves must be race-safe.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<16 {
                    group.addTask {
                        let event = WebhookEvent(
                            pageId: Webhook.page,
                            customerId: "race-1",
                            timestamp: Int64(1000 + n),
                            channel: .messaging,
                            payload: .message(InboundMessage(mid: "m_race_\(n)", text: "hello \(n)"))
                        )
                        _ = try await Self.retryingBusy {
                            try await store.applyInbound(
                                InboundBatch(pageId: Webhook.page, psid: "race-1", events: [event], ourAppId: nil),
                                completing: nil
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            // And through the webhook path with parallel POSTs and parallel workers.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<16 {
                    group.addTask {
                        _ = try await store.storeWebhook(
                            body: Webhook.body([Webhook.message(psid: "race-2", mid: "m_race2_\(n)", text: "hi \(n)", timestamp: Int64(2000 + n))])
                        )
                    }
                }
                try await group.waitForAll()
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<3 {
                    group.addTask { try await InboundDrain(store: store).run(worker: "w\(worker)") }
                }
                try await group.waitForAll()
            }
            let counts = try await store.counts()
            #expect(counts.contacts == 2)
            #expect(counts.conversations == 2)
            #expect(counts.messages == 32)
            let conversations = try await store.conversations(ConversationQuery())
            #expect(conversations.items.map(\.messageCount).sorted() == [16, 16])
            #expect(conversations.items.map(\.unreadCount).sorted() == [16, 16])
        }
    }

    @Test("50 conversations shuffled across POSTs come out in timestamp order", arguments: TestDatabaseKind.all)
    func orderPerConversation(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            var generator = SeededGenerator(seed: 42)
            var events: [(psid: String, event: String)] = []
            for c in 0..<50 {
                for m in 0..<8 {
                    let psid = "order-\(c)"
                    events.append((psid, Webhook.message(psid: psid, mid: "m_o_\(c)_\(m)", text: "\(m)", timestamp: 1_000_000 + Int64(m * 1000 + c))))
                }
            }
            events.shuffle(using: &generator)
            var index = 0
            while index < events.count {
                let size = Int.random(in: 1...12, using: &generator)
                let slice = events[index..<min(index + size, events.count)]
                _ = try await store.storeWebhook(body: Webhook.body(slice.map(\.event)))
                index += size
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<3 {
                    group.addTask { try await InboundDrain(store: store).run(worker: "w\(worker)") }
                }
                try await group.waitForAll()
            }
            let conversations = try await store.conversations(ConversationQuery(limit: 100)).items
            #expect(conversations.count == 50)
            for conversation in conversations {
                let messages = try await store.messages(conversationId: conversation.id, limit: 50, before: nil).items
                #expect(messages.map(\.text) == (0..<8).map { "\($0)" }, "conversation \(conversation.contact.psid)")
                #expect(messages.map(\.timestamp) == messages.map(\.timestamp).sorted())
            }
        }
    }

    /// A store on a fresh database, and the handler that applies runs inline as the worker's does.
    private static func withInlineApply(
        _ kind: TestDatabaseKind,
        _ body: @Sendable (SQLStore, ApplyInboundHandler) async throws -> Void
    ) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            let logger = TestDatabase.logger
            try await body(
                store,
                ApplyInboundHandler(store: store, queue: store.queue, publisher: DiscardingEventPublisher(), ourAppId: nil, logger: logger)
            )
        }
    }

    @Test("a run applies conversations at once, except one with apply jobs waiting: its share queues behind them", arguments: TestDatabaseKind.all)
    func inlineRunWaitsBehindApplyJobs(kind: TestDatabaseKind) async throws {
        try await Self.withInlineApply(kind) { store, apply in
            let logger = TestDatabase.logger
            // The first webhook is split without applying: x's apply job waits.
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "x", mid: "m_x_1", text: "1", timestamp: 2_000)]))
            let firstSplit = try #require(try await store.queue.claim(limit: 1, worker: "t", lease: .seconds(60)).first)
            try await SplitWebhookHandler(store: store, logger: logger).handle(firstSplit)
            _ = try await store.storeWebhook(
                body: Webhook.body([
                    Webhook.message(psid: "x", mid: "m_x_2", text: "2", timestamp: 3_000),
                    Webhook.message(psid: "y", mid: "m_y_1", text: "hello", timestamp: 3_000),
                ])
            )
            let claimed = try await store.queue.claim(limit: 2, worker: "t", lease: .seconds(60))
            let waiting = try #require(claimed.first { $0.kind == .applyInbound })
            let secondSplit = try #require(claimed.first { $0.kind == .splitWebhook })
            try await SplitWebhookHandler(store: store, logger: logger, applier: apply).handle(secondSplit)

            let y = try #require(try await store.conversations(ConversationQuery(limit: 10)).items.first { $0.contact.psid == "y" })
            #expect(try await store.messages(conversationId: y.id, limit: 10, before: nil).items.map(\.text) == ["hello"])
            #expect(try await store.queue.stats().byKind[JobKind.applyInbound.rawValue] == 2)

            try await apply.handle(waiting)
            try await InboundDrain(store: store).run()
            let x = try #require(try await store.conversations(ConversationQuery(limit: 10)).items.first { $0.contact.psid == "x" })
            let thread = try await store.messages(conversationId: x.id, limit: 10, before: nil).items
            #expect(thread.map(\.text) == ["1", "2"])
            // Applied in that order: the second message's row came second.
            #expect(thread.compactMap { Int($0.id) } == thread.compactMap { Int($0.id) }.sorted())
            #expect(try await store.queue.stats().byKind.isEmpty)
        }
    }

    @Test("a run too large to hold at once is applied in parts, every webhook once", arguments: TestDatabaseKind.all)
    func runInParts(kind: TestDatabaseKind) async throws {
        try await Self.withInlineApply(kind) { store, apply in
            let logger = TestDatabase.logger
            let texts = ["short", String(repeating: "long ", count: 400), "short again", String(repeating: "longer ", count: 500), "last"]
            for (index, text) in texts.enumerated() {
                _ = try await store.storeWebhook(
                    body: Webhook.body([Webhook.message(psid: "c\(index % 2)", mid: "m_\(index)", text: text, timestamp: 1_000 + Int64(index))])
                )
            }
            let run = try #require(try await store.queue.claimRuns(limit: 1, runLength: 64, worker: "t", lease: .seconds(60)).first)
            #expect(run.count == texts.count)
            // 2,500 bytes a part: the long bodies (2,000 and 3,500 bytes) end parts of their own.
            try await SplitWebhookHandler(store: store, logger: logger, applier: apply, bytesPerPart: 2_500, maxBodyBytes: 4_096).handleRun(run)

            var applied: [String] = []
            for conversation in try await store.conversations(ConversationQuery(limit: 10)).items {
                applied += try await store.messages(conversationId: conversation.id, limit: 10, before: nil).items.compactMap(\.text)
            }
            #expect(applied.sorted() == texts.sorted())
            #expect(try await store.queue.stats().byKind[JobKind.splitWebhook.rawValue] == nil, "every split job completed")
            #expect(try await store.counts().webhooksPending == 0)
        }
    }

    @Test("echoes, watermarks and reactions move statuses forward only", arguments: TestDatabaseKind.all)
    func receiptsAreMonotonic(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            let hub = RecordingPublisher()
            let drain = InboundDrain(store: store, publisher: hub, ourAppId: Self.ourAppId)
            for name in ["message-text.json", "echo-own-app-metadata.json", "echo-page-inbox.json"] {
                _ = try await store.storeWebhook(body: try Corpus.body(name))
            }
            try await drain.run()
            var messages = try await Snapshot.take(store).messages
            let outbound = messages.filter { $0.direction == .outbound }
            #expect(outbound.count == 2)
            #expect(Set(outbound.map(\.author)) == [.agent, .otherApp])
            #expect(outbound.allSatisfy { $0.status == .sent })

            for name in ["read.json", "delivery-watermark-only.json", "delivery-mids.json"] {
                _ = try await store.storeWebhook(body: try Corpus.body(name))
            }
            try await drain.run()
            messages = try await Snapshot.take(store).messages
            let statuses = Dictionary(uniqueKeysWithValues: messages.compactMap { m in m.facebookMessageId.map { ($0, m.status) } })
            // A read implies delivered; an older delivery afterwards never moves it back.
            for message in messages where message.direction == .outbound {
                #expect([.delivered, .read].contains(message.status), "\(message.facebookMessageId ?? "")")
                if message.status == .read { #expect(message.deliveredAt != nil) }
            }
            #expect(statuses.values.contains(.read))
            #expect(await hub.names.contains("message:status"))
        }
    }

    @Test("a delivery moves what its watermark covers and the mids it lists, nothing else", arguments: TestDatabaseKind.all)
    func deliveryCoversWatermarkAndMids(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            let hub = RecordingPublisher()
            let drain = InboundDrain(store: store, publisher: hub)
            let psid = "ticks"
            _ = try await store.storeWebhook(
                body: Webhook.body([
                    Webhook.message(psid: psid, mid: "m_in", text: "hi", timestamp: 1_000),
                    Webhook.echo(psid: psid, mid: "m_early", text: "one", timestamp: 2_000),
                    Webhook.echo(psid: psid, mid: "m_late", text: "two", timestamp: 3_000),
                    Webhook.echo(psid: psid, mid: "m_listed", text: "three", timestamp: 4_000),
                ])
            )
            try await drain.run()
            let before = await hub.events.count
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.delivery(psid: psid, watermark: 2_500, mids: ["m_listed"])]))
            try await drain.run()
            let statuses = Dictionary(
                uniqueKeysWithValues: try await Snapshot.take(store).messages.compactMap { m in m.facebookMessageId.map { ($0, m.status) } }
            )
            #expect(statuses == ["m_in": .received, "m_early": .delivered, "m_late": .sent, "m_listed": .delivered])
            #expect(await hub.names.dropFirst(before) == ["message:status", "message:status"])
        }
    }

    @Test("a contact is first seen at its earliest message, whatever order messages come in", arguments: TestDatabaseKind.all)
    func firstSeenIsTheEarliest(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            let drain = InboundDrain(store: store, publisher: RecordingPublisher())
            func firstSeen() async throws -> String? { try await store.conversations(ConversationQuery()).items.first?.contact.firstSeenAt }
            for (mid, at) in [("m_b", Int64(5_000)), ("m_a", 3_000), ("m_c", 9_000)] {
                _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "late", mid: mid, text: mid, timestamp: at)]))
                try await drain.run()
            }
            #expect(try await firstSeen() == Date(millisecondsSince1970: 3_000).iso8601, "the late message moved it back; the later one did not")
            #expect(try await store.counts().contacts == 1)
        }
    }

    @Test("message:new and conversation:updated carry the seed contract's shapes", arguments: TestDatabaseKind.all)
    func realtimeShapes(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            let hub = RecordingPublisher()
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "shape", mid: "m_shape", text: "hello", timestamp: 5_000)]))
            try await InboundDrain(store: store, publisher: hub).run()
            let events = await hub.events
            #expect(events.map(\.name) == ["message:new", "conversation:updated"])
            let new = try JSONSerialization.jsonObject(with: Data(events[0].payload.utf8)) as? [String: Any]
            #expect(Set(new?.keys ?? [:].keys) == ["message", "conversation"])
            let updated = try JSONSerialization.jsonObject(with: Data(events[1].payload.utf8)) as? [String: Any]
            #expect(Set(updated?.keys ?? [:].keys) == ["conversationId", "lastMessageAt", "messageCount"])
            #expect(updated?["messageCount"] as? Int == 1)
            #expect(events[0].id < events[1].id)
            #expect(try await store.realtimeEvents(after: 0, limit: 10).map(\.id) == events.map(\.id))
            #expect(try await store.realtimeEvents(after: events[0].id, limit: 10).map(\.name) == ["conversation:updated"])
        }
    }

    @Test("conversations page by last activity and cursors are opaque", arguments: TestDatabaseKind.all)
    func paging(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            for c in 0..<7 {
                _ = try await store.storeWebhook(
                    body: Webhook.body([Webhook.message(psid: "pg\(c)", mid: "m_pg\(c)", text: "t", timestamp: Int64(10_000 + c))])
                )
            }
            try await InboundDrain(store: store).run()
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await store.conversations(ConversationQuery(limit: 3, cursor: cursor))
                seen += page.items.map(\.contact.psid)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == (0..<7).reversed().map { "pg\($0)" })
            await #expect(throws: SwitchboardError.self) { _ = try await store.conversations(ConversationQuery(cursor: "not-a-cursor")) }
            let first = try #require(try await store.conversations(ConversationQuery(limit: 1)).items.first)
            #expect(first.unreadCount == 1)
            let (read, event) = try await store.markRead(conversationId: first.id)
            #expect(read.unreadCount == 0)
            #expect(event?.name == "conversation:read")
            #expect(try await store.markRead(conversationId: first.id).1 == nil)
        }
    }

    @Test("a fetched profile names the contact; a failed one is recorded", arguments: TestDatabaseKind.all)
    func profiles(kind: TestDatabaseKind) async throws {
        try await TestDatabase.with(kind) { database in
            let store = SQLStore(database: database)
            let hub = RecordingPublisher()
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "prof", mid: "m_prof", text: "hi", timestamp: 1)]))
            try await InboundDrain(store: store, publisher: hub).run()
            let contact = try #require(try await store.conversations(ConversationQuery()).items.first)
            let contactId = try #require(
                try await database.read { try await $0.first("SELECT id FROM contacts WHERE psid = 'prof'") }?.int("id")
            )
            #expect(try await store.contactKey(id: contactId)?.psid == "prof")
            let events = try await store.updateContactProfile(
                id: contactId,
                name: "Ada Lovelace",
                firstName: "Ada",
                lastName: "Lovelace",
                avatarURL: "https://a/x.png",
                error: nil
            )
            #expect(events.map(\.name) == ["contact:updated"])
            let payload = try JSONDecoder().decode(ContactUpdatedPayload.self, from: Data(try #require(events.first).payload.utf8))
            #expect(payload.contact.name == "Ada Lovelace", "the event shows the stored profile")
            #expect(payload.contact.avatarUrl == "https://a/x.png")
            let named = try #require(try await store.conversation(id: contact.id))
            #expect(named.contact.name == "Ada Lovelace")
            #expect(named.contact.avatarUrl == "https://a/x.png")
            _ = try await store.updateContactProfile(id: contactId, name: nil, firstName: nil, lastName: nil, avatarURL: nil, error: "gone")
            #expect(try await store.conversation(id: contact.id)?.contact.name == "Ada Lovelace")
        }
    }

    /// SQLite may report `busy` when many writers race; the worker retries such jobs.
    static func retryingBusy<T>(_ body: () async throws -> T) async throws -> T {
        for _ in 0..<20 {
            do {
                return try await body()
            } catch let failure as SQLFailure where failure.kind == .busy {
                continue
            }
        }
        return try await body()
    }
}

/// Everything a test compares before and after a replay.
struct Snapshot: Equatable {
    var conversations: [Conversation]
    var messages: [Message]
    var counts: StoreCounts

    static func take(_ store: SQLStore) async throws -> Snapshot {
        let conversations = try await store.conversations(ConversationQuery(limit: 500)).items
        var messages: [Message] = []
        for conversation in conversations.sorted(by: { $0.id < $1.id }) {
            messages += try await store.messages(conversationId: conversation.id, limit: 500, before: nil).items
        }
        var counts = try await store.counts()
        // The raw log is append-only by design; what was applied must not change.
        counts.webhooksReceived = 0
        counts.webhooksFailed = 0
        return Snapshot(conversations: conversations, messages: messages, counts: counts)
    }

    static func == (a: Snapshot, b: Snapshot) -> Bool {
        a.conversations == b.conversations && a.messages == b.messages && a.counts == b.counts
    }
}

/// Collects what the workers publish.
actor RecordingPublisher: EventPublisher {
    private(set) var events: [RealtimeEvent] = []
    var names: [String] { events.map(\.name) }

    func publish(_ events: [RealtimeEvent]) async {
        self.events += events
    }
}
