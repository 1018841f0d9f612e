extension JobKind {
    /// The bot's debounced answer for one conversation (payload: the conversation id). In
    /// its own partition, `bot:<conversation>`, so a delayed answer never holds back the
    /// conversation's inbound events (a partition waits for its head job, even a delayed
    /// one), while two answers of one conversation never run at once.
    public static let botAnswer = JobKind(rawValue: "bot.answer")

    /// The queue partition of a conversation's bot answers.
    public static func botPartition(conversationId: String) -> String { "bot:\(conversationId)" }
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

/// Where the bot keeps its settings and per-conversation state. Saves compare-and-set on
/// the version, because the inbound path, the answer job and the API change one
/// conversation's state concurrently, and a pause must never be lost to a slower answer.
public protocol BotStore: Sendable {
    func botSettings(pageId: String) async throws -> BotPageSettings?
    func saveBotSettings(pageId: String, _ settings: BotPageSettings) async throws
    func botConversation(id: String) async throws -> BotConversationRecord?
    /// Saves `state` if the stored version is still `expectedVersion`, with an audit row and
    /// a `conversation:bot` event per change and the `jobs`, in one transaction.
    /// nil: someone saved first (reload and decide again); else the events to publish.
    func saveBotState(
        conversationId: String,
        expectedVersion: Int64,
        state: BotConversationState,
        changes: [BotStateChange],
        jobs: [NewJob]
    ) async throws -> [RealtimeEvent]?
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
