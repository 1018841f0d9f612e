import Foundation
public import LLM
public import Logging
import Messenger
public import SwitchboardCore

/// Runs a due `bot.answer` job: asks the policy whether to answer, shows `typing_on`, asks
/// `BotResponder` (the Page's model, else its rule-based answerer), and queues the reply as
/// the bot, or hands over with the notice. The reply is queued only if the conversation's
/// bot state is still the version the answer was made for, checked in the transaction
/// that queues it: a pause, a takeover or a new customer message that landed meanwhile
/// wins, so a slow model never talks over a human and never sends outside the window.
public struct BotAnswerHandler: JobHandler {
    /// Builds the client for a Page's model (the app owns the HTTP client and clock).
    public typealias ModelFactory = @Sendable (_ settings: BotModelSettings, _ apiKey: LLMAPIKey?) -> any BotLanguageModel

    let conversations: BotConversations
    let store: any Store & BotStore
    let graph: any OutboundGraph
    let box: SecretBox
    let makeModel: ModelFactory
    let clock: any WallClock
    let logger: Logger
    let metrics: BotMetrics
    /// How long a job run again waits for the echo of a reply an earlier run may have sent
    /// (the sender's `echoWait`).
    let echoWait: Duration

    /// How many of the conversation's newest messages the prompt may use.
    static let transcriptLimit = 40

    public init(
        conversations: BotConversations,
        store: any Store & BotStore,
        graph: any OutboundGraph,
        box: SecretBox,
        clock: any WallClock,
        logger: Logger,
        metrics: BotMetrics = BotMetrics(),
        echoWait: Duration = OutboundSenderConfiguration().echoWait,
        makeModel: @escaping ModelFactory
    ) {
        self.metrics = metrics
        self.echoWait = echoWait
        self.conversations = conversations
        self.store = store
        self.graph = graph
        self.box = box
        self.clock = clock
        self.logger = logger
        self.makeModel = makeModel
    }

    @discardableResult
    public func handle(_ job: Job) async throws -> JobDisposition {
        if job.attempt > 1 {
            // An earlier run may have queued and sent a reply that a crash of the machine
            // took back (replies commit relaxed: `BotReply.startDurable`). Its echo, if Meta
            // sent it, makes the bot step back; a fresh job answers after the echo had
            // its time, if the answer is still due.
            let conversationId = String(decoding: job.payload, as: UTF8.self)
            try await store.scheduleBotAnswer(conversationId: conversationId, at: clock.now().addingTimeInterval(echoWait.seconds))
            logger.notice("bot answer run again: answering after the echo wait", metadata: ["conversation": "\(conversationId)"])
            return .finished
        }
        try await answer(job)
        return .finished
    }

    private func answer(_ job: Job) async throws {
        let conversationId = String(decoding: job.payload, as: UTF8.self)
        guard let due = try await conversations.feed(conversationId: conversationId, [.answerDue], actor: "bot", durable: false),
            let answer = due.plan.answer
        else { return }
        // Shown while the answer is made, and before it is queued (Messenger keeps order).
        let typing = Task { await typingOn(pageId: due.pageId, psid: due.psid) }
        // This job's lease goes to disk while the model works: the reply may then commit
        // relaxed, even with its send's mark (`BotReply.startDurable`).
        let started = Task { try await store.syncCommitted() }
        let model = try due.page.model.map { RecordingLanguageModel(try languageModel($0)) }
        let source: BotResponder.Source = model.map { .model($0, due.page.settings.promptBuilder) } ?? .rules(due.page.settings.ruleBasedAnswerer)
        let transcript = try await store.messages(conversationId: conversationId, limit: Self.transcriptLimit, before: nil).items
            .compactMap(Self.entry)
        let outcome = await BotResponder(source: source, texts: due.page.settings.texts).respond(to: transcript, disclose: answer.disclose) {}
        await typing.value
        let startDurable = (try? await started.value) != nil
        let call = model?.call
        if let call { metrics.modelCall(page: due.pageId, call) }
        switch outcome {
        case .reply(let text, let disclosed, let reason):
            var reply = BotReply(
                conversationId: conversationId,
                text: text,
                clientId: "bot-answer:\(job.id)",
                expectedVersion: due.version,
                upTo: answer.upTo,
                disclosed: disclosed,
                modelCall: call
            )
            reply.startDurable = startDurable
            if try await conversations.queue(reply) {
                logger.debug("bot replied", metadata: ["conversation": "\(conversationId)", "reason": "\(reason)"])
            } else {
                logger.info("bot reply dropped: the conversation changed while answering", metadata: ["conversation": "\(conversationId)"])
            }
        case .handOver(let event, let reason):
            logger.info("bot hands over", metadata: ["conversation": "\(conversationId)", "reason": "\(reason)"])
            try await conversations.feed(
                conversationId: conversationId,
                [event],
                actor: "bot",
                answer: BotAnswerRecord(outcome: .handover, modelCall: call),
                durable: false
            )
        }
    }

    /// The Page's model client, its key opened from the sealed copy.
    func languageModel(_ settings: BotModelSettings) throws -> any BotLanguageModel {
        makeModel(settings, try settings.sealedAPIKey.map { LLMAPIKey(try box.open($0)) })
    }

    /// `typing_on` while the answer is made; best effort (a failed indicator must not stop
    /// the answer), and never for a Page without a usable token.
    func typingOn(pageId: String, psid: String) async {
        do {
            guard let sealed = try await store.page(id: pageId)?.sealedAccessToken else { return }
            _ = try await graph.senderAction(pageId: pageId, token: PageAccessToken(try box.open(sealed)), psid: psid, action: .typingOn)
        } catch {
            logger.debug("typing_on failed", metadata: ["page": "\(pageId)", "error": "\(error)"])
        }
    }

    /// A stored message as the prompt sees it; messages without text are left out.
    static func entry(_ message: Message) -> BotTranscriptEntry? {
        guard let text = message.text, !text.isEmpty else { return nil }
        switch message.author {
        case .customer: return BotTranscriptEntry(.customer, text)
        case .bot: return BotTranscriptEntry(.bot, text)
        case .agent: return BotTranscriptEntry(.agent, text)
        case .otherApp: return BotTranscriptEntry(.otherApp, text)
        }
    }
}
