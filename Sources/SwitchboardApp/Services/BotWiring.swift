import AsyncHTTPClient
import LLM
import Messenger
import SocketIO
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore

extension Switchboard {
    /// The bot's conversation side, shared by the inbound path, the answer job and the API.
    var botConversations: BotConversations {
        BotConversations(store: store, publisher: hub, clock: store.clock, logger: logger)
    }

    /// The `bot.answer` job: the Page's model over the shared HTTP client, typing_on and
    /// replies through the same Graph client the sender uses.
    func botAnswerHandler() -> BotAnswerHandler {
        BotAnswerHandler(
            conversations: botConversations,
            store: store,
            graph: BotTypingGraph(graph: graphClient(), store: store) { [realtime] conversationId in
                await realtime.emitLive("bot:typing", conversationId: conversationId, ["conversationId": .string(conversationId)])
            },
            box: SecretBox(secret: configuration.secret.value),
            clock: store.clock,
            logger: logger,
            makeModel: Self.languageModel
        )
    }

    /// An OpenAI-compatible client for a Page's stored model settings.
    @Sendable static func languageModel(_ settings: BotModelSettings, apiKey: LLMAPIKey?) -> any BotLanguageModel {
        LLMClient(httpClient: .shared, configuration: LLMConfiguration(baseURL: settings.baseURL, apiKey: apiKey, model: settings.model))
    }
}

/// The bot's Graph client, which also tells the dashboard the bot is writing: its
/// `typing_on` (sent while the answer is made) becomes a live `bot:typing` event for the
/// conversation, shown like a teammate typing.
struct BotTypingGraph: OutboundGraph {
    let graph: GraphClient
    let store: SQLStore
    let announce: @Sendable (_ conversationId: String) async -> Void

    func send(pageId: String, token: PageAccessToken, request: SendRequest) async throws(GraphError) -> SendResult {
        try await graph.send(pageId: pageId, token: token, request: request)
    }

    func senderAction(
        pageId: String,
        token: PageAccessToken,
        psid: String,
        action: SenderAction
    ) async throws(GraphError)
        -> BusinessUseCaseUsage?
    {
        if action == .typingOn, let id = try? await store.conversationId(pageId: pageId, psid: psid) { await announce(id) }
        return try await graph.senderAction(pageId: pageId, token: token, psid: psid, action: action)
    }
}
