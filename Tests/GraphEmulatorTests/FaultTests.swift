import AsyncHTTPClient
import Foundation
import GraphEmulator
import Messenger
import Testing

@Suite(.timeLimit(.minutes(1))) struct FaultTests {
    func graphError<T>(_ body: () async throws -> T) async -> GraphError? {
        do {
            _ = try await body()
            return nil
        } catch let error as GraphError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    func customer(_ h: Harness) -> CustomerSimulator {
        let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
        h.emulator.setLastInbound(pageId: h.page, psid: c.psid, at: h.emulator.clock.now)
        return c
    }

    @Test func nextSendsAnswerAnInjectedError() async throws {
        try await Harness.run { h in
            let c = customer(h)
            h.emulator.inject(Fault(.graphError(code: 1200), pageId: h.page, psid: c.psid, count: 2))
            for _ in 0..<2 {
                let error = await graphError {
                    try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("x", to: c.psid))
                }
                #expect(error?.status == 500)
                #expect(error?.body?.code == 1200)
                #expect(error.map(GraphErrorClassifier.classify)?.action == .retry)
            }
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("third time", to: c.psid))
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).map(\.text) == ["third time"])
        }
    }

    @Test func nthSendOverall() async throws {
        try await Harness.run { h in
            let c = customer(h)
            h.emulator.inject(Fault(.graphError(code: 551, subcode: 1_545_041), nthSend: 2))
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("1", to: c.psid))
            let second = await graphError {
                try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("2", to: c.psid))
            }
            #expect(second?.body?.code == 551)
            #expect(second.map(GraphErrorClassifier.classify)?.action == .recipientUnreachable)
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("3", to: c.psid))
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).map(\.text) == ["1", "3"])
        }
    }

    @Test func faultsForAnotherCustomerDoNotApply() async throws {
        try await Harness.run { h in
            let c = customer(h)
            h.emulator.inject(Fault(.graphError(code: 2), psid: "someone-else"))
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("fine", to: c.psid))
            h.emulator.clearFaults()
        }
    }

    @Test func cancellingTheCallerEndsAHeldCallAsAmbiguous() async throws {
        // The client's deadline and the emulator's hold both outlast the test's time limit:
        // only the cancellation can end the call.
        try await Harness.run(timeout: .seconds(300)) { h in
            let events = h.emulator.events()
            let c = customer(h)
            h.emulator.inject(Fault(.timeoutAfterAccepting(hold: .seconds(300))))
            let call = Task {
                await graphError {
                    try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("held", to: c.psid))
                }
            }
            for await event in events {
                if case .messageReceived = event { break }
            }
            call.cancel()
            let error = await call.value
            guard case .transport(let failure)? = error?.kind else {
                Issue.record("expected a transport failure, got \(String(describing: error))")
                return
            }
            #expect(failure.isAmbiguous)
        }
    }

    @Test func timeoutAfterAcceptingIsAmbiguousAndTheEchoStillComes() async throws {
        // Long enough that a loaded machine still connects and writes within it (a timeout
        // before sending is another outcome), far shorter than the emulator's hold.
        try await Harness.run(timeout: .seconds(3)) { h in
            var posts = h.receiver.posts.makeAsyncIterator()
            let events = h.emulator.events()
            let c = customer(h)
            h.emulator.inject(Fault(.timeoutAfterAccepting(hold: .seconds(30))))
            let error = await graphError {
                try await h.graph.send(
                    pageId: h.page,
                    token: Harness.token,
                    request: .text("maybe", to: c.psid, metadata: "sb_out_7")
                )
            }
            // Without it, nothing was accepted and the wait for the echo below would not end.
            try #require(error?.kind == .transport(.timedOutAfterSending))
            #expect(error?.isAmbiguous == true)
            #expect(error.map(GraphErrorClassifier.classify)?.isAmbiguous == true)
            // Meta accepted it: the customer has it and the echo carries our metadata.
            for await event in events {
                if case .messageReceived(_, _, let message) = event {
                    #expect(message.text == "maybe")
                    break
                }
            }
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).map(\.text) == ["maybe"])
            let echo = try WebhookReceiver.decode(try #require(await posts.next()))
            guard case .echo(let e) = echo.first?.payload else {
                Issue.record("expected the echo")
                return
            }
            #expect(e.metadata == "sb_out_7")
        }
    }

    @Test func resetAfterReadIsAmbiguousAndDeliversNothing() async throws {
        try await Harness.run { h in
            let c = customer(h)
            h.emulator.inject(Fault(.resetAfterRead()))
            let error = await graphError {
                try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("lost", to: c.psid))
            }
            guard case .transport(let failure)? = error?.kind else {
                Issue.record("expected a transport failure, got \(String(describing: error))")
                return
            }
            #expect(failure.isAmbiguous)
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).isEmpty)

            h.emulator.inject(Fault(.resetAfterRead(deliver: true)))
            _ = await graphError {
                try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("delivered", to: c.psid))
            }
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).map(\.text) == ["delivered"])
        }
    }

    @Test func latencyDelaysButSucceeds() async throws {
        try await Harness.run { h in
            let c = customer(h)
            h.emulator.inject(Fault(.latency(.milliseconds(50))))
            let start = ContinuousClock.now
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("slow", to: c.psid))
            #expect(ContinuousClock.now - start >= .milliseconds(50))
        }
    }

    @Test func sendLatencyDelaysEverySendAndSenderAction() async throws {
        try await Harness.run(configure: { $0.sendLatency = .milliseconds(80) }) { h in
            let c = customer(h)
            for _ in 0..<2 {
                let start = ContinuousClock.now
                _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("far away", to: c.psid))
                #expect(ContinuousClock.now - start >= .milliseconds(80))
            }
            let start = ContinuousClock.now
            _ = try await h.graph.senderAction(pageId: h.page, token: Harness.token, psid: c.psid, action: .typingOn)
            #expect(ContinuousClock.now - start >= .milliseconds(80))
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).map(\.text) == ["far away", "far away"])
        }
    }

    @Test func connectFailureIsNotAmbiguous() async throws {
        let graph = GraphClient(httpClient: .shared, configuration: .init(baseURL: "http://127.0.0.1:1", timeout: .milliseconds(500)))
        let error = await graphError {
            try await graph.send(pageId: "1", token: Harness.token, request: .text("x", to: "2"))
        }
        guard case .transport(let failure)? = error?.kind else {
            Issue.record("expected a transport failure, got \(String(describing: error))")
            return
        }
        #expect(!failure.isAmbiguous)
        #expect(GraphErrorClassifier.classify(try #require(error)).action == .retry)
    }

    @Test func eventsCanBeAwaited() async throws {
        try await Harness.run { h in
            let c = customer(h)
            let events = h.emulator.events()
            h.emulator.inject(Fault(.graphError(code: 10, subcode: 2_018_278)))
            _ = await graphError { try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("x", to: c.psid)) }
            var iterator = events.makeAsyncIterator()
            #expect(await iterator.next() == .sendRefused(pageId: h.page, psid: c.psid, code: 10, subcode: 2_018_278))
        }
    }
}
