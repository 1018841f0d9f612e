/// One message of a chat-completions conversation.
public struct ChatMessage: Sendable, Hashable {
    /// Who speaks. `tool` carries a tool's result back to the model.
    public enum Role: String, Sendable, Hashable, Codable {
        case system
        case user
        case assistant
        case tool
    }

    public var role: Role
    /// The text; nil for an assistant message that only calls tools.
    public var content: String?
    /// The tools an assistant message called (so a tool result can follow it).
    public var toolCalls: [ToolCall]
    /// For a `tool` message: the id of the call it answers.
    public var toolCallId: String?

    public init(role: Role, content: String?, toolCalls: [ToolCall] = [], toolCallId: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallId = toolCallId
    }

    public static func system(_ text: String) -> Self { Self(role: .system, content: text) }
    public static func user(_ text: String) -> Self { Self(role: .user, content: text) }
    public static func assistant(_ text: String) -> Self { Self(role: .assistant, content: text) }
    /// A tool's result for the call `id`.
    public static func tool(callId: String, result: String) -> Self { Self(role: .tool, content: result, toolCallId: callId) }
}

/// A function the model may call (`tools[].function`).
public struct ToolDefinition: Sendable, Hashable {
    /// The name the model calls it by (`^[a-zA-Z0-9_-]{1,64}$` for OpenAI).
    public var name: String
    /// What it does, for the model: it decides when to call it from this text.
    public var description: String
    /// A JSON Schema object for the arguments.
    public var parameters: LLMJSON

    public init(name: String, description: String, parameters: LLMJSON = ["type": "object", "properties": [:]]) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// A function call the model made.
public struct ToolCall: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The arguments as the model wrote them: JSON text, which a model may get wrong, so it
    /// is kept raw; `decodedArguments` parses it.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// The arguments as JSON, nil when the model wrote something that is not JSON.
    public var decodedArguments: LLMJSON? {
        LLMWire.decode(LLMJSON.self, Array(arguments.utf8))
    }
}

/// What to ask: the conversation and the tools. The model and sampling settings come from
/// the client's configuration, so a Page's settings live in one place.
public struct ChatRequest: Sendable, Hashable {
    public var messages: [ChatMessage]
    public var tools: [ToolDefinition]

    public init(messages: [ChatMessage], tools: [ToolDefinition] = []) {
        self.messages = messages
        self.tools = tools
    }
}

/// Why the model stopped.
public struct FinishReason: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// It finished its answer.
    public static let stop = FinishReason("stop")
    /// It hit `max_tokens`: the text is cut.
    public static let length = FinishReason("length")
    /// It wants the tools in `toolCalls` run.
    public static let toolCalls = FinishReason("tool_calls")
    /// The provider's filter removed content.
    public static let contentFilter = FinishReason("content_filter")
}

/// Tokens counted by the provider, for the per-Page usage metrics.
public struct TokenUsage: Sendable, Hashable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }
}

/// The model's answer, streamed or not.
public struct ChatCompletion: Sendable, Hashable {
    /// The text; nil when the model only called tools.
    public var content: String?
    public var toolCalls: [ToolCall]
    public var finishReason: FinishReason?
    /// Nil when the provider did not report it.
    public var usage: TokenUsage?
    /// The model that answered, as the provider named it.
    public var model: String?
    /// HTTP attempts it took (1 without retries).
    public var attempts: Int

    public init(
        content: String?,
        toolCalls: [ToolCall] = [],
        finishReason: FinishReason? = nil,
        usage: TokenUsage? = nil,
        model: String? = nil,
        attempts: Int = 1
    ) {
        self.content = content
        self.toolCalls = toolCalls
        self.finishReason = finishReason
        self.usage = usage
        self.model = model
        self.attempts = attempts
    }

    /// The first call of the tool named `name`, if the model made one.
    public func toolCall(named name: String) -> ToolCall? { toolCalls.first { $0.name == name } }
}

/// What a streaming call reports while the answer arrives.
public enum ChatStreamEvent: Sendable, Hashable {
    /// The first piece of output (text or a tool call) arrived: the moment to show
    /// "typing". Reported once per call, before any other event.
    case firstToken
    /// More text.
    case contentDelta(String)
    /// The model started calling a tool (its arguments are still arriving).
    case toolCallStarted(id: String, name: String)
}
