import AsyncHTTPClient
import Foundation
import GraphEmulator
import Logging
import Messenger
import NIOHTTP1
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct PageSideTests {
    @Test func pageInboxReplyComesAsAnotherAppsEcho() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            let mid = h.emulator.replyFromPageInbox(pageId: h.page, psid: c.psid, text: "Dana here, from the shop.")
            let echo = try WebhookReceiver.decode(try #require(await posts.next()))
            #expect(echo.first?.payload == .echo(Echo(mid: mid, appId: "263902037430900", text: "Dana here, from the shop.")))
            #expect(echo.first?.customerId == c.psid)
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).map(\.mid) == [mid])
        }
    }

    @Test func handoverEvents() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            #expect(
                await h.emulator.postHandover(
                    pageId: h.page,
                    psid: c.psid,
                    .take(newOwnerAppId: GraphEmulator.pageInboxAppId, previousOwnerAppId: "947561230458812"),
                    metadata: "agent took over"
                )
            )
            let events = try WebhookReceiver.decode(try #require(await posts.next()))
            #expect(
                events.first?.payload
                    == .takeThreadControl(
                        ThreadControl(newOwnerAppId: "263902037430900", previousOwnerAppId: "947561230458812", metadata: "agent took over")
                    )
            )
        }
    }

    @Test func standbyEditAndDuplicates() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let c = h.emulator.addCustomer(
                pageId: h.page,
                firstName: "Ana",
                lastName: "Silva",
                options: .init(duplicateProbability: 1, standby: true)
            )
            let mid = try await c.say("while another app owns the thread")
            let first = try #require(await posts.next())
            let duplicate = try #require(await posts.next())
            #expect(first.body == duplicate.body)
            let events = try WebhookReceiver.decode(first)
            #expect(events.first?.channel == .standby)
            #expect(events.first?.payload.mid == mid)

            try await c.edit(mid, newText: "edited")
            let edit = try WebhookReceiver.decode(try #require(await posts.next()))
            #expect(edit.first?.payload == .messageEdit(MessageEdit(mid: mid, text: "edited", numberOfEdits: 1)))
        }
    }

    @Test func webhookVerificationHandshake() async throws {
        try await Harness.run { h in
            #expect(await h.emulator.verifyWebhook(verifyToken: WebhookReceiver.verifyToken))
            #expect(!(await h.emulator.verifyWebhook(verifyToken: "wrong")))
        }
    }

    /// Invariant 8: the typed client keeps the token out of URLs and logs.
    @Test func tokenStaysOutOfURLsAndLogs() async throws {
        let sink = LogSink()
        let logger = Logger(label: "capture") { _ in CapturingLogHandler(sink: sink) }
        try await Harness.run { h in
            let graph = GraphClient(httpClient: .shared, configuration: h.graph.configuration, logger: logger)
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            _ = try await graph.userProfile(psid: c.psid, token: Harness.token)
            _ = try? await graph.send(pageId: h.page, token: Harness.token, request: .text("outside window", to: c.psid))
            _ = try? await graph.send(pageId: h.page, token: PageAccessToken("EAAwrong-token"), request: .text("x", to: c.psid))
            #expect(h.emulator.tokensSeenInURL == 0)
            _ = try await h.raw(.GET, "/v25.0/me?access_token=\(Harness.token.exposedValue)")
            #expect(h.emulator.tokensSeenInURL == 1)
        }
        let logged = sink.lines.withLock { $0 }
        #expect(logged.count >= 2)
        #expect(!logged.contains { $0.contains(Harness.token.exposedValue) || $0.contains("EAAwrong") })
    }
}

final class LogSink: Sendable {
    let lines = Mutex<[String]>([])
}

struct CapturingLogHandler: LogHandler {
    let sink: LogSink
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let text = "\(event.message) \(event.metadata ?? [:]) \(metadata)"
        sink.lines.withLock { $0.append(text) }
    }
}

@Suite(.timeLimit(.minutes(1))) struct ReceiptAndBatchTests {
    func kinds(_ h: Harness, _ count: Int, _ posts: inout AsyncStream<WebhookReceiver.Post>.Iterator) async throws -> [String] {
        try await WebhookReceiver.events(count, from: &posts).map(\.payload.kind)
    }

    @Test func readBeforeDeliveryAndDuplicates() async throws {
        try await Harness.run(configure: { $0.receiptOrder = .readBeforeDelivery }) { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            try await c.say("hi")
            _ = await posts.next()
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("one", to: c.psid))
            #expect(try await kinds(h, 3, &posts) == ["message_echoes", "message_reads", "message_deliveries"])

            h.emulator.setReceiptOrder(.duplicated)
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("two", to: c.psid))
            #expect(
                try await kinds(h, 6, &posts) == [
                    "message_echoes", "message_echoes", "message_deliveries", "message_deliveries", "message_reads",
                    "message_reads",
                ]
            )
        }
    }

    @Test("receipts due together share a POST, Pages and customers in their order")
    func receiptsAreBatched() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let a = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            let b = h.emulator.addCustomer(pageId: h.page, firstName: "Jonas", lastName: "Berg")
            for customer in [a, b] {
                try await customer.say("hi")
                _ = await posts.next()
            }
            var mids: [String] = []
            for n in 0..<10 {
                let psid = n.isMultiple(of: 2) ? a.psid : b.psid
                mids.append(try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("reply \(n)", to: psid)).messageId)
            }
            var events: [WebhookEvent] = []
            var postCount = 0
            while events.count < 30 {
                let batch = try WebhookReceiver.decode(try #require(await posts.next()))
                // A send's echo, delivery and read are queued at once: never split over POSTs.
                #expect(batch.count.isMultiple(of: 3))
                events += batch
                postCount += 1
            }
            #expect(postCount <= 10)
            for (n, mid) in mids.enumerated() {
                let receipts = Array(events[(3 * n)..<(3 * n + 3)])
                #expect(receipts.map(\.payload.kind) == ["message_echoes", "message_deliveries", "message_reads"])
                #expect(receipts.allSatisfy { $0.customerId == (n.isMultiple(of: 2) ? a.psid : b.psid) })
                guard case .echo(let echo) = receipts[0].payload else { continue }
                #expect(echo.mid == mid)
            }
        }
    }

    @Test func severalCustomersInOnePost() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let a = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            let b = h.emulator.addCustomer(pageId: h.page, firstName: "Jonas", lastName: "Berg")
            let mids = try await h.emulator.postBatch(
                pageId: h.page,
                [(a.psid, "from Ana"), (b.psid, "from Jonas"), (a.psid, "Ana again")],
                entries: 2
            )
            let events = try WebhookReceiver.decode(try #require(await posts.next()))
            #expect(events.map(\.customerId) == [a.psid, b.psid, a.psid])
            #expect(events.map(\.payload.mid) == mids)
            // Both windows are open now.
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("hi Jonas", to: b.psid))
        }
    }
}
