import Foundation
import GraphEmulator
import Messenger
import Testing

@Suite(.timeLimit(.minutes(1))) struct SendFlowTests {
    @Test func customerWritesThenPageAnswersWithEchoDeliveryReadInOrder() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let ana = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            let inboundMid = try await ana.say("Is the blue jacket in stock?")

            let inbound = try WebhookReceiver.decode(try #require(await posts.next()))
            #expect(inbound.count == 1)
            #expect(inbound[0].pageId == h.page)
            #expect(inbound[0].customerId == ana.psid)
            #expect(inbound[0].payload == .message(InboundMessage(mid: inboundMid, text: "Is the blue jacket in stock?")))

            let result = try await h.graph.send(
                pageId: h.page,
                token: Harness.token,
                request: .text("Yes, in M and L.", to: ana.psid, metadata: "sb_out_42")
            )
            #expect(result.recipientId == ana.psid)
            #expect(result.usage?.percent(for: h.page) ?? -1 >= 0)

            let receipts = try await WebhookReceiver.events(3, from: &posts)
            guard receipts.count == 3, case .echo(let e) = receipts[0].payload else {
                Issue.record("expected an echo, got \(receipts)")
                return
            }
            #expect(e.mid == result.messageId)
            #expect(e.metadata == "sb_out_42")
            #expect(e.appId == "947561230458812")
            #expect(e.text == "Yes, in M and L.")
            #expect(receipts[0].customerId == ana.psid)
            guard case .delivery(let d) = receipts[1].payload, case .read(let r) = receipts[2].payload else {
                Issue.record("expected delivery then read")
                return
            }
            #expect(d.mids == [result.messageId])
            #expect(d.watermark == receipts[0].timestamp)
            #expect(r.watermark == receipts[0].timestamp)

            #expect(h.emulator.received(pageId: h.page, psid: ana.psid).map(\.text) == ["Yes, in M and L."])
            #expect(h.emulator.received(pageId: h.page, psid: ana.psid).first?.metadata == "sb_out_42")
        }
    }

    @Test func legacySHA1HeaderIsAlsoSent() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let customer = h.emulator.addCustomer(pageId: h.page, firstName: "Jonas", lastName: "Berg")
            try await customer.say("hallo")
            let post = try #require(await posts.next())
            #expect(post.signature1 == WebhookSignature.signLegacySHA1(body: post.body, appSecret: Harness.secret))
            #expect(post.signature256?.hasPrefix("sha256=") == true)
        }
    }

    @Test func customerWithoutReadReceiptsGetsNoRead() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let mei = h.emulator.addCustomer(pageId: h.page, firstName: "Mei", lastName: "Tanaka", readsMessages: false)
            try await mei.say("hi")
            _ = await posts.next()
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("one", to: mei.psid))
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("two", to: mei.psid))
            let kinds = try await WebhookReceiver.events(4, from: &posts).map(\.payload.kind)
            #expect(kinds == ["message_echoes", "message_deliveries", "message_echoes", "message_deliveries"])
        }
    }

    @Test func batchedCustomerMessagesArriveInOnePost() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            var omar = h.emulator.addCustomer(pageId: h.page, firstName: "Omar", lastName: "Haddad")
            omar.options.entriesPerPost = 2
            let mids = try await omar.say(["one", "two", "three"])
            let post = try #require(await posts.next())
            let events = try WebhookReceiver.decode(post)
            #expect(events.count == 3)
            #expect(events.compactMap { if case .message(let m) = $0.payload { m.mid } else { nil } } == mids)
            let root = try JSONSerialization.jsonObject(with: Data(post.body)) as? [String: Any]
            #expect((root?["entry"] as? [Any])?.count == 2)
        }
    }

    @Test func customerRetriesUntilAcknowledged() async throws {
        try await Harness.run(receiverStatuses: [500, 503]) { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let lucia = h.emulator.addCustomer(pageId: h.page, firstName: "Lucía", lastName: "Fernández")
            let mid = try await lucia.say("¿Hola?")
            let first = try #require(await posts.next())
            let second = try #require(await posts.next())
            let third = try #require(await posts.next())
            #expect(first.body == second.body)
            #expect(second.body == third.body)
            #expect(try WebhookReceiver.decode(third).first?.payload == .message(InboundMessage(mid: mid, text: "¿Hola?")))
        }
    }

    @Test func customerGivesUpAfterMaxAttempts() async throws {
        try await Harness.run(receiverStatuses: [500, 500, 500], configure: { $0.webhookMaxAttempts = 3 }) { h in
            let customer = h.emulator.addCustomer(pageId: h.page, firstName: "A", lastName: "B")
            await #expect(throws: CustomerSimulator.DeliveryFailed.self) {
                try await customer.say("lost")
            }
        }
    }

    @Test func customerEventsOfEveryKindDecode() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            let image = try await c.send(attachment: "image", url: "https://example.com/a.jpg")
            let quick = try await c.tapQuickReply(title: "Size M", payload: "SIZE_M")
            let postback = try await c.postback(
                title: "Get Started",
                payload: "GET_STARTED",
                referral: Referral(ref: "ad", source: "ADS", type: "OPEN_THREAD")
            )
            try await c.react(to: image)
            try await c.unreact(from: image)
            var payloads: [WebhookPayload] = []
            for _ in 0..<5 { payloads += try WebhookReceiver.decode(try #require(await posts.next())).map(\.payload) }
            #expect(
                payloads == [
                    .message(InboundMessage(mid: image, attachments: [WebhookAttachment(type: "image", url: "https://example.com/a.jpg")])),
                    .message(InboundMessage(mid: quick, text: "Size M", quickReplyPayload: "SIZE_M")),
                    .postback(
                        Postback(
                            mid: postback,
                            title: "Get Started",
                            payload: "GET_STARTED",
                            referral: Referral(ref: "ad", source: "ADS", type: "OPEN_THREAD")
                        )
                    ),
                    .reaction(Reaction(mid: image, action: .react, reaction: "love", emoji: "❤")),
                    .reaction(Reaction(mid: image, action: .unreact)),
                ]
            )
        }
    }

    @Test func senderActionsAreRecordedWithoutWebhooks() async throws {
        try await Harness.run { h in
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            h.emulator.setLastInbound(pageId: h.page, psid: c.psid, at: h.emulator.clock.now)
            try await h.graph.senderAction(pageId: h.page, token: Harness.token, psid: c.psid, action: .typingOn)
            try await h.graph.senderAction(pageId: h.page, token: Harness.token, psid: c.psid, action: .markSeen)
            #expect(h.emulator.senderActions(pageId: h.page, psid: c.psid).map(\.action) == ["typing_on", "mark_seen"])
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).isEmpty)
            #expect(h.emulator.sendCount == 0)
        }
    }
}
