import AsyncHTTPClient
import Foundation
import LLM
import Messenger
import MetricsTestKit
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore
import TestSupport
import Testing

/// The sender rig (one conversation, a manual clock, a Graph that records) with the bot on
/// for its Page: the inbound path feeds the bot, and `drain` runs every runnable job
/// (split, apply, bot.answer, message.send) in the test's task, so a test moves time with
/// the clock and never sleeps.
struct BotRig {
    let base: SenderRig
    let conversations: BotConversations
    let answers: BotAnswerHandler
    /// What the bot counted, read without the process-wide metrics backend.
    let metrics: TestMetrics
    var store: SQLStore { base.store }
    var clock: ManualWallClock { base.clock }
    var graph: ScriptedGraph { base.graph }
    var conversationId: String { base.conversationId }

    /// `model`: the base URL of an LLM (emulator) the Page uses; nil: rule-based. The
    /// model's deadline (10 s) runs on `llmClock`. `sqliteSync` as in `SenderRig`.
    static func with(
        _ kind: TestDatabaseKind,
        settings: BotSettings = .demo,
        model baseURL: String? = nil,
        llmClock: ManualClock = ManualClock(),
        sqliteSync: SQLiteDatabase.Durability = .normal,
        _ body: @Sendable (BotRig) async throws -> Void
    ) async throws {
        try await SenderRig.with(kind, sqliteSync: sqliteSync) { base in
            let model = baseURL.map { BotModelSettings(baseURL: $0, model: "emulated-gpt", sealedAPIKey: nil) }
            try await base.store.saveBotSettings(pageId: SenderRig.page, BotPageSettings(enabled: true, settings: settings, model: model))
            let metrics = TestMetrics()
            let conversations = BotConversations(
                store: base.store,
                publisher: base.publisher,
                clock: base.clock,
                logger: TestDatabase.logger,
                metrics: BotMetrics(factory: metrics)
            )
            let answers = BotAnswerHandler(
                conversations: conversations,
                store: base.store,
                graph: base.graph,
                box: SecretBox(secret: SenderRig.secret),
                clock: base.clock,
                logger: TestDatabase.logger,
                metrics: BotMetrics(factory: metrics)
            ) { settings, key in
                // One attempt: a 5xx fails the call at once, so the fallback is deterministic.
                LLMClient(
                    httpClient: .shared,
                    configuration: LLMConfiguration(
                        baseURL: settings.baseURL,
                        apiKey: key,
                        model: settings.model,
                        deadline: Self.llmDeadline,
                        retry: LLMRetryPolicy(maxAttempts: 1)
                    ),
                    clock: llmClock,
                    logger: TestDatabase.logger
                )
            }
            try await body(BotRig(base: base, conversations: conversations, answers: answers, metrics: metrics))
        }
    }

    static let llmDeadline: Duration = .seconds(10)

    /// The customer writes now (or `secondsAgo`); the webhook is applied.
    func customer(_ text: String, mid: String = UUID().uuidString, secondsAgo: TimeInterval = 0) async throws {
        let timestamp = clock.now().addingTimeInterval(-secondsAgo).millisecondsSince1970
        _ = try await store.storeWebhook(body: Webhook.body([Webhook.message(psid: "cust1", mid: mid, text: text, timestamp: timestamp)]))
        try await drain()
    }

    /// An echo from another app (a person in Meta's inbox) arrives.
    func otherAppEcho(_ text: String) async throws {
        try await echo(text, appId: "263902037430900", metadata: nil)
    }

    /// The echo of our own message `id` (an agent's or the bot's) arrives.
    func ownEcho(_ text: String, of id: String) async throws {
        try await echo(text, appId: "app-ours", metadata: id)
    }

    private func echo(_ text: String, appId: String, metadata: String?) async throws {
        let timestamp = clock.now().millisecondsSince1970
        let meta = metadata.map { #","metadata":"\#($0)""# } ?? ""
        let event =
            #"{"sender":{"id":"\#(SenderRig.page)"},"recipient":{"id":"cust1"},"timestamp":\#(timestamp),"message":{"mid":"m_echo_\#(appId)_\#(timestamp)","is_echo":true,"app_id":"\#(appId)"\#(meta),"text":"\#(text)"}}"#
        _ = try await store.storeWebhook(body: Webhook.body([event]))
        try await drain()
    }

    /// Runs every runnable job now.
    func drain() async throws {
        let split = SplitWebhookHandler(store: store, logger: TestDatabase.logger)
        let apply = ApplyInboundHandler(
            store: store,
            queue: store.queue,
            publisher: base.publisher,
            ourAppId: "app-ours",
            logger: TestDatabase.logger,
            bot: conversations
        )
        while let job = try await store.queue.claim(limit: 1, worker: "rig", lease: .seconds(600)).first {
            switch job.kind {
            case .sendMessage: try await base.sender.handle(job)
            case .splitWebhook: try await split.handle(job)
            case .applyInbound: try await apply.handle(job)
            case .botAnswer:
                try await answers.handle(job)
                try await store.queue.complete(job)
            default: try await store.queue.complete(job)
            }
        }
    }

    /// What the answer job makes of a due answer: the reply `text` for the bot state as it
    /// is now (fails when no answer is due).
    func dueReply(_ text: String, clientId: String) async throws -> BotReply {
        let due = try #require(try await store.feedBot(conversationId: conversationId, [.answerDue], actor: "bot", answer: nil, durable: false))
        let answer = try #require(due.plan.answer)
        return BotReply(
            conversationId: conversationId,
            text: text,
            clientId: clientId,
            expectedVersion: due.version,
            upTo: answer.upTo,
            disclosed: true,
            modelCall: nil
        )
    }

    /// Moves time on by `seconds` and runs what became due.
    func advance(_ seconds: TimeInterval) async throws {
        clock.advance(by: seconds)
        try await drain()
    }

    /// The texts that reached the Send API, in order.
    var sentTexts: [String] {
        graph.sent.compactMap {
            if case .text(let text) = $0.content { return text }
            return nil
        }
    }

    /// A counter's total for this rig's Page (0 when never incremented).
    func count(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
        (try? metrics.expectCounter(label, [("page", SenderRig.page)] + dimensions).totalValue) ?? 0
    }

    func state() async throws -> BotConversationState {
        try #require(try await store.botConversation(id: conversationId)).state
    }

    /// The conversation's bot messages as stored.
    func botMessages() async throws -> [Message] {
        try await store.messages(conversationId: conversationId, limit: 100, before: nil).items.filter { $0.author == .bot }
    }

    func botEvents() async -> [ConversationBotPayload] {
        await base.publisher.events.filter { $0.name == "conversation:bot" }.compactMap {
            try? JSONDecoder().decode(ConversationBotPayload.self, from: Data($0.payload.utf8))
        }
    }
}
