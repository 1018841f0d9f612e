public import Foundation

/// What the emulated model answers to one call, when a test scripts it.
public enum ScriptedAnswer: Sendable, Hashable {
    /// Plain text (streamed word by word when the call streams).
    case text(String)
    /// A call of the tool `name` with `arguments` (JSON text, sent as is, even if invalid).
    case toolCall(name: String, arguments: String = "{}")
}

/// A fault the next matching chat-completions calls suffer. Set with
/// `LLMEmulator.inject(_:)` or `POST /_emulator/faults`.
public struct LLMFault: Sendable, Hashable {
    public enum Effect: Sendable, Hashable {
        /// Answer this HTTP status with an OpenAI-shaped error body; `retryAfter` is sent
        /// verbatim as `Retry-After` (seconds or an HTTP date).
        case status(Int, retryAfter: String? = nil)
        /// Accept the request and never answer (until the client gives up or the server
        /// shuts down gracefully).
        case hang
        /// Stream the first chunk, then never send more.
        case hangAfterFirstChunk
        /// Stream one good chunk, then a `data:` line that is not JSON.
        case malformedStream
        /// Stream one good chunk, then end the response without a finish reason or `[DONE]`.
        case truncatedStream
        /// Stream one good chunk, then a line longer than `bytes` with no line break.
        case oversizedLine(bytes: Int)
        /// Wait this long (real time), then answer normally.
        case latency(Duration)
    }

    public var effect: Effect
    /// How many matching calls suffer it.
    public var count: Int

    public init(_ effect: Effect, count: Int = 1) {
        self.effect = effect
        self.count = count
    }
}

/// One message of a recorded request.
public struct RecordedMessage: Sendable, Hashable {
    public var role: String
    /// The text (text parts joined when the content was an array); nil when absent.
    public var content: String?
    public var toolCallId: String?
}

/// A chat-completions request as the emulator received it, so tests can assert the prompt.
public struct RecordedChatRequest: Sendable, Hashable {
    /// 1-based, in arrival order.
    public var number: Int
    public var model: String?
    public var messages: [RecordedMessage]
    public var toolNames: [String]
    public var stream: Bool
    public var includeUsage: Bool
    public var temperature: Double?
    public var maxTokens: Int?
    /// The `Authorization` header as received (tests prove the key travels only there).
    public var authorization: String?
    /// The raw body.
    public var body: String
    /// When it reached the emulator (before its body was read), and when the answer was
    /// complete (a stream's last frame written; nil until then): the model's own time,
    /// which `scripts/bench bot` subtracts from a reply's.
    public var receivedAt = Date()
    public var answeredAt: Date?
}

/// What happens in the emulator. Await these in tests instead of sleeping.
public enum LLMEmulatorEvent: Sendable, Hashable {
    /// Request `number` was read and recorded.
    case requestReceived(number: Int)
    /// Request `number` is being held (a `hang` fault): the client now waits in vain.
    case holding(number: Int)
    /// Request `number` was answered with `status` (for streams, once the head is sent).
    case answered(number: Int, status: Int)
}

/// How the emulated model behaves when no answer is scripted.
public struct LLMEmulatorConfiguration: Sendable, Hashable {
    /// The model name reported in answers.
    public var model: String
    /// When set, requests must carry `Authorization: Bearer <apiKey>` (else 401).
    public var apiKey: String?
    /// Words that make the rule-based model ask for a human.
    public var handoverKeywords: [String]
    /// The tool it calls to hand over, when the request offers a tool of that name.
    public var handoverToolName: String
    /// How long (real time) every answer takes to complete (demos and the bot benchmark);
    /// a stream's first token comes halfway, the rest spread over the second half.
    public var latency: Duration

    public init(
        model: String = "emulated-gpt",
        apiKey: String? = nil,
        handoverKeywords: [String] = ["human", "agent", "person", "representative", "someone real", "operator"],
        handoverToolName: String = "handover",
        latency: Duration = .zero
    ) {
        self.model = model
        self.apiKey = apiKey
        self.handoverKeywords = handoverKeywords
        self.handoverToolName = handoverToolName
        self.latency = latency
    }
}
