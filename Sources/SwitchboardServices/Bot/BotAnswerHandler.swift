import Foundation
public import LLM
public import Logging
import Messenger
public import SwitchboardCore

/// Runs a due `bot.answer` job: asks the policy whether to answer, shows `typing_on`, asks
/// `BotResponder` (the Page's model, else its rule-based answerer), and queues the reply as
/// the bot, or hands over with the notice. Just before queueing it reloads the state and
/// drops the reply if the bot was paused meanwhile (a person took over) or the 24-hour
/// window closed, so a slow model never talks over a human and never sends outside it.
public struct BotAnswerHandler: JobHandler {
    /// Builds the client for a Page's model (the app owns the HTTP client and clock).
    public typealias ModelFactory = @Sendable (_ settings: BotModelSettings, _ apiKey: LLMAPIKey?) -> any BotLanguageModel

    let conversations: BotConversations
    let store: any Store & BotStore & OutboundStore
    let graph: any OutboundGraph
    let box: SecretBox
    let makeModel: ModelFactory
    let clock: any WallClock
    let logger: Logger
    let metrics: BotMetrics

    /// How many of the conversation's newest messages the prompt may use.
    static let transcriptLimit = 40

    public init(
        conversations: BotConversations,
        store: any Store & BotStore & OutboundStore,
        graph: any OutboundGraph,
        box: SecretBox,
        clock: any WallClock,
        logger: Logger,
        metrics: BotMetrics = BotMetrics(),
        makeModel: @escaping ModelFactory
    ) {
        self.metrics = metrics
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
        try await answer(job)
        return .finished
    }

    private func answer(_ job: Job) async throws {
        let conversationId = String(decoding: job.payload, as: UTF8.self)
        guard let result = try await conversations.feed(conversationId: conversationId, [.answerDue], actor: "bot"),
            let answer = result.answer,
            let record = try await store.botConversation(id: conversationId),
            let page = try await store.botSettings(pageId: record.pageId)
        else { return }
        await typingOn(pageId: record.pageId, psid: record.psid)
        let responder = BotResponder(source: try source(for: page, pageId: record.pageId), texts: page.settings.texts)
        let transcript = try await store.messages(conversationId: conversationId, limit: Self.transcriptLimit, before: nil).items
            .compactMap(Self.entry)
        let outcome = await responder.respond(to: transcript, disclose: answer.disclose) {}
        switch outcome {
        case .reply(let text, let disclosed, let reason):
            // The last look before the reply becomes a queued message (issue 9, rule 4).
            guard let now = try await store.botConversation(id: conversationId), !now.state.isPaused,
                let last = now.state.lastCustomerAt, MessagingWindow.state(lastInboundAt: last, now: clock.now()).state == .open
            else {
                logger.info("bot reply dropped: paused or window closed meanwhile", metadata: ["conversation": "\(conversationId)"])
                return
            }
            // Keyed by the job: a retried job queues the reply once.
            if try await conversations.queueBotMessage(conversationId: conversationId, text: text, clientId: "bot-answer:\(job.id)") {
                metrics.replied(page: record.pageId)
            }
            logger.debug("bot replied", metadata: ["conversation": "\(conversationId)", "reason": "\(reason)"])
            try await conversations.feed(
                conversationId: conversationId,
                [.answerSent(at: clock.now(), upTo: answer.upTo, disclosed: disclosed)],
                actor: "bot"
            )
        case .handOver(let event, let reason):
            logger.info("bot hands over", metadata: ["conversation": "\(conversationId)", "reason": "\(reason)"])
            try await conversations.feed(conversationId: conversationId, [event], actor: "bot")
        }
    }

    /// The model when the Page has one (its key opened from the sealed copy), else rules.
    func source(for page: BotPageSettings, pageId: String) throws -> BotResponder.Source {
        guard let model = page.model else { return .rules(page.settings.ruleBasedAnswerer) }
        let key = try model.sealedAPIKey.map { LLMAPIKey(try box.open($0)) }
        let metered = MeteredLanguageModel(model: makeModel(model, key), page: pageId, metrics: metrics)
        return .model(metered, page.settings.promptBuilder)
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
