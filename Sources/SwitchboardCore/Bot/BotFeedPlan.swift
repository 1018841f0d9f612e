public import Foundation

/// What feeding events to one conversation's policy comes to, before anything is stored:
/// the new state, the pauses and resumes for the audit log and `conversation:bot`, the
/// debounced `bot.answer` jobs, the answer to make and the notice to send. Pure, so the
/// store carries it out inside whichever transaction brought the events (the inbound
/// apply, an assignment, the answer job's own save) and nothing is decided twice.
public struct BotFeedPlan: Sendable, Equatable {
    /// The policy's `.answer(disclose:upTo:)`: the caller makes the answer.
    public struct Answer: Sendable, Equatable {
        public var disclose: Bool
        public var upTo: Date
    }

    public var state: BotConversationState
    public var decisions: [BotDecision]
    public var changes: [BotStateChange]
    /// The debounced answers to schedule (`bot:<conversation>` partition).
    public var jobs: [NewJob]
    public var answer: Answer?
    /// The handover or fallback text to queue as the bot, if the policy asked for it.
    public var notice: String?
    /// False when nothing changed: no save, so the state's version stays and a reply being
    /// made meanwhile is still valid.
    public let needsSave: Bool

    public init(settings: BotSettings, state: BotConversationState, events: [BotEvent], actor: String, conversationId: String, now: Date) {
        var policy = BotPolicy(configuration: settings.policy, state: state)
        var decisions: [BotDecision] = []
        var changes: [BotStateChange] = []
        var jobs: [NewJob] = []
        var answer: Answer?
        var notice = false
        for event in events {
            let decision = policy.handle(event, now: now)
            decisions.append(decision)
            if let transition = decision.transition { changes.append(BotStateChange(transition, actor: actor)) }
            switch decision.action {
            case .none: break
            case .wait(let until):
                jobs.append(.botAnswer(conversationId: conversationId, at: until))
            case .answer(let disclose, let upTo): answer = Answer(disclose: disclose, upTo: upTo)
            case .sendHandoverNotice: notice = true
            }
        }
        self.state = policy.state
        self.decisions = decisions
        self.changes = changes
        self.jobs = jobs
        self.answer = answer
        self.notice = notice ? settings.texts.notice(for: policy.state.pauseReason ?? .noAnswer) : nil
        self.needsSave = policy.state != state || !changes.isEmpty || !jobs.isEmpty || notice
    }

    /// The reasons of the pauses this feed made (the handovers-by-reason metric).
    public var handovers: [BotPauseReason] {
        changes.compactMap { $0.state == "paused" ? BotPauseReason(rawValue: $0.reason) : nil }
    }
}
