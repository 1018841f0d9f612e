public import Foundation

extension JobKind {
    /// The bot's debounced answer for one conversation (payload: the conversation id). In
    /// its own partition, `bot:<conversation>`, so a delayed answer never holds back the
    /// conversation's inbound events (a partition waits for its head job, even a delayed
    /// one), while two answers of one conversation never run at once.
    public static let botAnswer = JobKind(rawValue: "bot.answer")

    /// The queue partition of a conversation's bot answers.
    public static func botPartition(conversationId: String) -> String { "bot:\(conversationId)" }
}

extension NewJob {
    /// The conversation's `bot.answer` job, due `at` (nil: now).
    public static func botAnswer(conversationId: String, at: Date?) -> NewJob {
        NewJob(
            kind: .botAnswer,
            partition: JobKind.botPartition(conversationId: conversationId),
            payload: Array(conversationId.utf8),
            maxAttempts: 5,
            runAt: at
        )
    }
}

/// The model a Page's bot asks, as stored; the key is sealed like Page tokens (invariant 8)
/// and is never read back through the API.
public struct BotModelSettings: Sendable, Equatable {
    public var baseURL: String
    public var model: String
    public var sealedAPIKey: [UInt8]?

    public init(baseURL: String, model: String, sealedAPIKey: [UInt8]?) {
        self.baseURL = baseURL
        self.model = model
        self.sealedAPIKey = sealedAPIKey
    }
}

/// A Page's bot as stored: on or off, its settings, and the model (nil: rule-based).
public struct BotPageSettings: Sendable, Equatable {
    public var enabled: Bool
    public var settings: BotSettings
    public var model: BotModelSettings?

    public init(enabled: Bool, settings: BotSettings = BotSettings(), model: BotModelSettings? = nil) {
        self.enabled = enabled
        self.settings = settings
        self.model = model
    }
}

/// One conversation's bot state as stored, with the version a save must match.
public struct BotConversationRecord: Sendable, Equatable {
    public var conversationId: String
    public var pageId: String
    public var psid: String
    public var state: BotConversationState
    public var version: Int64

    public init(conversationId: String, pageId: String, psid: String, state: BotConversationState, version: Int64) {
        self.conversationId = conversationId
        self.pageId = pageId
        self.psid = psid
        self.state = state
        self.version = version
    }
}

/// A pause or resume, for the audit log and the `conversation:bot` event.
public struct BotStateChange: Sendable, Equatable {
    /// `active` or `paused`.
    public var state: String
    /// The pause reason (`agent_replied`, …) or the resume trigger (`manual`, `quiet_period`).
    public var reason: String
    /// Who caused it: `bot`, `user:<id>`, `webhook`.
    public var actor: String

    public init(state: String, reason: String, actor: String) {
        self.state = state
        self.reason = reason
        self.actor = actor
    }

    public init(_ transition: BotDecision.Transition, actor: String) {
        switch transition {
        case .paused(let reason): self.init(state: "paused", reason: reason.rawValue, actor: actor)
        case .resumed(let trigger): self.init(state: "active", reason: trigger, actor: actor)
        }
    }
}

/// The payload of `conversation:bot`: agents see at once that a conversation needs them.
public struct ConversationBotPayload: Codable, Sendable, Equatable {
    public var conversationId: String
    public var state: String
    public var reason: String?

    public init(conversationId: String, state: String, reason: String?) {
        self.conversationId = conversationId
        self.state = state
        self.reason = reason
    }
}

/// What a feed stored, for the caller that acts on it after the commit.
public struct BotFeedResult: Sendable, Equatable {
    public var pageId: String
    public var psid: String
    /// The Page's bot as read in the feed's transaction.
    public var page: BotPageSettings
    /// The state's version after the feed: a reply made for `plan.answer` is queued only
    /// while the version is still this (`BotStore.queueBotReply`).
    public var version: Int64
    public var plan: BotFeedPlan
    /// To publish after the commit: `conversation:bot`, the notice's `message:new`, …
    public var events: [RealtimeEvent]

    public init(pageId: String, psid: String, page: BotPageSettings, version: Int64, plan: BotFeedPlan, events: [RealtimeEvent]) {
        self.pageId = pageId
        self.psid = psid
        self.page = page
        self.version = version
        self.plan = plan
        self.events = events
    }
}

/// One call of a Page's model, as the stats screen counts it.
public struct BotModelCall: Sendable, Equatable {
    public var durationMilliseconds: Int64
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// The `LLMError` code when the call failed.
    public var failure: String?

    public init(durationMilliseconds: Int64, promptTokens: Int?, completionTokens: Int?, failure: String?) {
        self.durationMilliseconds = durationMilliseconds
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.failure = failure
    }
}

/// One answer the bot made (a due `bot.answer`), stored durably with the save that ends it
/// (`bot_answers`), so the stats survive restarts and count every process's work.
public struct BotAnswerRecord: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        /// The reply was queued.
        case reply
        /// The bot handed over instead (the model's tool, a failure, no rule).
        case handover
        /// The conversation changed while answering (a person took over, the customer
        /// wrote again): the reply was not queued.
        case dropped
    }

    public var outcome: Outcome
    /// nil: the rule-based answerer answered.
    public var modelCall: BotModelCall?

    public init(outcome: Outcome, modelCall: BotModelCall?) {
        self.outcome = outcome
        self.modelCall = modelCall
    }
}

/// A reply the bot made, to queue only if the conversation's bot state is still the one
/// the answer was made for.
public struct BotReply: Sendable, Equatable {
    public var conversationId: String
    public var text: String
    /// Keyed by the job: a retried job queues the reply once.
    public var clientId: String
    /// `BotFeedResult.version` of the feed that asked for the answer.
    public var expectedVersion: Int64
    /// The `.answer`'s `upTo` and whether the text carries the disclosure.
    public var upTo: Date
    public var disclosed: Bool
    /// The answer's model call, if any, for `bot_answers`.
    public var modelCall: BotModelCall?
    /// The lease of the answer job that made the reply was on disk before the reply is
    /// queued (``BotStore/syncCommitted()``). A power loss that takes back the reply then
    /// runs that job again, and a job run again waits for Meta's echo before answering
    /// (`BotAnswerHandler`). So the reply's send, when handed straight to the sender, may
    /// keep its mark in a relaxed commit. False: that commit is made durable.
    public var startDurable = false

    public init(
        conversationId: String,
        text: String,
        clientId: String,
        expectedVersion: Int64,
        upTo: Date,
        disclosed: Bool,
        modelCall: BotModelCall?
    ) {
        self.conversationId = conversationId
        self.text = text
        self.clientId = clientId
        self.expectedVersion = expectedVersion
        self.upTo = upTo
        self.disclosed = disclosed
        self.modelCall = modelCall
    }
}

/// Where the bot keeps its settings and per-conversation state. Every change runs the
/// policy inside one transaction that holds the conversation's row, so the inbound path,
/// the answer job, assignments and the API never lose each other's changes, and a pause
/// that lands while an answer is being made always wins over that answer.
public protocol BotStore: Sendable {
    func botSettings(pageId: String) async throws -> BotPageSettings?
    func saveBotSettings(pageId: String, _ settings: BotPageSettings) async throws
    func botConversation(id: String) async throws -> BotConversationRecord?
    /// Feeds `events` to the conversation's policy and stores what it decided (state,
    /// audit rows, `conversation:bot`, answer jobs, the notice as a queued bot message) in
    /// one transaction, with `answer` in `bot_answers` when given. nil: the Page's bot is
    /// off (nothing is stored, so turning it on later starts fresh). Not `durable`: a
    /// commit a power loss may take back, for saves the answer job makes again if lost.
    func feedBot(
        conversationId: String,
        _ events: [BotEvent],
        actor: String,
        answer: BotAnswerRecord?,
        durable: Bool
    ) async throws -> BotFeedResult?
    /// Queues the reply as the bot and feeds `.answerSent`, in one transaction, only if the
    /// bot state's version is still `reply.expectedVersion` (else records it as dropped:
    /// `queued` false). A 24-hour window that closed meanwhile pauses the bot instead
    /// (`window_closed`). nil: the Page's bot is off. A relaxed commit: the answer job
    /// that makes it runs again if a power loss takes it back. When the reply's send is
    /// handed straight to the sender, the commit is made durable, unless
    /// `reply.startDurable`.
    func queueBotReply(_ reply: BotReply) async throws -> (result: BotFeedResult, queued: Bool)?
    /// Returns once everything committed so far is on disk (the answer job's lease among
    /// it: ``BotReply/startDurable``).
    func syncCommitted() async throws
    /// Enqueues a `bot.answer` job for the conversation, due `at`.
    func scheduleBotAnswer(conversationId: String, at: Date) async throws
}

extension SwitchboardError.Code {
    /// The bot's settings are not acceptable (bad JSON, a model without a base URL, …).
    public static let botSettingsInvalid = SwitchboardError.Code("bot.settings_invalid")
}

extension BotConversationState {
    /// Why the bot is paused; nil while it is active.
    public var pauseReason: BotPauseReason? {
        if case .paused(let reason) = mode { return reason }
        return nil
    }
}

/// A Page's bot over a period, from durable rows (`bot_answers`, the audit log), for the
/// stats screen: `/metrics` shows the same numbers per process since it started.
public struct BotStats: Codable, Sendable, Equatable {
    public struct Model: Codable, Sendable, Equatable {
        public var calls: Int
        /// Nearest-rank percentiles of the calls' latency; null without calls.
        public var p50Ms: Int?
        public var p99Ms: Int?
        public var promptTokens: Int
        public var completionTokens: Int
        /// Failed calls by `LLMError` code (`llm.timeout`, …).
        public var failures: [String: Int]

        public init(calls: Int, p50Ms: Int?, p99Ms: Int?, promptTokens: Int, completionTokens: Int, failures: [String: Int]) {
            self.calls = calls
            self.p50Ms = p50Ms
            self.p99Ms = p99Ms
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.failures = failures
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(calls, forKey: .calls)
            try c.encode(p50Ms, forKey: .p50Ms)
            try c.encode(p99Ms, forKey: .p99Ms)
            try c.encode(promptTokens, forKey: .promptTokens)
            try c.encode(completionTokens, forKey: .completionTokens)
            try c.encode(failures, forKey: .failures)
        }
    }

    public var pageId: String
    /// ISO-8601: the period's start.
    public var since: String
    /// Answers the bot queued (notices not counted).
    public var replies: Int
    /// Pauses by reason (`customer_asked_for_human`, `agent_took_over`, …).
    public var handovers: [String: Int]
    public var llm: Model

    public init(pageId: String, since: String, replies: Int, handovers: [String: Int], llm: Model) {
        self.pageId = pageId
        self.since = since
        self.replies = replies
        self.handovers = handovers
        self.llm = llm
    }
}
