public import Foundation

/// Why the bot stopped answering a conversation. The raw values are stable: they go to the
/// audit log, the API (`bot.reason`) and the handovers-by-reason metric.
public enum BotPauseReason: String, Sendable, Equatable, Codable, CaseIterable {
    /// The customer's message matched a handover keyword ("human", "agent", …).
    case customerAskedForHuman = "customer_asked_for_human"
    /// The model called the `handover` tool.
    case handoverTool = "handover_tool"
    /// An agent replied from the dashboard.
    case agentReplied = "agent_replied"
    /// An agent took (was assigned) the conversation.
    case agentTookOver = "agent_took_over"
    /// An echo from another app: a person answered in Meta's inbox.
    case humanInMetaInbox = "human_in_meta_inbox"
    /// The model failed (error or deadline); the customer got the fallback text.
    case llmFailed = "llm_failed"
    /// The rule-based answerer had no answer.
    case noAnswer = "no_answer"
    /// The bot answered `maxAnswersWithoutResolution` times in a row without a human.
    case tooManyAnswers = "too_many_answers"
    /// The 24-hour window closed before the bot could answer: only a human may write now.
    case windowClosed = "window_closed"
    /// Someone paused it in the dashboard.
    case manual = "manual"

    /// A human was active: the bot may come back once they have been quiet for a while.
    public var resumesWhenQuiet: Bool { self == .agentReplied || self == .humanInMetaInbox }

    /// The customer is told a person will answer (never for a pause a human caused, who is
    /// already talking, and never outside the window, where the bot may not write).
    public var notifiesCustomer: Bool {
        switch self {
        case .customerAskedForHuman, .handoverTool, .llmFailed, .noAnswer, .tooManyAnswers: true
        case .agentReplied, .agentTookOver, .humanInMetaInbox, .windowClosed, .manual: false
        }
    }

    /// Waiting for a human; a human's reply turns it into `agentReplied`/`humanInMetaInbox`.
    var awaitsHuman: Bool { notifiesCustomer || self == .windowClosed }
}

/// The bot's knobs for one Page, with defaults that suit a small shop.
public struct BotPolicyConfiguration: Sendable, Equatable {
    /// Quiet time after a customer's message before answering, so a burst gets one answer.
    public var debounce: TimeInterval
    /// The longest a burst can delay the answer, counted from its first message.
    public var maxDebounce: TimeInterval
    /// Answers in a row, with no human in between, before handing over.
    public var maxAnswersWithoutResolution: Int
    /// After a human's last message, how long before the bot answers again on its own;
    /// nil: only a manual resume.
    public var quietPeriodBeforeResume: TimeInterval?
    /// Disclose again when the bot has not written for this long.
    public var disclosureGap: TimeInterval
    /// Phrases by which a customer asks for a person.
    public var handoverKeywords: [String]

    public static let defaultHandoverKeywords = [
        "human", "agent", "person", "real person", "someone real", "representative", "operator", "talk to someone",
        "speak to someone", "mensch", "mitarbeiter", "humano", "persona", "humain",
    ]

    public init(
        debounce: TimeInterval = 3,
        maxDebounce: TimeInterval = 10,
        maxAnswersWithoutResolution: Int = 5,
        quietPeriodBeforeResume: TimeInterval? = 30 * 60,
        disclosureGap: TimeInterval = 24 * 60 * 60,
        handoverKeywords: [String] = BotPolicyConfiguration.defaultHandoverKeywords
    ) {
        self.debounce = debounce
        self.maxDebounce = max(maxDebounce, debounce)
        self.maxAnswersWithoutResolution = max(1, maxAnswersWithoutResolution)
        self.quietPeriodBeforeResume = quietPeriodBeforeResume
        self.disclosureGap = disclosureGap
        self.handoverKeywords = handoverKeywords
    }
}

/// What happened in a conversation that the bot must know about.
public enum BotEvent: Sendable, Equatable {
    /// The customer wrote (inbound, not an echo).
    case customerMessage(text: String?, at: Date)
    /// An echo of a message our app sent (the bot's or an agent's): never answered.
    case ownEcho(at: Date)
    /// An agent's reply from the dashboard.
    case agentMessage(at: Date)
    /// An echo from another app: a person answered in Meta's inbox.
    case otherAppEcho(at: Date)
    /// An agent took the conversation.
    case agentTookOver(at: Date)
    /// The debounce time scheduled by `.wait(until:)` came.
    case answerDue
    /// The bot's answer left through the Send API. `upTo` is the `upTo` of the `.answer`
    /// action (the newest customer message it answered), `disclosed` whether it carried the
    /// disclosure.
    case answerSent(at: Date, upTo: Date, disclosed: Bool)
    /// The model asked to hand over (the `handover` tool).
    case modelRequestedHandover
    /// The answerer could not answer (model error or deadline, or rule-based "no answer").
    case answerFailed(BotPauseReason)
    /// Someone resumed the bot in the dashboard.
    case resumed
    /// Someone paused the bot in the dashboard.
    case paused
    /// The conversation was marked resolved.
    case resolved
}

/// One decision of the policy, with the reason the audit log records.
public struct BotDecision: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// Nothing to do.
        case none
        /// Deliver `.answerDue` at this time (a delayed job); earlier ones are harmless.
        case wait(until: Date)
        /// Answer now (typing_on first), covering customer messages up to `upTo`; start
        /// with the disclosure text when `disclose`.
        case answer(disclose: Bool, upTo: Date)
        /// Tell the customer a person will answer (the handover text), as the bot.
        case sendHandoverNotice
    }

    /// A change of the bot's state for this conversation, for the API and agents' live view.
    public enum Transition: Sendable, Equatable {
        case paused(BotPauseReason)
        /// `trigger`: `manual` or `quiet_period`.
        case resumed(trigger: String)
    }

    public var action: Action
    public var transition: Transition?
    /// A stable code for the audit log (`ignored.own_echo`, `debounce`, `answer`, …).
    public var reason: String

    public init(_ action: Action, transition: Transition? = nil, reason: String) {
        self.action = action
        self.transition = transition
        self.reason = reason
    }
}
