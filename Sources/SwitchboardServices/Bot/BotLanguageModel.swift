public import LLM
public import SwitchboardCore

/// The model the bot asks; `LLMClient` in production and tests (against `LLMEmulator`).
/// A port so the responder does not depend on the client's clock type.
public protocol BotLanguageModel: Sendable {
    /// A streamed answer; `onFirstToken` runs once, as soon as output starts.
    func answer(
        _ messages: [BotPromptMessage],
        tools: [ToolDefinition],
        onFirstToken: @escaping @Sendable () async -> Void
    ) async throws(LLMError) -> ChatCompletion
}

extension LLMClient: BotLanguageModel {
    public func answer(
        _ messages: [BotPromptMessage],
        tools: [ToolDefinition],
        onFirstToken: @escaping @Sendable () async -> Void
    ) async throws(LLMError) -> ChatCompletion {
        let request = ChatRequest(
            messages: messages.map { message in
                switch message.role {
                case .system: .system(message.content)
                case .user: .user(message.content)
                case .assistant: .assistant(message.content)
                }
            },
            tools: tools
        )
        return try await stream(request) { event in
            if event == .firstToken { await onFirstToken() }
        }
    }
}
