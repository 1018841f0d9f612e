import Foundation
import LLMEmulator
import Messenger
import MetricsTestKit
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport
import Testing

@Suite("Bot answers and handovers", .timeLimit(.minutes(2)))
struct BotAnswerTests {
    static let disclosure = BotTexts().disclosure

    @Test("a customer message gets one answer after the debounce, disclosure first, after typing_on", arguments: TestDatabaseKind.all)
    func answersOnce(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await rig.customer("Do you ship to Austria?")
            #expect(rig.sentTexts.isEmpty)  // still in the debounce
            try await rig.advance(2.9)
            #expect(rig.sentTexts.isEmpty)
            try await rig.advance(0.1)
            #expect(rig.sentTexts.count == 1)
            let reply = try #require(rig.sentTexts.first)
            #expect(reply.hasPrefix(Self.disclosure))
            #expect(reply.contains("We ship across the EU"))
            #expect(rig.graph.actions == [.typingOn])
            #expect(try await rig.botMessages().map(\.author) == [.bot])
            // Nothing more is due: later runs do not answer again, and no disclosure twice.
            try await rig.advance(60)
            #expect(rig.sentTexts.count == 1)
            try await rig.customer("When are you open?")
            try await rig.advance(3)
            #expect(rig.sentTexts.count == 2)
            #expect(rig.sentTexts.last?.hasPrefix(Self.disclosure) == false)
            #expect(try await rig.state().answersWithoutResolution == 2)
            #expect(rig.count("switchboard_bot_replies_total") == 2)
        }
    }

    @Test("a burst of five messages in two seconds gets one answer", arguments: TestDatabaseKind.all)
    func burst(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            for text in ["hi", "I have a question", "about", "shipping", "to Austria"] {
                try await rig.customer(text)
                try await rig.advance(0.5)
            }
            #expect(rig.sentTexts.isEmpty)
            try await rig.advance(3)
            #expect(rig.sentTexts.count == 1)
            #expect(rig.sentTexts.first?.contains("We ship across the EU") == true)
            try await rig.advance(30)
            #expect(rig.sentTexts.count == 1)
        }
    }

    @Test("'human please' hands over with the notice at once; the bot stays quiet after", arguments: TestDatabaseKind.all)
    func keywordHandover(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await rig.customer("a human please")
            #expect(rig.sentTexts == [BotTexts().handover])
            #expect(try await rig.state().pauseReason == .customerAskedForHuman)
            #expect(rig.count("switchboard_bot_handovers_total", [("reason", "customer_asked_for_human")]) == 1)
            #expect(
                await rig.botEvents() == [
                    ConversationBotPayload(conversationId: rig.conversationId, state: "paused", reason: "customer_asked_for_human")
                ]
            )
            let audit = try await rig.store.auditLog(limit: 10)
            #expect(audit.contains { $0.action == "bot.paused" && $0.detail == "customer_asked_for_human" })
            try await rig.customer("Do you ship to Austria?")
            try await rig.advance(60)
            #expect(rig.sentTexts.count == 1)
        }
    }

    @Test("an agent's reply pauses the bot: its pending answer is dropped", arguments: TestDatabaseKind.all)
    func agentReplyPauses(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await rig.customer("Do you ship to Austria?")
            // What the send route does after queueing an agent's reply.
            let reply = try await rig.base.queue("Hi, Anna here: yes we do!", author: .agent)
            await rig.conversations.agentWrote(conversationId: rig.conversationId, actor: "user:1")
            try await rig.drain()
            #expect(try await rig.state().pauseReason == .agentReplied)
            // Its echo changes nothing more (our own message).
            try await rig.ownEcho("Hi, Anna here: yes we do!", of: reply.id)
            #expect(try await rig.state().pauseReason == .agentReplied)
            try await rig.advance(30)
            #expect(rig.sentTexts == ["Hi, Anna here: yes we do!"])
            #expect(await rig.botEvents().map(\.reason) == ["agent_replied"])
        }
    }

    @Test("an echo from another app (Meta's inbox) pauses the bot", arguments: TestDatabaseKind.all)
    func otherAppPauses(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await rig.customer("Do you ship to Austria?")
            try await rig.otherAppEcho("Answered from the Page inbox")
            try await rig.advance(30)
            #expect(rig.sentTexts.isEmpty)
            #expect(try await rig.state().pauseReason == .humanInMetaInbox)
        }
    }

    @Test("outside 24 h the bot never sends; a window that closes before the answer pauses it", arguments: TestDatabaseKind.all)
    func outsideWindow(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await rig.customer("a very late webhook about shipping", secondsAgo: 25 * 3600)
            try await rig.advance(30)
            #expect(rig.sentTexts.isEmpty)
            #expect(try await rig.state().isPaused == false)

            // A message inside the window, then no worker runs until the window has closed.
            try await rig.customer("Do you ship?")
            rig.clock.advance(by: 24 * 3600 + 1)
            try await rig.drain()
            #expect(rig.sentTexts.isEmpty)
            #expect(try await rig.state().pauseReason == .windowClosed)
        }
    }

    @Test("resume: the bot answers again, disclosing again", arguments: TestDatabaseKind.all)
    func resume(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await rig.customer("Do you ship to Austria?")
            try await rig.advance(3)
            try await rig.conversations.feed(conversationId: rig.conversationId, [.paused], actor: "user:1")
            try await rig.customer("and to Italy?")
            try await rig.advance(30)
            #expect(rig.sentTexts.count == 1)
            try await rig.conversations.feed(conversationId: rig.conversationId, [.resumed], actor: "user:1")
            try await rig.customer("Do you ship to Italy?")
            try await rig.advance(3)
            #expect(rig.sentTexts.count == 2)
            #expect(rig.sentTexts.last?.hasPrefix(Self.disclosure) == true)
            #expect(await rig.botEvents().map(\.state) == ["paused", "active"])
        }
    }

    @Test("with the LLM: the handover tool hands over with the notice", arguments: TestDatabaseKind.all)
    func modelHandover(kind: TestDatabaseKind) async throws {
        let emulator = LLMEmulator(configuration: .init(model: "emulated-gpt", apiKey: nil, latency: .zero))
        try await LLMEmulatorServer.withRunning(emulator) { baseURL in
            // No handover keyword here: the model decides.
            let settings = BotSettings(handoverKeywords: [])
            try await BotRig.with(kind, settings: settings, model: baseURL) { rig in
                emulator.enqueue(.text("We ship everywhere in the EU."), .toolCall(name: "handover", arguments: #"{"reason":"asked"}"#))
                try await rig.customer("Do you ship to Austria?")
                try await rig.advance(3)
                #expect(rig.sentTexts == [Self.disclosure + "\n\nWe ship everywhere in the EU."])
                try await rig.customer("I want to talk to your manager")
                try await rig.advance(3)
                #expect(rig.sentTexts.count == 2)
                #expect(rig.sentTexts.last == BotTexts().handover)
                #expect(try await rig.state().pauseReason == .handoverTool)
                try await rig.customer("hello?")
                try await rig.advance(30)
                #expect(rig.sentTexts.count == 2)
                #expect(emulator.requests.count == 2)
                #expect(rig.count("switchboard_bot_llm_tokens_total", [("kind", "prompt")]) > 0)
                #expect(try rig.metrics.expectTimer("switchboard_bot_llm_latency_seconds", [("page", SenderRig.page)]).values.count == 2)
                #expect(rig.count("switchboard_bot_handovers_total", [("reason", "handover_tool")]) == 1)
            }
        }
    }

    @Test("with the LLM: a 500 gives the fallback notice and a handover, never silence or a duplicate", arguments: TestDatabaseKind.all)
    func modelFailure(kind: TestDatabaseKind) async throws {
        let emulator = LLMEmulator(configuration: .init(model: "emulated-gpt", apiKey: nil, latency: .zero))
        try await LLMEmulatorServer.withRunning(emulator) { baseURL in
            try await BotRig.with(kind, model: baseURL) { rig in
                emulator.inject(LLMFault(.status(500)))
                try await rig.customer("Do you ship to Austria?")
                try await rig.advance(3)
                #expect(rig.sentTexts == [BotTexts().fallback])
                #expect(try await rig.state().pauseReason == .llmFailed)
                #expect(rig.count("switchboard_bot_llm_failures_total", [("code", "llm.server_error")]) == 1)
                #expect(rig.count("switchboard_bot_handovers_total", [("reason", "llm_failed")]) == 1)
                try await rig.advance(60)
                #expect(rig.sentTexts.count == 1)
            }
        }
    }
}
