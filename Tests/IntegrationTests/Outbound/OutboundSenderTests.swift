import Foundation
import Logging
import Messenger
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import Synchronization
import TestSupport
import Testing

/// A Graph double that records every send and answers from a script.
final class ScriptedGraph: OutboundGraph {
    enum Answer: Sendable {
        case ok
        case error(GraphError)
    }

    private let state = Mutex<(answers: [Answer], sent: [SendRequest], actions: [SenderAction], count: Int)>(([], [], [], 0))

    func script(_ answers: [Answer]) { state.withLock { $0.answers += answers } }
    var sent: [SendRequest] { state.withLock { $0.sent } }
    var actions: [SenderAction] { state.withLock { $0.actions } }

    func send(pageId: String, token: PageAccessToken, request: SendRequest) async throws(GraphError) -> SendResult {
        let answer: Answer = state.withLock {
            $0.count += 1
            return $0.answers.isEmpty ? .ok : $0.answers.removeFirst()
        }
        switch answer {
        case .ok:
            let mid = state.withLock {
                $0.sent.append(request)
                return "m_fake_\($0.count)"
            }
            return SendResult(recipientId: request.recipientPSID, messageId: mid)
        case .error(let error):
            if error.isAmbiguous { state.withLock { $0.sent.append(request) } }
            throw error
        }
    }

    func senderAction(
        pageId: String,
        token: PageAccessToken,
        psid: String,
        action: SenderAction
    ) async throws(GraphError)
        -> BusinessUseCaseUsage?
    {
        state.withLock { $0.actions.append(action) }
        return nil
    }

    static func graph(_ code: Int, _ subcode: Int? = nil, status: Int = 400) -> Answer {
        .error(
            GraphError(
                .http(
                    status: status,
                    body: GraphErrorBody(message: "scripted", type: "OAuthException", code: code, subcode: subcode, fbtraceId: "trace\(code)")
                )
            )
        )
    }
}

/// One store on a manual clock, one conversation, the sender with a scripted Graph.
struct SenderRig {
    static let page = Webhook.page
    static let secret = "test-secret-that-is-long-enough"
    static let pageToken = "EAA-secret-page-token"
    let store: SQLStore
    let clock: ManualWallClock
    let graph: ScriptedGraph
    let sender: OutboundSender
    let conversationId: String
    let publisher: RecordingPublisher

    /// `graph` replaces the scripted Graph (e.g. a `GraphClient` on the emulator); `pacer`
    /// and `configuration` replace the defaults (e.g. a pacer on a manual clock);
    /// `sqliteSync` `.full` makes SQLite's durable commits `fsync`.
    static func with(
        _ kind: TestDatabaseKind,
        inboundAgo: TimeInterval = 60,
        graph outboundGraph: (any OutboundGraph)? = nil,
        pacer: any OutboundPacer = PageSendPacer(),
        configuration: OutboundSenderConfiguration = SenderRig.defaultConfiguration,
        sqliteSync: SQLiteDatabase.Durability = .normal,
        _ body: @Sendable (SenderRig) async throws -> Void
    ) async throws {
        try await TestDatabase.with(kind, sqliteSync: sqliteSync) { database in
            let clock = ManualWallClock()
            let store = SQLStore(database: database, clock: clock)
            let box = SecretBox(secret: secret)
            try await store.savePage(PageRecord(id: page, name: "Shop", sealedAccessToken: try box.seal(pageToken)))
            let inboundAt = clock.now().addingTimeInterval(-inboundAgo).millisecondsSince1970
            _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "cust1", mid: "m_in_1", text: "hi", timestamp: inboundAt)]))
            try await InboundDrain(store: store).run()
            let conversation = try #require(try await store.conversations(ConversationQuery()).items.first)
            let graph = ScriptedGraph()
            let publisher = RecordingPublisher()
            let sender = OutboundSender(
                store: store,
                queue: store.queue,
                graph: outboundGraph ?? graph,
                box: box,
                publisher: publisher,
                pacer: pacer,
                clock: clock,
                configuration: configuration,
                logger: TestDatabase.logger
            )
            try await body(
                SenderRig(store: store, clock: clock, graph: graph, sender: sender, conversationId: conversation.id, publisher: publisher)
            )
        }
    }

    static let defaultConfiguration = OutboundSenderConfiguration(
        echoWait: .seconds(10),
        backoff: Backoff(base: .seconds(1), cap: .seconds(8)),
        maxRetryableAttempts: 3,
        reauthorizationRecheck: .seconds(60)
    )

    /// Stores a webhook from the customer (a message `secondsAgo` on the rig's clock) or,
    /// with `echoOf`, the echo of our message with its id in `metadata`, and applies it.
    func inbound(_ text: String, mid: String, secondsAgo: TimeInterval = 0, echoOf messageId: String? = nil) async throws {
        let timestamp = clock.now().addingTimeInterval(-secondsAgo).millisecondsSince1970
        let event =
            if let messageId {
                #"{"sender":{"id":"\#(Self.page)"},"recipient":{"id":"cust1"},"timestamp":\#(timestamp),"message":{"mid":"\#(mid)","is_echo":true,"app_id":"app-ours","metadata":"\#(messageId)","text":"\#(text)"}}"#
            } else {
                Webhook.message(psid: "cust1", mid: mid, text: text, timestamp: timestamp)
            }
        _ = try await store.storeWebhook(body: Webhook.body([event]))
        try await drain()
    }

    @discardableResult
    func queue(_ text: String, author: MessageAuthor = .agent, clientId: String? = nil) async throws -> Message {
        try await store.enqueueOutbound(
            OutboundDraft(conversationId: conversationId, text: text, clientId: clientId ?? UUID().uuidString, author: author)
        ).message
    }

    /// Runs every runnable job now (sends through the sender, inbound through the inbound handlers).
    @discardableResult
    func drain() async throws -> Int {
        var count = 0
        let split = SplitWebhookHandler(store: store, logger: TestDatabase.logger)
        let apply = ApplyInboundHandler(store: store, queue: store.queue, publisher: publisher, ourAppId: "app-ours", logger: TestDatabase.logger)
        while let job = try await store.queue.claim(limit: 1, worker: "rig", lease: .seconds(600)).first {
            switch job.kind {
            case .sendMessage: try await sender.handle(job)
            case .splitWebhook: try await split.handle(job)
            case .applyInbound: try await apply.handle(job)
            default: try await store.queue.complete(job)
            }
            count += 1
        }
        return count
    }

    func message(_ id: String) async throws -> Message {
        try #require(try await store.outboundSendContext(messageId: id)?.message)
    }

    func sendJobs() async throws -> Int { try await store.queue.stats().byKind[JobKind.sendMessage.rawValue] ?? 0 }
}

@Suite("Outbound sender", .timeLimit(.minutes(2)))
struct OutboundSenderTests {
    @Test("a queued message is sent with our id in metadata, sent_at and message:sent", arguments: TestDatabaseKind.all)
    func sends(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind) { rig in
            let queued = try await rig.queue("hello")
            #expect(queued.status == .queued)
            #expect(queued.author == .agent)
            try await rig.drain()
            let sent = try await rig.message(queued.id)
            #expect(sent.status == .sent)
            #expect(sent.facebookMessageId == "m_fake_1")
            #expect(sent.sentAt != nil)
            #expect(rig.graph.sent.map(\.metadata) == [queued.id])
            #expect(rig.graph.sent.first?.messagingType == .response)
            #expect(await rig.publisher.names.suffix(2) == ["message:sent", "message:status"])
            let logged = try await rig.store.realtimeEvents(after: 0, limit: 100).map(\.name)
            #expect(logged.contains("message:sent"))
            #expect(try await rig.sendJobs() == 0)
        }
    }

    @Test(
        "with Meta's clock behind ours, the echo dates the sent message in Meta's time and its read watermark reads it",
        arguments: TestDatabaseKind.all
    )
    func watermarksCountInMetasTime(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind) { rig in
            let queued = try await rig.queue("hello")
            try await rig.drain()
            #expect(try await rig.message(queued.id).status == .sent)
            // Meta dated the message 2 s before our clock did; its echo comes after the answer.
            try await rig.inbound("hello", mid: "m_fake_1", secondsAgo: 2, echoOf: queued.id)
            let metaTime = rig.clock.now().addingTimeInterval(-2).millisecondsSince1970
            let read =
                #"{"sender":{"id":"cust1"},"recipient":{"id":"\#(SenderRig.page)"},"timestamp":\#(metaTime + 5),"read":{"watermark":\#(metaTime)}}"#
            _ = try await rig.store.storeWebhook(body: Webhook.body([read]))
            try await rig.drain()
            let message = try await rig.message(queued.id)
            #expect(message.status == .read)
            #expect(message.readAt != nil)
            let thread = try await rig.store.messages(conversationId: rig.conversationId, limit: 50, before: nil).items
            #expect(thread.filter { $0.direction == .outbound }.count == 1, "the echo is not a second row")
        }
    }

    @Test("an echo without our id that became its own row is merged into ours when Meta's answer comes", arguments: TestDatabaseKind.all)
    func echoRowMergesIntoOurs(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind) { rig in
            let now = rig.clock.now().millisecondsSince1970
            let echo =
                #"{"sender":{"id":"\#(SenderRig.page)"},"recipient":{"id":"cust1"},"timestamp":\#(now),"message":{"mid":"m_fake_1","is_echo":true,"app_id":"app-ours","text":"hello"}}"#
            _ = try await rig.store.storeWebhook(body: Webhook.body([echo]))
            try await rig.drain()
            var outbound = try await rig.store.messages(conversationId: rig.conversationId, limit: 50, before: nil).items.filter {
                $0.direction == .outbound
            }
            #expect(outbound.map(\.facebookMessageId) == ["m_fake_1"], "the echo, on its own")

            let queued = try await rig.queue("hello")
            try await rig.drain()
            outbound = try await rig.store.messages(conversationId: rig.conversationId, limit: 50, before: nil).items.filter {
                $0.direction == .outbound
            }
            #expect(outbound.map(\.id) == [queued.id])
            #expect(outbound.first?.facebookMessageId == "m_fake_1")
            #expect(outbound.first?.status == .sent)
        }
    }

    @Test("a delivery and a read in one POST publish one message:status, the read", arguments: TestDatabaseKind.all)
    func oneStatusEventPerMessageAndPost(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind) { rig in
            let first = try await rig.queue("one")
            let second = try await rig.queue("two")
            try await rig.drain()
            let before = await rig.publisher.events.count
            let now = rig.clock.now().millisecondsSince1970
            let customer = #""sender":{"id":"cust1"},"recipient":{"id":"\#(SenderRig.page)"},"timestamp":\#(now)"#
            _ = try await rig.store.storeWebhook(
                body: Webhook.body([
                    #"{\#(customer),"delivery":{"mids":["m_fake_1","m_fake_2"],"watermark":\#(now)}}"#,
                    #"{\#(customer),"read":{"watermark":\#(now)}}"#,
                ])
            )
            try await rig.drain()
            let statuses = await rig.publisher.events.dropFirst(before).filter { $0.name == "message:status" }
            #expect(statuses.count == 2, "one per message")
            for event in statuses {
                let payload = try JSONSerialization.jsonObject(with: Data(event.payload.utf8)) as? [String: Any]
                #expect(payload?["status"] as? String == "read", "\(event.payload)")
            }
            #expect(try await rig.message(first.id).status == .read)
            #expect(try await rig.message(second.id).status == .read)
        }
    }

    @Test("windows at 23 h 59 m and 24 h 1 m (human and bot), closed after 7 d 1 m", arguments: TestDatabaseKind.all)
    func windows(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind, inboundAgo: 0) { rig in
            rig.clock.advance(by: 23 * 3600 + 59 * 60)
            let open = try await rig.queue("inside 24 h")
            try await rig.drain()
            #expect(try await rig.message(open.id).status == .sent)
            #expect(rig.graph.sent.last?.messagingType == .response)

            rig.clock.advance(by: 2 * 60)  // 24 h 1 m
            let human = try await rig.queue("a person writes", author: .agent)
            let bot = try await rig.queue("the bot writes", author: .bot)
            try await rig.drain()
            #expect(try await rig.message(human.id).status == .sent)
            #expect(rig.graph.sent.last?.messagingType == .messageTag(.humanAgent))
            let refused = try await rig.message(bot.id)
            #expect(refused.status == .failed)
            #expect(refused.error?.kind == "window.automation_after_24h")
            #expect(rig.graph.sent.count == 2)

            let late = try await rig.queue("queued before the window closed")
            rig.clock.advance(by: 6 * 86400)  // 7 d 1 m
            try await rig.drain()
            let closed = try await rig.message(late.id)
            #expect(closed.status == .failed)
            #expect(closed.error?.kind == "window.closed")
            #expect(closed.error?.message.contains("7 days") == true)
            #expect(rig.graph.sent.count == 2)
        }
    }

    @Test("terminal errors fail the message with code, subcode, fbtrace_id and a sentence; the next goes on", arguments: TestDatabaseKind.all)
    func terminalErrors(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind) { rig in
            let cases: [(ScriptedGraph.Answer, String)] = [
                (ScriptedGraph.graph(10, 2_018_278), "graph.window_closed"),
                (ScriptedGraph.graph(100), "graph.invalid_parameter"),
                (ScriptedGraph.graph(200, 2_018_028), "graph.app_not_approved"),
                (ScriptedGraph.graph(10, 1_893_063), "graph.page_restricted"),
            ]
            rig.graph.script(cases.map(\.0))
            var ids: [String] = []
            for n in cases.indices { ids.append(try await rig.queue("m\(n)").id) }
            let last = try await rig.queue("after the failures")
            try await rig.drain()
            for (id, expected) in zip(ids, cases) {
                let message = try await rig.message(id)
                #expect(message.status == .failed)
                #expect(message.error?.kind == expected.1)
                #expect(message.error?.code != nil)
                #expect(message.error?.fbtraceId?.hasPrefix("trace") == true)
                #expect(message.error?.message.isEmpty == false)
            }
            #expect(try await rig.message(ids[1]).error?.subcode == nil)
            #expect(try await rig.message(ids[0]).error?.subcode == 2_018_278)
            #expect(try await rig.message(last.id).status == .sent)
            #expect(try await rig.store.conversation(id: rig.conversationId)?.contact.unreachable == false)

            // The codes saying the person cannot be reached mark the contact: the next
            // message fails before calling Meta, until the customer writes again.
            for (answer, kind) in [
                (ScriptedGraph.graph(551, 1_545_041), "graph.recipient_unreachable"), (ScriptedGraph.graph(100, 2_018_001), "graph.no_matching_user"),
            ] {
                rig.graph.script([answer])
                let refused = try await rig.queue("refused")
                let blocked = try await rig.queue("blocked")
                try await rig.drain()
                #expect(try await rig.message(refused.id).error?.kind == kind)
                #expect(try await rig.message(refused.id).error?.fbtraceId?.hasPrefix("trace") == true)
                #expect(try await rig.message(blocked.id).error?.kind == "contact.unreachable")
                #expect(try await rig.store.conversation(id: rig.conversationId)?.contact.unreachable == true)
                rig.clock.advance(by: 1)
                try await rig.inbound("back again", mid: "m_back_\(kind)")
                #expect(try await rig.store.conversation(id: rig.conversationId)?.contact.unreachable == false)
            }
            #expect(rig.graph.sent.count == 1)
        }
    }

    @Test("retryable errors back off and keep the order; too many fail the message", arguments: TestDatabaseKind.all)
    func retryableErrors(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind) { rig in
            rig.graph.script([ScriptedGraph.graph(1200, status: 500), ScriptedGraph.graph(17)])
            let first = try await rig.queue("first")
            let second = try await rig.queue("second")
            try await rig.drain()
            // Backing off: nothing else of this conversation may go first.
            #expect(try await rig.message(first.id).status == .queued)
            #expect(try await rig.message(second.id).status == .queued)
            #expect(rig.graph.sent.isEmpty)
            for _ in 0..<3 {
                rig.clock.advance(by: 10)
                try await rig.drain()
            }
            #expect(try await rig.message(first.id).status == .sent)
            #expect(try await rig.message(second.id).status == .sent)
            #expect(rig.graph.sent.map(\.metadata) == [first.id, second.id])

            rig.graph.script(Array(repeating: ScriptedGraph.graph(1200, status: 500), count: 3))
            let doomed = try await rig.queue("never goes")
            for _ in 0..<4 {
                try await rig.drain()
                rig.clock.advance(by: 10)
            }
            let failed = try await rig.message(doomed.id)
            #expect(failed.status == .failed)
            #expect(failed.error?.code == 1200)
            #expect(failed.error?.kind == "graph.temporary")
        }
    }

    @Test("613 pauses the Page: the message waits, nothing fails, no call is made meanwhile", arguments: TestDatabaseKind.all)
    func throttled(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind) { rig in
            rig.graph.script([ScriptedGraph.graph(613)])
            let first = try await rig.queue("throttled")
            let second = try await rig.queue("behind it")
            try await rig.drain()
            rig.clock.advance(by: 61)
            try await rig.drain()
            #expect(try await rig.message(first.id).status == .queued)
            #expect(try await rig.message(second.id).status == .queued)
            #expect(rig.graph.sent.isEmpty)
            #expect(try await rig.sendJobs() == 2)
        }
    }

    @Test("190 parks the Page's sends until a new token is saved", arguments: TestDatabaseKind.all)
    func throttleAndReauthorization(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind) { rig in
            rig.graph.script([ScriptedGraph.graph(190)])
            let waiting = try await rig.queue("waits for a token")
            try await rig.drain()
            #expect(try await rig.store.page(id: SenderRig.page)?.state == .reauthorizationRequired)
            #expect(try await rig.message(waiting.id).status == .queued)
            rig.clock.advance(by: 120)
            try await rig.drain()
            // Still parked: the Page needs a new token, no call is made.
            #expect(rig.graph.sent.isEmpty)
            #expect(try await rig.message(waiting.id).status == .queued)

            let box = SecretBox(secret: SenderRig.secret)
            try await rig.store.savePage(PageRecord(id: SenderRig.page, name: "Shop", sealedAccessToken: try box.seal("EAA-new-token")))
            try await rig.store.resumeSends(pageId: SenderRig.page)
            try await rig.drain()
            #expect(try await rig.message(waiting.id).status == .sent)
        }
    }

    @Test("after a timeout the sender waits for the echo and never sends twice", arguments: TestDatabaseKind.all)
    func ambiguousWaitsForEcho(kind: TestDatabaseKind) async throws {
        try await SenderRig.with(kind) { rig in
            rig.graph.script([.error(GraphError(.transport(.timedOutAfterSending)))])
            let message = try await rig.queue("maybe sent")
            try await rig.drain()
            #expect(try await rig.message(message.id).status == .queued)
            // The echo with our id arrives while the sender waits.
            try await rig.inbound("maybe sent", mid: "m_echo_1", echoOf: message.id)
            rig.clock.advance(by: 11)
            try await rig.drain()
            let reconciled = try await rig.message(message.id)
            #expect(reconciled.status == .sent)
            #expect(reconciled.facebookMessageId == "m_echo_1")
            #expect(rig.graph.sent.count == 1)
            #expect(try await rig.sendJobs() == 0)
            let thread = try await rig.store.messages(conversationId: rig.conversationId, limit: 50, before: nil).items
            #expect(thread.filter { $0.direction == .outbound }.count == 1)

            // No echo: after the wait it is sent again.
            rig.graph.script([.error(GraphError(.transport(.timedOutAfterSending)))])
            let lost = try await rig.queue("lost")
            try await rig.drain()
            rig.clock.advance(by: 11)
            try await rig.drain()
            #expect(try await rig.message(lost.id).status == .sent)
        }
    }
}
