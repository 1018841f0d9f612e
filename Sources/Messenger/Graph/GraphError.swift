/// Why a Graph API call failed, with enough detail to decide whether to retry.
///
/// `GraphErrorClassifier` turns it into an action (invariant 5). The Page token never
/// appears in any field or in `description`.
public struct GraphError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No HTTP answer. See `TransportFailure.isAmbiguous`.
        case transport(TransportFailure)
        /// An HTTP answer that is not 2xx; `body` is the parsed Graph error when there is one.
        case http(status: Int, body: GraphErrorBody?)
        /// A 2xx answer we could not read (missing `message_id`, not JSON, …).
        case invalidResponse(status: Int, reason: String)
    }

    public var kind: Kind
    /// The `X-Business-Use-Case-Usage` of the failed response, when it carried one.
    public var usage: BusinessUseCaseUsage?
    /// When the request's last byte went to the socket; nil if it never did (Meta cannot
    /// have seen the call).
    public var requestWrittenAt: ContinuousClock.Instant?

    public init(_ kind: Kind, usage: BusinessUseCaseUsage? = nil, requestWrittenAt: ContinuousClock.Instant? = nil) {
        self.kind = kind
        self.usage = usage
        self.requestWrittenAt = requestWrittenAt
    }

    /// The Graph error body, if Meta sent one.
    public var body: GraphErrorBody? {
        if case .http(_, let body) = kind { return body }
        return nil
    }

    /// The HTTP status, if there was an answer.
    public var status: Int? {
        switch kind {
        case .http(let status, _), .invalidResponse(let status, _): status
        case .transport: nil
        }
    }

    /// True when Meta may have accepted the request although we got no success answer
    /// (timeout or reset after the request was written, a 5xx without a definitive error).
    /// Before re-sending such a message, wait for its echo (messenger-platform.md §10).
    public var isAmbiguous: Bool {
        switch kind {
        case .transport(let failure): failure.isAmbiguous
        case .http(let status, let body): status >= 500 && (body == nil || body?.code == 1 || body?.code == 2)
        case .invalidResponse(let status, _): (200..<300).contains(status)
        }
    }

    public var description: String {
        switch kind {
        case .transport(let failure): "Graph transport failure: \(failure)"
        case .http(let status, let body?):
            "Graph HTTP \(status): code \(body.code)\(body.subcode.map { "/\($0)" } ?? "") \(body.type ?? "") "
                + "\(body.message ?? "") fbtrace_id=\(body.fbtraceId ?? "-")"
        case .http(let status, nil): "Graph HTTP \(status) without an error body"
        case .invalidResponse(let status, let reason): "Graph HTTP \(status) with an unreadable body: \(reason)"
        }
    }
}

/// A failure below HTTP. The cases say whether the request reached the wire.
public enum TransportFailure: Sendable, Hashable, CustomStringConvertible {
    /// The connection could not be made (refused, DNS, TLS, connect timeout): nothing was sent.
    case connectFailed(String)
    /// The deadline passed before the whole request was written: Meta cannot have acted on it.
    case timedOutBeforeSending
    /// The deadline passed after the request was written: Meta may have sent the message.
    case timedOutAfterSending
    /// The connection closed or reset after the request was written: Meta may have sent it.
    case connectionClosedAfterSending(String)
    /// Any other failure before the request was fully written.
    case failedBeforeSending(String)

    /// Meta may have accepted the message: do not blindly resend (wait for the echo).
    public var isAmbiguous: Bool {
        switch self {
        case .timedOutAfterSending, .connectionClosedAfterSending: true
        case .connectFailed, .timedOutBeforeSending, .failedBeforeSending: false
        }
    }

    public var description: String {
        switch self {
        case .connectFailed(let reason): "connect failed (\(reason))"
        case .timedOutBeforeSending: "timed out before the request was sent"
        case .timedOutAfterSending: "timed out after the request was sent (ambiguous)"
        case .connectionClosedAfterSending(let reason): "connection closed after the request was sent (\(reason), ambiguous)"
        case .failedBeforeSending(let reason): "failed before the request was sent (\(reason))"
        }
    }
}

/// The `error` object of a Graph error response:
/// `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`.
public struct GraphErrorBody: Sendable, Hashable, Codable {
    public var message: String?
    public var type: String?
    public var code: Int
    public var subcode: Int?
    public var fbtraceId: String?
    /// Meta's own text for people (`error_user_msg`), sometimes present.
    public var userMessage: String?

    public init(
        message: String? = nil,
        type: String? = nil,
        code: Int,
        subcode: Int? = nil,
        fbtraceId: String? = nil,
        userMessage: String? = nil
    ) {
        self.message = message
        self.type = type
        self.code = code
        self.subcode = subcode
        self.fbtraceId = fbtraceId
        self.userMessage = userMessage
    }

    enum CodingKeys: String, CodingKey {
        case message, type, code
        case subcode = "error_subcode"
        case fbtraceId = "fbtrace_id"
        case userMessage = "error_user_msg"
    }

    /// Reads `{"error":{…}}`; nil when the bytes are not a Graph error.
    public static func parse(_ bytes: [UInt8]) -> GraphErrorBody? {
        guard let error = JSONValue.parse(bytes)?["error"], let code = error["code"]?.int64 else { return nil }
        return GraphErrorBody(
            message: error["message"]?.string,
            type: error["type"]?.string,
            code: Int(code),
            subcode: error["error_subcode"]?.int64.map { Int($0) },
            fbtraceId: error["fbtrace_id"]?.string,
            userMessage: error["error_user_msg"]?.string
        )
    }
}
