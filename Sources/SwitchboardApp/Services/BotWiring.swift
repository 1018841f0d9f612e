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

    /// The `bot.answer` job: the Page's model and the `typing_on` calls over the bot's own
    /// HTTP client (so a thousand answers in progress never queue agents' sends behind
    /// them in the shared client's pool); replies go through the sender like agents'.
    func botAnswerHandler() -> BotAnswerHandler {
        BotAnswerHandler(
            conversations: botConversations,
            store: store,
            graph: BotTypingGraph(
                graph: GraphClient(
                    httpClient: Self.botHTTPClient,
                    configuration: .init(
                        baseURL: configuration.graphAPIURL,
                        apiVersion: configuration.graphAPIVersion,
                        timeout: configuration.graphTimeout
                    ),
                    logger: logger
                ),
                store: store
            ) { [realtime] conversationId in
                await realtime.emitLive("bot:typing", conversationId: conversationId, ["conversationId": .string(conversationId)])
            },
            box: SecretBox(secret: configuration.secret.value),
            clock: store.clock,
            logger: logger,
            echoWait: configuration.outbound.echoWait,
            makeModel: Self.languageModel
        )
    }

    /// An OpenAI-compatible client for a Page's stored model settings.
    @Sendable static func languageModel(_ settings: BotModelSettings, apiKey: LLMAPIKey?) -> any BotLanguageModel {
        LLMClient(httpClient: botHTTPClient, configuration: LLMConfiguration(baseURL: settings.baseURL, apiKey: apiKey, model: settings.model))
    }

    /// One connection per answer in progress (up to `SWITCHBOARD_BOT_CONCURRENCY`, which
    /// bounds them): a model holds its connection for the whole answer, and HTTP/1.1
    /// servers (local models, the emulator) serve one request per connection. Lives as
    /// long as the process, like `HTTPClient.shared`.
    static let botHTTPClient = HTTPClient.boundedByCallers()
}

extension HTTPClient {
    /// A client that opens an HTTP/1.1 connection for every request in flight to a host,
    /// for callers that bound their requests themselves (a worker lane's slots); the
    /// default pool keeps eight per host and queues the rest.
    static func boundedByCallers() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 10_000
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
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
