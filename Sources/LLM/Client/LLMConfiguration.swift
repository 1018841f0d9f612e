/// Where and how to ask: one provider endpoint and one model with its settings.
///
/// In Switchboard each Page has its own (its key sealed at rest); nothing here is global.
public struct LLMConfiguration: Sendable, Hashable {
    /// The API root, e.g. `https://api.openai.com/v1` or the emulator's
    /// `http://127.0.0.1:PORT/v1`; `/chat/completions` is appended.
    public var baseURL: String
    /// Sent as `Authorization: Bearer`; nil for local servers that need none.
    public var apiKey: LLMAPIKey?
    public var model: String
    /// Nil leaves the provider's default.
    public var temperature: Double?
    /// Sent as `max_tokens` (what OpenAI-compatible servers accept); nil: no limit sent.
    public var maxTokens: Int?
    /// One HTTP attempt's limit (real time; a slow stream counts as a whole).
    public var requestTimeout: Duration
    /// The whole call's limit, retries and their waits included. Past it the call throws
    /// `llm.timeout` and the bot falls back; no attempt outlives it.
    public var deadline: Duration
    public var retry: LLMRetryPolicy
    /// Largest non-streamed answer or error body read.
    public var maxResponseBytes: Int
    /// Largest server-sent-events line; a longer one is `llm.bad_response`.
    public var maxStreamLineBytes: Int
    /// Asks for `stream_options.include_usage` so streamed calls report tokens. Turn off
    /// for servers that reject the option.
    public var includeUsageInStream: Bool

    public init(
        baseURL: String,
        apiKey: LLMAPIKey? = nil,
        model: String,
        temperature: Double? = nil,
        maxTokens: Int? = nil,
        requestTimeout: Duration = .seconds(30),
        deadline: Duration = .seconds(45),
        retry: LLMRetryPolicy = LLMRetryPolicy(),
        maxResponseBytes: Int = 4 << 20,
        maxStreamLineBytes: Int = 256 << 10,
        includeUsageInStream: Bool = true
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.model = model
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.requestTimeout = requestTimeout
        self.deadline = deadline
        self.retry = retry
        self.maxResponseBytes = maxResponseBytes
        self.maxStreamLineBytes = maxStreamLineBytes
        self.includeUsageInStream = includeUsageInStream
    }

    /// `baseURL` + `/chat/completions`, with no doubled slash.
    var chatCompletionsURL: String {
        (baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL) + "/chat/completions"
    }
}

/// How failed attempts are retried: exponential backoff with jitter, at least what the
/// server's `Retry-After` asks, never past the call's deadline.
public struct LLMRetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included (1: no retries).
    public var maxAttempts: Int
    /// The wait before the second attempt, before jitter; it doubles each time.
    public var baseDelay: Duration
    /// The longest backoff (a longer `Retry-After` is still honoured, deadline permitting).
    public var maxDelay: Duration

    public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(8)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The wait after failed attempt `attempt` (1-based). `jitter` in 0...1 picks a point in
    /// the upper half of the backoff, so many clients failing together spread out without
    /// ever retrying at once; `retryAfter` is a floor.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?, jitter: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 20)
        let ceiling = min(baseDelay * (1 << exponent), maxDelay)
        let backoff = ceiling / 2 + ceiling / 2 * min(max(jitter, 0), 1)
        guard let retryAfter else { return backoff }
        return max(retryAfter, backoff)
    }
}
