import AsyncHTTPClient
import LLM
import LLMEmulator
import Logging
import SwitchboardCore
import SwitchboardServices
import Synchronization
import Testing

/// The responder against the real client and the LLM emulator over HTTP on 127.0.0.1.
@Suite struct BotResponderTests {
    static let builder = BotPromptBuilder(
        systemPrompt: "You are Demo Shop's assistant.",
        knowledge: BotFAQEntry.knowledgeText([BotFAQEntry(question: "Shipping?", keywords: ["ship"], answer: "3 days.")])
    )

    static func withModel(
        retry: LLMRetryPolicy = LLMRetryPolicy(maxAttempts: 1),
        _ body: @Sendable (BotResponder, LLMEmulator) async throws -> Void
    ) async throws {
        let logger = {
            var logger = Logger(label: "bot-responder-test")
            logger.logLevel = .error
            return logger
        }()
        let emulator = LLMEmulator(logger: logger)
        try await LLMEmulatorServer.withRunning(emulator) { baseURL in
            let client = LLMClient(
                httpClient: .shared,
                configuration: LLMConfiguration(baseURL: baseURL, model: "emulated", retry: retry),
                logger: logger
            )
            try await body(BotResponder(source: .model(client, builder)), emulator)
        }
    }

    /// Counts `onTyping` calls.
    final class TypingCount: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func callAsFunction() { count.withLock { $0 += 1 } }
    }

    @Test func theModelsAnswerIsSentWithTheDisclosureAfterTyping() async throws {
        try await Self.withModel { responder, emulator in
            emulator.enqueue(.text("We ship in 3 days."))
            let typing = TypingCount()
            let outcome = await responder.respond(
                to: [BotTranscriptEntry(.customer, "Hi"), BotTranscriptEntry(.customer, "Do you ship to Austria?")],
                disclose: true,
                onTyping: { typing() }
            )
            #expect(outcome == .reply(BotTexts().disclosure + "\n\nWe ship in 3 days.", disclosed: true, reason: "model"))
            #expect(typing.value == 1)
            let sent = try #require(emulator.requests.first)
            #expect(sent.stream)
            #expect(sent.toolNames == ["handover"])
            #expect(sent.messages.map(\.role) == ["system", "user", "user"])
            #expect(sent.messages.first?.content?.contains("Q: Shipping?\nA: 3 days.") == true)
            #expect(sent.messages.last?.content == "Do you ship to Austria?")
        }
    }

    @Test func theHandoverToolHandsOver() async throws {
        try await Self.withModel { responder, _ in
            let outcome = await responder.respond(to: [BotTranscriptEntry(.customer, "let me talk to a human")], disclose: false) {}
            #expect(outcome == .handOver(.modelRequestedHandover, reason: "model.handover_tool"))
        }
    }

    @Test func aFailingModelHandsOverWithItsErrorCode() async throws {
        try await Self.withModel { responder, emulator in
            emulator.inject(LLMFault(.status(500)))
            let outcome = await responder.respond(to: [BotTranscriptEntry(.customer, "hello?")], disclose: false) {}
            #expect(outcome == .handOver(.answerFailed(.llmFailed), reason: "llm.server_error"))
            #expect(BotTexts().notice(for: .llmFailed) == BotTexts().fallback)
        }
    }

    @Test func anEmptyAnswerIsAFailureNotSilence() async throws {
        try await Self.withModel { responder, emulator in
            emulator.enqueue(.text("   "))
            let outcome = await responder.respond(to: [BotTranscriptEntry(.customer, "hello?")], disclose: false) {}
            #expect(outcome == .handOver(.answerFailed(.llmFailed), reason: "llm.empty_answer"))
        }
    }

    @Test func aLongAnswerIsCutToMessengersLimitAtASentence() async throws {
        try await Self.withModel { responder, emulator in
            emulator.enqueue(.text(String(repeating: "This is a sentence. ", count: 150)))
            guard
                case .reply(let text, _, _) = await responder.respond(
                    to: [BotTranscriptEntry(.customer, "tell me all")],
                    disclose: false,
                    onTyping: {}
                )
            else {
                Issue.record("expected a reply")
                return
            }
            #expect(text.count <= BotResponder.maxMessageLength)
            #expect(text.hasSuffix("sentence."))
        }
    }

    @Test func withoutAModelTheRulesAnswerTheNewestCustomerMessages() async {
        let rules = RuleBasedAnswerer(faq: [BotFAQEntry(question: "Shipping?", keywords: ["ship"], answer: "3 days.")])
        let responder = BotResponder(source: .rules(rules))
        let transcript = [
            BotTranscriptEntry(.customer, "old: can I talk to an agent"), BotTranscriptEntry(.bot, "…"),
            BotTranscriptEntry(.customer, "do you ship?"),
        ]
        #expect(await responder.respond(to: transcript, disclose: false) {} == .reply("3 days.", disclosed: false, reason: "faq"))
        #expect(
            await responder.respond(to: [BotTranscriptEntry(.customer, "my parcel is broken")], disclose: true) {}
                == .handOver(.answerFailed(.noAnswer), reason: "rules.no_answer")
        )
        #expect(
            await responder.respond(to: [BotTranscriptEntry(.customer, "a human please")], disclose: true) {}
                == .handOver(.answerFailed(.customerAskedForHuman), reason: "rules.customer_asked_for_human")
        )
    }
}
