import Foundation
import LLMEmulator
import MetricsTestKit
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport
import Testing

/// The handover triggers not covered in `BotAnswerTests`, the races the store closes, and
/// resolution, each on both databases with the manual clocks (no sleeps).
@Suite("Bot handovers, races and resolution", .timeLimit(.minutes(2)))
struct BotHandoverTests {
    @Test("an agent taking the conversation pauses the bot: its pending answer is dropped", arguments: TestDatabaseKind.all)
    func takeover(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await rig.customer("Do you ship to Austria?")
            let change = try await rig.store.assignConversation(id: rig.conversationId, assigneeId: "7", by: "user:7")
            #expect(change.conversation.assigneeId == "7")
            #expect(change.bot?.plan.handovers == [.agentTookOver])
            try await rig.advance(30)
            try await rig.customer("hello?")
            try await rig.advance(30)
            #expect(rig.sentTexts.isEmpty)
            #expect(try await rig.state().pauseReason == .agentTookOver)
            let audit = try await rig.store.auditLog(limit: 10)
            #expect(audit.contains { $0.action == "bot.paused" && $0.detail == "agent_took_over" && $0.actor == "user:7" })
            #expect(audit.contains { $0.action == "conversation.assigned" && $0.detail == "user:7" })
            // A manual resume brings it back, disclosing again.
            try await rig.conversations.feed(conversationId: rig.conversationId, [.resumed], actor: "user:7")
            try await rig.customer("Do you ship to Italy?")
            try await rig.advance(3)
            #expect(rig.sentTexts.count == 1)
            #expect(rig.sentTexts.first?.hasPrefix(BotTexts().disclosure) == true)
        }
    }

    @Test("N answers without resolution hand over with the notice; resolving starts the count again", arguments: TestDatabaseKind.all)
    func tooManyAnswers(kind: TestDatabaseKind) async throws {
        var demo = BotSettings.demo
        demo.maxAnswersWithoutResolution = 2
        let settings = demo
        try await BotRig.with(kind, settings: settings) { rig in
            for question in ["Do you ship to Austria?", "And to Italy, do you ship?"] {
                try await rig.customer(question)
                try await rig.advance(3)
            }
            #expect(rig.sentTexts.count == 2)
            let resolved = try await rig.store.setConversationStatus(id: rig.conversationId, .resolved, by: "user:1")
            #expect(resolved.conversation.status == .resolved)
            #expect(try await rig.state().answersWithoutResolution == 0)
            // The customer's message reopens it; the bot answers twice more, then hands over.
            for question in ["Do you ship to Spain?", "Do you ship to France?", "Do you ship to Malta?"] {
                try await rig.customer(question)
                try await rig.advance(3)
            }
            #expect(try await rig.store.conversation(id: rig.conversationId)?.status == .open)
            #expect(rig.sentTexts.count == 5)
            #expect(rig.sentTexts.last == settings.texts.handover)
            #expect(try await rig.state().pauseReason == .tooManyAnswers)
            try await rig.customer("Do you ship to Greece?")
            try await rig.advance(30)
            #expect(rig.sentTexts.count == 5)
            #expect(rig.count("switchboard_bot_handovers_total", [("reason", "too_many_answers")]) == 1)
        }
    }

    @Test("after the agent has been quiet for the quiet period, the customer's message brings the bot back", arguments: TestDatabaseKind.all)
    func quietPeriodResume(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            try await rig.customer("Do you ship to Austria?")
            _ = try await rig.base.queue("Hi, Anna here: yes we do!", author: .agent)
            await rig.conversations.agentWrote(conversationId: rig.conversationId, actor: "user:1")
            try await rig.drain()
            rig.clock.advance(by: 29 * 60)
            try await rig.customer("Do you ship to Italy?")
            try await rig.advance(30)
            #expect(rig.sentTexts == ["Hi, Anna here: yes we do!"])
            rig.clock.advance(by: 60)
            try await rig.customer("Do you ship to Spain?")
            try await rig.advance(3)
            #expect(rig.sentTexts.count == 2)
            #expect(rig.sentTexts.last?.hasPrefix(BotTexts().disclosure) == true)
            #expect(await rig.botEvents().map(\.reason) == ["agent_replied", "quiet_period"])
        }
    }

    @Test("an LLM past its deadline: the fallback notice and a handover, once", arguments: TestDatabaseKind.all)
    func modelTimeout(kind: TestDatabaseKind) async throws {
        let emulator = LLMEmulator(configuration: .init(model: "emulated-gpt", apiKey: nil, latency: .zero))
        let llmClock = ManualClock()
        try await LLMEmulatorServer.withRunning(emulator) { baseURL in
            try await BotRig.with(kind, model: baseURL, llmClock: llmClock) { rig in
                emulator.inject(LLMFault(.hang))
                let emulatorEvents = emulator.events()
                var sleeps = llmClock.sleeps.makeAsyncIterator()
                try await rig.customer("Do you ship to Austria?")
                let answering = Task { try await rig.advance(3) }
                for await event in emulatorEvents where event == .holding(number: 1) { break }
                _ = await sleeps.next()  // the call's deadline
                llmClock.advance(by: BotRig.llmDeadline)
                try await answering.value
                #expect(rig.sentTexts == [BotTexts().fallback])
                #expect(try await rig.state().pauseReason == .llmFailed)
                #expect(rig.count("switchboard_bot_llm_failures_total", [("code", "llm.timeout")]) == 1)
                try await rig.customer("hello?")
                try await rig.advance(60)
                #expect(rig.sentTexts.count == 1)
                #expect(emulator.requests.count == 1)
            }
        }
    }

    @Test("a reply made for an older bot state is not queued: a pause or a new message meanwhile wins", arguments: TestDatabaseKind.all)
    func replyNeedsTheSameVersion(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            let id = rig.conversationId
            try await rig.customer("Do you ship to Austria?")
            rig.clock.advance(by: 3)
            // What the answer job does, with a pause landing while the model answers.
            let reply = try await rig.dueReply("We ship across the EU.", clientId: "bot-answer:test-1")
            try await rig.conversations.feed(conversationId: id, [.paused], actor: "user:1")
            #expect(try await rig.store.queueBotReply(reply)?.queued == false)
            #expect(try await rig.botMessages().isEmpty)

            // Resumed; a new customer message lands while the next answer is made: that
            // reply is dropped too, and the next due answer covers both messages, once.
            try await rig.conversations.feed(conversationId: id, [.resumed], actor: "user:1")
            try await rig.customer("Do you ship to Austria?")
            rig.clock.advance(by: 3)
            let next = try #require(try await rig.store.feedBot(conversationId: id, [.answerDue], actor: "bot", answer: nil, durable: false))
            try await rig.conversations.feed(conversationId: id, [.customerMessage(text: "and to Italy?", at: rig.clock.now())], actor: "webhook")
            var stale = reply
            stale.clientId = "bot-answer:test-2"
            stale.expectedVersion = next.version
            #expect(try await rig.store.queueBotReply(stale)?.queued == false)
            try await rig.advance(3)
            #expect(rig.sentTexts.count == 1)
            let stats = try await rig.store.botStats(pageId: SenderRig.page, since: .distantPast)
            #expect(stats.replies == 1)
        }
    }

    @Test("the bot's decision commits with the inbound apply, whoever runs it", arguments: TestDatabaseKind.all)
    func decidedInTheApply(kind: TestDatabaseKind) async throws {
        try await BotRig.with(kind) { rig in
            let timestamp = rig.clock.now().millisecondsSince1970
            _ = try await rig.store.storeWebhook(
                body: Webhook.body([Webhook.message(psid: "cust1", mid: "m_apply_1", text: "Do you ship?", timestamp: timestamp)])
            )
            // A worker that knows nothing of the bot: the state and the answer job are stored anyway.
            try await InboundDrain(store: rig.store).run()
            #expect(try await rig.state().pendingSince != nil)
            #expect(try await rig.store.queue.stats().byKind[JobKind.botAnswer.rawValue] == 1)
            try await rig.advance(3)
            #expect(rig.sentTexts.count == 1)
        }
    }
}
