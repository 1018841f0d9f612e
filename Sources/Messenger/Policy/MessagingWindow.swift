public import Foundation

/// Who wrote an outbound message; it decides whether the HUMAN_AGENT tag may be used.
public enum AuthorKind: String, Sendable, Hashable {
    /// A person typed it in the dashboard.
    case human
    /// The bot or any automation.
    case automation
}

/// Messenger's messaging windows as a pure policy (invariant 7, messenger-platform.md §6.3).
///
/// Counted from the customer's **last inbound** message: under 24 h anything may be sent as
/// `RESPONSE`; from 24 h to under 7 days only human-written messages, tagged `HUMAN_AGENT`;
/// after that nothing until the customer writes again.
public enum MessagingWindow {
    /// The standard window.
    public static let standard: TimeInterval = 24 * 60 * 60
    /// The HUMAN_AGENT window.
    public static let humanAgent: TimeInterval = 7 * 24 * 60 * 60

    /// The window as the dashboard shows it.
    public enum State: String, Sendable, Hashable {
        case open
        case humanAgent = "human_agent"
        case closed
    }

    /// Why a send is refused before calling Meta.
    public enum Refusal: String, Sendable, Hashable, Error, CustomStringConvertible {
        /// The customer never wrote to the Page.
        case neverOpened = "window.never_opened"
        /// Automation may not send once 24 h have passed.
        case automationAfterStandardWindow = "window.automation_after_24h"
        /// 7 days have passed since the customer's last message.
        case closed = "window.closed"

        /// A sentence for the person who sees the refused message.
        public var reason: String {
            switch self {
            case .neverOpened:
                "The customer has never written to the Page, so Messenger doesn't allow messaging them."
            case .automationAfterStandardWindow:
                "The customer hasn't written in the last 24 hours, so only a person may reply (within 7 days)."
            case .closed:
                "The customer hasn't written in the last 7 days, so Messenger refuses any message until they write again."
            }
        }

        public var description: String { rawValue }
    }

    /// The answer for one outbound message.
    public enum Decision: Sendable, Hashable {
        /// Send with this `messaging_type` (and tag).
        case allowed(MessagingType)
        case refused(Refusal)
    }

    /// Whether `author` may send now, and how.
    public static func decide(lastInboundAt: Date?, now: Date, author: AuthorKind) -> Decision {
        switch state(lastInboundAt: lastInboundAt, now: now).state {
        case .open:
            return .allowed(.response)
        case .humanAgent:
            return author == .human ? .allowed(.messageTag(.humanAgent)) : .refused(.automationAfterStandardWindow)
        case .closed:
            return .refused(lastInboundAt == nil ? .neverOpened : .closed)
        }
    }

    /// The state for the UI and when it ends (`closesAt` is nil when already closed).
    /// `open` closes into `human_agent` at `closesAt`; `human_agent` closes for good at `closesAt`.
    public static func state(lastInboundAt: Date?, now: Date) -> (state: State, closesAt: Date?) {
        guard let lastInboundAt else { return (.closed, nil) }
        let elapsed = now.timeIntervalSince(lastInboundAt)
        if elapsed < standard { return (.open, lastInboundAt.addingTimeInterval(standard)) }
        if elapsed < humanAgent { return (.humanAgent, lastInboundAt.addingTimeInterval(humanAgent)) }
        return (.closed, nil)
    }
}
