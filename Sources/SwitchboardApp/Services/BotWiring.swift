import AsyncHTTPClient
import LLM
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
            graph: graphClient(),
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
