/// What the sender should do about a failed Graph call (messenger-platform.md §7).
///
/// Decided by `code` and `error_subcode` only, never by message text (Chatwoot missed 190s
/// that way). `reason` is a sentence for the person who sees the failed message.
public struct GraphFailureClass: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable {
        /// Back off with jitter and try again. If `isAmbiguous`, wait for the echo first.
        case retry
        /// The Page is throttled: pause every send of this Page for `pauseFor`, then retry.
        case pausePage = "pause_page"
        /// Outside the messaging window (10/2018278): do not retry; HUMAN_AGENT may apply.
        case windowClosed = "window_closed"
        /// The Page token is no longer valid (190): stop sending for this Page, ask an admin.
        case reauthorize
        /// The customer cannot receive messages (blocked, deactivated): mark the contact.
        case recipientUnreachable = "recipient_unreachable"
        /// Any other definitive failure: fail the message with `reason`.
        case fail
    }

    public var action: Action
    /// A stable code for the message's `error.code`, e.g. `graph.window_closed`.
    public var code: String
    /// A sentence a person understands.
    public var reason: String
    /// Meta may already have delivered the message (see `GraphError.isAmbiguous`).
    public var isAmbiguous: Bool
    /// For `.pausePage`: how long, from the usage header, when known.
    public var pauseFor: Duration?

    public init(action: Action, code: String, reason: String, isAmbiguous: Bool = false, pauseFor: Duration? = nil) {
        self.action = action
        self.code = code
        self.reason = reason
        self.isAmbiguous = isAmbiguous
        self.pauseFor = pauseFor
    }

    public var isRetryable: Bool { action == .retry || action == .pausePage }
}

/// The table of messenger-platform.md §7 as a pure function.
public enum GraphErrorClassifier {
    /// A pause used when a Page is throttled but the usage header gives no time.
    public static let defaultPagePause: Duration = .seconds(60)

    public static func classify(_ error: GraphError) -> GraphFailureClass {
        switch error.kind {
        case .transport(let failure):
            return GraphFailureClass(
                action: .retry,
                code: failure.isAmbiguous ? "graph.transport_ambiguous" : "graph.transport",
                reason: failure.isAmbiguous
                    ? "Facebook did not answer in time; the message may have been delivered, so we wait before retrying."
                    : "Facebook could not be reached; we will try again.",
                isAmbiguous: failure.isAmbiguous
            )
        case .invalidResponse:
            return GraphFailureClass(
                action: .retry,
                code: "graph.invalid_response",
                reason: "Facebook answered with something we could not read; the message may have been delivered.",
                isAmbiguous: error.isAmbiguous
            )
        case .http(let status, nil):
            if status >= 500 || status == 429 {
                return GraphFailureClass(
                    action: .retry,
                    code: "graph.http_\(status)",
                    reason: "Facebook had a temporary problem (HTTP \(status)); we will try again.",
                    isAmbiguous: error.isAmbiguous
                )
            }
            return GraphFailureClass(
                action: .fail,
                code: "graph.http_\(status)",
                reason: "Facebook refused the request (HTTP \(status))."
            )
        case .http(_, let body?):
            return classify(body, usage: error.usage, ambiguous: error.isAmbiguous)
        }
    }

    static func classify(_ body: GraphErrorBody, usage: BusinessUseCaseUsage?, ambiguous: Bool) -> GraphFailureClass {
        func make(_ action: GraphFailureClass.Action, _ code: String, _ reason: String) -> GraphFailureClass {
            GraphFailureClass(action: action, code: code, reason: reason, isAmbiguous: ambiguous && action == .retry)
        }
        let pause = usage?.regainAccessAfter() ?? defaultPagePause
        switch (body.code, body.subcode) {
        case (10, 2_018_278?):
            return make(
                .windowClosed,
                "graph.window_closed",
                "The customer hasn't written in the last 24 hours, so Messenger refuses this message."
            )
        case (10, 2_018_065?):
            return make(
                .windowClosed,
                "graph.window_closed",
                "The customer hasn't written recently enough, so Messenger refuses this message."
            )
        case (10, 2_018_108?):
            return make(
                .recipientUnreachable,
                "graph.recipient_unreachable",
                "This person can't receive messages from the Page."
            )
        case (10, 1_893_063?):
            return make(
                .fail,
                "graph.page_restricted",
                "Facebook has temporarily restricted this Page from sending messages."
            )
        case (551, _), (200, 1_545_041?):
            return make(
                .recipientUnreachable,
                "graph.recipient_unreachable",
                "This person isn't available right now (they may have blocked the Page or deactivated their account)."
            )
        case (190, _):
            return make(
                .reauthorize,
                "graph.reauthorization_required",
                "Facebook no longer accepts the Page's access token; an admin must reconnect the Page."
            )
        case (4, 2_018_354?), (9, 2_018_352?):
            return make(
                .fail,
                "graph.marketing_limit",
                "Facebook's limit on marketing messages to this person was reached."
            )
        case (32, _), (613, _):
            var result = make(.pausePage, "graph.page_throttled", "Facebook is rate-limiting this Page; sending resumes shortly.")
            result.pauseFor = pause
            return result
        case (4, _):
            if usage?.regainAccessAfter() != nil {
                var result = make(.pausePage, "graph.page_throttled", "Facebook is rate-limiting this Page; sending resumes shortly.")
                result.pauseFor = pause
                return result
            }
            return make(.retry, "graph.app_rate_limited", "Facebook is rate-limiting the app; we will try again.")
        case (17, _):
            return make(.retry, "graph.user_rate_limited", "Facebook is rate-limiting requests; we will try again.")
        case (1200, _):
            return make(.retry, "graph.temporary", "Facebook had a temporary problem sending; we will try again.")
        case (2, 2_018_344?):
            return make(.fail, "graph.custom_labels_tos", "The Page has not accepted the custom labels terms.")
        case (2, _):
            return make(.retry, "graph.temporary", "Facebook had an unexpected temporary problem; we will try again.")
        case (100, 2_018_001?):
            return make(
                .recipientUnreachable,
                "graph.no_matching_user",
                "Facebook doesn't know this person for this Page."
            )
        case (100, 2_018_109?):
            return make(.fail, "graph.attachment_too_large", "The attachment is too large for Messenger.")
        case (100, 2_018_034?):
            return make(.fail, "graph.empty_message", "The message is empty.")
        case (100, _):
            return make(.fail, "graph.invalid_parameter", "Facebook rejected the message as invalid.")
        case (200, 2_018_028?), (200, 2_018_027?):
            return make(
                .fail,
                "graph.app_not_approved",
                "The app isn't live or lacks approval, so it can only message people with a role on the app."
            )
        case (200, _), (230, _), (210, _), (1, _), (99, _), (3, _), (10, _):
            return make(
                .fail,
                "graph.permission",
                "The app lacks a permission Facebook requires to send this message."
            )
        default:
            return make(.fail, "graph.error_\(body.code)", "Facebook refused the message (error \(body.code)).")
        }
    }
}
