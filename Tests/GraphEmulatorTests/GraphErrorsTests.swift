import Foundation
import GraphEmulator
import Messenger
import NIOHTTP1
import Testing

@Suite(.timeLimit(.minutes(1))) struct GraphErrorsTests {
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

    @Test func errorShapes() async throws {
        try await Harness.run { h in
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            h.emulator.setLastInbound(pageId: h.page, psid: c.psid, at: h.emulator.clock.now)

            let long = await graphError {
                try await h.graph.send(
                    pageId: h.page,
                    token: Harness.token,
                    request: .text(String(repeating: "a", count: 2001), to: c.psid)
                )
            }
            #expect(long?.status == 400)
            #expect(long?.body?.code == 100)
            #expect(long?.body?.type == "OAuthException")
            #expect(long?.body?.fbtraceId?.isEmpty == false)

            let exactly2000 = try await h.graph.send(
                pageId: h.page,
                token: Harness.token,
                request: .text(String(repeating: "é", count: 2000), to: c.psid)
            )
            #expect(!exactly2000.messageId.isEmpty)

            let unknown = await graphError {
                try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("hi", to: "1234"))
            }
            #expect(unknown?.body?.code == 100)
            #expect(unknown?.body?.subcode == 2_018_001)
            #expect(unknown.map(GraphErrorClassifier.classify)?.action == .recipientUnreachable)

            let badToken = await graphError {
                try await h.graph.send(pageId: h.page, token: PageAccessToken("nope"), request: .text("hi", to: c.psid))
            }
            #expect(badToken?.body?.code == 190)
            #expect(badToken?.body?.type == "OAuthException")
            #expect(badToken.map(GraphErrorClassifier.classify)?.action == .reauthorize)

            let otherPage = await graphError {
                try await h.graph.send(pageId: "204123456789099", token: Harness.token, request: .text("hi", to: c.psid))
            }
            #expect(otherPage?.body?.code == 100)
            #expect(otherPage?.body?.type == "GraphMethodException")

            let tooManyQuickReplies = SendRequest(
                recipientPSID: c.psid,
                content: .text("pick"),
                quickReplies: (0..<14).map { QuickReply(title: "\($0)", payload: "P\($0)") }
            )
            #expect(
                await graphError { try await h.graph.send(pageId: h.page, token: Harness.token, request: tooManyQuickReplies) }?.body?.code == 100
            )

            let both = try await h.raw(
                .POST,
                "/v25.0/me/messages",
                json: #"{"recipient":{"id":"\#(c.psid)"},"sender_action":"typing_on","message":{"text":"x"}}"#,
                bearer: Harness.token.exposedValue
            )
            #expect(both.status == 400)
            #expect(both.body.contains(#""code":100"#))
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).count == 1)
        }
    }

    @Test func tokenInQueryIsAcceptedAsGraphDoes() async throws {
        try await Harness.run { h in
            let me = try await h.raw(.GET, "/v19.0/me?access_token=\(Harness.token.exposedValue)")
            #expect(me.status == 200)
            #expect(me.body.contains(h.page))
            let missing = try await h.raw(.GET, "/v25.0/me")
            #expect(missing.status == 400)
        }
    }

    @Test func windowIsEnforcedOnTheEmulatorClock() async throws {
        try await Harness.run { h in
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            try await c.say("hi")
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("inside", to: c.psid))

            h.emulator.clock.advance(by: 24 * 3600 + 60)
            let outside = await graphError {
                try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("late", to: c.psid))
            }
            #expect(outside?.body?.code == 10)
            #expect(outside?.body?.subcode == 2_018_278)
            #expect(outside.map(GraphErrorClassifier.classify)?.action == .windowClosed)
            let typing = await graphError {
                try await h.graph.senderAction(pageId: h.page, token: Harness.token, psid: c.psid, action: .typingOn)
            }
            #expect(typing?.body?.subcode == 2_018_278)

            let human = try await h.graph.send(
                pageId: h.page,
                token: Harness.token,
                request: .text("a person answers", to: c.psid, messagingType: .messageTag(.humanAgent))
            )
            #expect(!human.messageId.isEmpty)
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).last?.tag == "HUMAN_AGENT")

            h.emulator.clock.advance(by: 6 * 86400)
            let week = await graphError {
                try await h.graph.send(
                    pageId: h.page,
                    token: Harness.token,
                    request: .text("too late", to: c.psid, messagingType: .messageTag(.humanAgent))
                )
            }
            #expect(week?.body?.subcode == 2_018_278)

            try await c.say("back again")
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("welcome back", to: c.psid))
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).map(\.text) == ["inside", "a person answers", "welcome back"])
        }
    }

    /// 102 calls against a budget of 101: the percentage rounds down to 100, the call still fails.
    @Test func budgetAbove100CallsPerSecond() async throws {
        let clock = EmulatorClock(frozenAt: Date())
        try await Harness.run(
            clock: clock,
            configure: {
                $0.callsPerSecondPerPage = 101
                $0.throttleCode = 32
            }
        ) { h in
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            h.emulator.setLastInbound(pageId: h.page, psid: c.psid, at: clock.now)
            // Sequential: a flood of parallel calls starves the other tests on a loaded machine.
            for _ in 0..<101 {
                try await h.graph.senderAction(pageId: h.page, token: Harness.token, psid: c.psid, action: .typingOn)
            }
            let refused = await graphError {
                try await h.graph.senderAction(pageId: h.page, token: Harness.token, psid: c.psid, action: .typingOff)
            }
            #expect(refused?.body?.code == 32)
            #expect(refused.map(GraphErrorClassifier.classify)?.action == .pausePage)
        }
    }

    @Test func rateLimitGivesUsageHeaderThen613() async throws {
        let clock = EmulatorClock(frozenAt: Date())
        try await Harness.run(clock: clock, configure: { $0.callsPerSecondPerPage = 2 }) { h in
            let c = h.emulator.addCustomer(pageId: h.page, firstName: "Ana", lastName: "Silva")
            h.emulator.setLastInbound(pageId: h.page, psid: c.psid, at: clock.now)
            let first = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("1", to: c.psid))
            #expect(first.usage?.percent(for: h.page) == 50)
            let second = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("2", to: c.psid))
            #expect(second.usage?.percent(for: h.page) == 100)
            let third = await graphError {
                try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("3", to: c.psid))
            }
            #expect(third?.body?.code == 613)
            #expect(third?.usage?.regainAccessAfter(for: h.page) == .seconds(60))
            let verdict = third.map(GraphErrorClassifier.classify)
            #expect(verdict?.action == .pausePage)
            #expect(verdict?.pauseFor == .seconds(60))
            clock.advance(by: 1)
            _ = try await h.graph.send(pageId: h.page, token: Harness.token, request: .text("4", to: c.psid))
            #expect(h.emulator.received(pageId: h.page, psid: c.psid).map(\.text) == ["1", "2", "4"])
        }
    }
}
