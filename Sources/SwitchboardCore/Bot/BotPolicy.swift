public import Foundation
internal import Messenger

/// The bot's state for one conversation, stored with it (JSON), and changed only by
/// `BotPolicy.handle`.
public struct BotConversationState: Sendable, Equatable, Codable {
    public enum Mode: Sendable, Equatable, Codable {
        case active
        case paused(BotPauseReason)
    }

    public var mode: Mode = .active
    /// The customer's newest message: the 24-hour window counts from it.
    public var lastCustomerAt: Date?
    /// The first customer message not answered yet (nil: nothing to answer).
    public var pendingSince: Date?
    /// When the pending burst is answered, unless another message pushes it.
    public var answerDueAt: Date?
    /// A person's newest message or takeover.
    public var lastHumanAt: Date?
    /// The bot's newest answer.
    public var lastBotAnswerAt: Date?
    /// The next answer starts with the disclosure (a new conversation or a handback).
    public var needsDisclosure = true
    /// Answers in a row with no human in between.
    public var answersWithoutResolution = 0

    public init() {}

    public var isPaused: Bool { mode != .active }
}

/// When the bot answers a conversation, and when it stops: a value-type state machine with
/// no I/O and no clock (each call gets `now`), tested event by event.
///
/// The rules (issue 9, messenger-platform.md §6.3): the bot answers only customers'
/// messages, never echoes (its own, an agent's, another app's); a burst of messages gets one
/// answer after `debounce` of quiet (at most `maxDebounce` after the first); it answers only
/// inside the 24-hour window (it never uses HUMAN_AGENT: outside, it pauses with
/// `window_closed` so a person sees the conversation); it discloses that it is automated
/// first, after a handback and after a long silence. It pauses when a person should take
/// over (see `BotPauseReason`) and resumes manually, or by itself when the customer writes
/// after the human who caused the pause has been quiet for `quietPeriodBeforeResume`.
public struct BotPolicy: Sendable, Equatable {
    public var configuration: BotPolicyConfiguration
    public private(set) var state: BotConversationState
    private let handoverKeywords: KeywordMatcher

    public init(configuration: BotPolicyConfiguration = BotPolicyConfiguration(), state: BotConversationState = BotConversationState()) {
        self.configuration = configuration
        self.state = state
        self.handoverKeywords = KeywordMatcher(configuration.handoverKeywords)
    }

    public mutating func handle(_ event: BotEvent, now: Date) -> BotDecision {
        switch event {
        case .customerMessage(let text, let at):
            return customerMessage(text: text, at: at, now: now)
        case .ownEcho:
            return BotDecision(.none, reason: "ignored.own_echo")
        case .agentMessage(let at):
            return humanActivity(at: at, reason: .agentReplied)
        case .otherAppEcho(let at):
            return humanActivity(at: at, reason: .humanInMetaInbox)
        case .agentTookOver(let at):
            return humanActivity(at: at, reason: .agentTookOver)
        case .answerDue:
            return answerDue(now: now)
        case .answerSent(let at, let upTo, let disclosed):
            state.lastBotAnswerAt = at
            state.answersWithoutResolution += 1
            if disclosed { state.needsDisclosure = false }
            if let last = state.lastCustomerAt, last > upTo {
                // Written while the answer was being made: still to answer (its message
                // already scheduled an `.answerDue`).
                state.pendingSince = last
                return BotDecision(.none, reason: "answer_sent.more_pending")
            }
            state.pendingSince = nil
            state.answerDueAt = nil
            return BotDecision(.none, reason: "answer_sent")
        case .modelRequestedHandover:
            return pause(.handoverTool, now: now)
        case .answerFailed(let reason):
            return pause(reason, now: now)
        case .resumed:
            guard state.isPaused else { return BotDecision(.none, reason: "ignored.already_active") }
            resume()
            return BotDecision(.none, transition: .resumed(trigger: "manual"), reason: "resumed.manual")
        case .paused:
            return pause(.manual, now: now)
        case .resolved:
            state.answersWithoutResolution = 0
            state.pendingSince = nil
            state.answerDueAt = nil
            return BotDecision(.none, reason: "resolved")
        }
    }

    // MARK: - Customer messages and answers

    private mutating func customerMessage(text: String?, at: Date, now: Date) -> BotDecision {
        state.lastCustomerAt = max(state.lastCustomerAt ?? at, at)
        guard MessagingWindow.state(lastInboundAt: at, now: now).state == .open else {
            // A replayed or very late webhook: nobody is waiting for this answer.
            return BotDecision(.none, reason: "ignored.outside_window")
        }
        var transition: BotDecision.Transition?
        if case .paused(let reason) = state.mode {
            guard reason.resumesWhenQuiet, let quiet = configuration.quietPeriodBeforeResume,
                at.timeIntervalSince(state.lastHumanAt ?? .distantPast) >= quiet
            else { return BotDecision(.none, reason: "ignored.paused.\(reason.rawValue)") }
            resume()
            transition = .resumed(trigger: "quiet_period")
        }
        if let text, handoverKeywords.matches(text) {
            return pause(.customerAskedForHuman, now: now)
        }
        let first = state.pendingSince ?? at
        state.pendingSince = first
        let due = min(at.addingTimeInterval(configuration.debounce), first.addingTimeInterval(configuration.maxDebounce))
        state.answerDueAt = max(state.answerDueAt ?? due, due)
        return BotDecision(.wait(until: state.answerDueAt!), transition: transition, reason: "debounce")
    }

    private mutating func answerDue(now: Date) -> BotDecision {
        if case .paused(let reason) = state.mode { return BotDecision(.none, reason: "ignored.paused.\(reason.rawValue)") }
        guard state.pendingSince != nil, let upTo = state.lastCustomerAt else {
            return BotDecision(.none, reason: "ignored.nothing_pending")
        }
        if let due = state.answerDueAt, due > now { return BotDecision(.wait(until: due), reason: "debounce.extended") }
        guard MessagingWindow.state(lastInboundAt: upTo, now: now).state == .open else { return pause(.windowClosed, now: now) }
        if state.answersWithoutResolution >= configuration.maxAnswersWithoutResolution { return pause(.tooManyAnswers, now: now) }
        let silence = state.lastBotAnswerAt.map { now.timeIntervalSince($0) >= configuration.disclosureGap } ?? true
        return BotDecision(.answer(disclose: state.needsDisclosure || silence, upTo: upTo), reason: "answer")
    }

    // MARK: - Pausing and resuming

    private mutating func humanActivity(at: Date, reason: BotPauseReason) -> BotDecision {
        state.lastHumanAt = max(state.lastHumanAt ?? at, at)
        state.answersWithoutResolution = 0
        // A person is answering: the bot must not answer the same messages.
        state.pendingSince = nil
        state.answerDueAt = nil
        switch state.mode {
        case .active:
            state.mode = .paused(reason)
            return BotDecision(.none, transition: .paused(reason), reason: "paused.\(reason.rawValue)")
        case .paused(let current):
            // A takeover outranks everything but a manual pause; a reply replaces a pause
            // that was waiting for a human (so the quiet period can bring the bot back).
            let replace = current != .manual && (reason == .agentTookOver ? current != .agentTookOver : current.awaitsHuman)
            guard replace else { return BotDecision(.none, reason: "human_activity.while_paused.\(current.rawValue)") }
            state.mode = .paused(reason)
            return BotDecision(.none, transition: .paused(reason), reason: "paused.\(reason.rawValue)")
        }
    }

    private mutating func pause(_ reason: BotPauseReason, now: Date) -> BotDecision {
        if case .paused(let current) = state.mode, reason != .manual {
            return BotDecision(.none, reason: "ignored.paused.\(current.rawValue)")
        }
        state.mode = .paused(reason)
        state.pendingSince = nil
        state.answerDueAt = nil
        let windowOpen = state.lastCustomerAt.map { MessagingWindow.state(lastInboundAt: $0, now: now).state == .open } ?? false
        let action: BotDecision.Action = reason.notifiesCustomer && windowOpen ? .sendHandoverNotice : .none
        return BotDecision(action, transition: .paused(reason), reason: "paused.\(reason.rawValue)")
    }

    private mutating func resume() {
        state.mode = .active
        state.needsDisclosure = true
        state.answersWithoutResolution = 0
        state.pendingSince = nil
        state.answerDueAt = nil
    }
}
