/// The one error type of the LLM client.
///
/// Callers (the bot) switch on `code`, a stable string such as `llm.timeout`, to decide
/// between a fallback message and a handover; `message` is for logs and people. `Code` wraps
/// a private enum so codes can be added without breaking anyone's exhaustive `switch`.
public struct LLMError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, machine-readable reason.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case timeout = "llm.timeout"
            case rateLimited = "llm.rate_limited"
            case serverError = "llm.server_error"
            case badResponse = "llm.bad_response"
            case unauthorized = "llm.unauthorized"
            case badRequest = "llm.bad_request"
            case transport = "llm.transport"
            case cancelled = "llm.cancelled"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The overall deadline passed, or one attempt timed out with no time left to retry.
        public static var timeout: Self { Self(.timeout) }
        /// HTTP 429 on every attempt (or a `Retry-After` beyond the deadline).
        public static var rateLimited: Self { Self(.rateLimited) }
        /// HTTP 5xx on every attempt, or an error object inside a stream.
        public static var serverError: Self { Self(.serverError) }
        /// The answer was not a chat completion: bad JSON, malformed or truncated stream,
        /// a line or body over its limit. Not retried: the same server would say it again.
        public static var badResponse: Self { Self(.badResponse) }
        /// HTTP 401 or 403: the API key is wrong or lacks access. Not retried.
        public static var unauthorized: Self { Self(.unauthorized) }
        /// Another 4xx (unknown model, context too long, invalid tool schema). Not retried.
        public static var badRequest: Self { Self(.badRequest) }
        /// No HTTP answer at all (connection refused or reset) on every attempt.
        public static var transport: Self { Self(.transport) }
        /// The calling task was cancelled.
        public static var cancelled: Self { Self(.cancelled) }

        /// The stable string, e.g. `llm.timeout`.
        public var rawValue: String { base.rawValue }
        public var description: String { base.rawValue }

        /// Whether another attempt may succeed (429, 5xx, transport failures, one attempt's timeout).
        var isRetryable: Bool {
            switch base {
            case .timeout, .rateLimited, .serverError, .transport: true
            case .badResponse, .unauthorized, .badRequest, .cancelled: false
            }
        }
    }

    public var code: Code
    /// A sentence for logs and people; never matched on, never holds the API key.
    public var message: String
    /// The HTTP status of the last attempt, when there was one.
    public var status: Int?
    /// How many HTTP attempts were made (0 when none could start).
    public var attempts: Int

    public init(_ code: Code, _ message: String, status: Int? = nil, attempts: Int = 0) {
        self.code = code
        self.message = message
        self.status = status
        self.attempts = attempts
    }

    public var description: String {
        "\(code): \(message)" + (status.map { " (HTTP \($0))" } ?? "") + (attempts > 1 ? " after \(attempts) attempts" : "")
    }
}
