import GraphEmulator
import Messenger
import Testing

@Suite(.timeLimit(.minutes(1))) struct DemoTrafficTests {
    @Test func demoCustomersWriteAndGetAnswers() async throws {
        try await Harness.run { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let demo = DemoTrafficService(
                emulator: h.emulator,
                pageId: h.page,
                options: .init(interval: .milliseconds(1), duplicateProbability: 0, limit: 3)
            )
            try await demo.run()
            #expect(h.emulator.customers(pageId: h.page).count == 5)
            var inbound: [WebhookEvent] = []
            for _ in 0..<3 { inbound += try WebhookReceiver.decode(try #require(await posts.next())) }
            #expect(inbound.count == 3)
            #expect(inbound.allSatisfy { $0.payload.kind == "messages" })

            // The demo Page answers the first writer through the Send API: echo comes back.
            let first = try #require(inbound.first)
            let sent = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("Hello!", to: first.customerId))
            let echo = try WebhookReceiver.decode(try #require(await posts.next()))
            #expect(echo.first?.payload.mid == sent.messageId)
        }
    }
}
