public import Foundation

/// A connected Facebook Page as stored. The token is sealed (AES-GCM, invariant 8); only
/// the sender and the Graph checks open it.
public struct PageRecord: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        case active
        case reauthorizationRequired = "reauthorization_required"
        case rateLimited = "rate_limited"
    }

    public var id: String
    public var name: String?
    public var sealedAccessToken: [UInt8]?
    public var sealedAppSecret: [UInt8]?
    public var state: State
    public var stateReason: String?
    public var pausedUntil: Date?
    public var subscribedAt: Date?

    public init(
        id: String,
        name: String?,
        sealedAccessToken: [UInt8]?,
        sealedAppSecret: [UInt8]? = nil,
        state: State = .active,
        stateReason: String? = nil,
        pausedUntil: Date? = nil,
        subscribedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.sealedAccessToken = sealedAccessToken
        self.sealedAppSecret = sealedAppSecret
        self.state = state
        self.stateReason = stateReason
        self.pausedUntil = pausedUntil
        self.subscribedAt = subscribedAt
    }
}

/// Which conversations a list shows. Every filter is applied in the query, so paging stays
/// exact however few conversations match.
public struct ConversationQuery: Sendable, Equatable {
    /// Whose conversations: nobody's, or one user's (by user id).
    public enum Assignee: Sendable, Equatable {
        case nobody
        case user(String)
    }

    /// The bot's state: `active` (the bot is handling it), `paused` (handed over: a person
    /// is needed), `off` (no bot on its Page).
    public enum BotState: String, Sendable, Equatable, CaseIterable {
        case active
        case paused
        case off
    }

    /// Messenger's reply window, counted from the customer's last message.
    public enum Window: Sendable, Equatable {
        case open
        case humanAgent
        case closed
        /// Replies get harder soon: the 24-hour window ends within `within` seconds, or it
        /// already ended and only a human agent may reply (up to 7 days).
        case closing(within: TimeInterval)
    }

    public var pageId: String?
    /// The Pages the caller may see (an agent limited to some Pages).
    public var visibility: PageVisibility
    public var unreadOnly: Bool
    public var assignee: Assignee?
    public var bot: BotState?
    public var window: Window?
    /// Open or resolved (nil: both).
    public var status: ConversationStatus?
    public var search: String?
    public var limit: Int
    public var cursor: String?

    public init(
        pageId: String? = nil,
        visibility: PageVisibility = .all,
        unreadOnly: Bool = false,
        assignee: Assignee? = nil,
        bot: BotState? = nil,
        window: Window? = nil,
        search: String? = nil,
        limit: Int = 50,
        cursor: String? = nil
    ) {
        self.pageId = pageId
        self.visibility = visibility
        self.unreadOnly = unreadOnly
        self.assignee = assignee
        self.bot = bot
        self.window = window
        self.search = search
        self.limit = limit
        self.cursor = cursor
    }
}

/// An event for browsers, recorded in the realtime log in the same transaction as the
/// change it describes and emitted only after that commit (invariant 6). `id` is
/// monotonic, so a client that reconnects asks for everything after the last it saw.
public struct RealtimeEvent: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    public var conversationId: String?
    /// The event's JSON argument, exactly as emitted.
    public var payload: String
    public var at: String

    public init(id: Int64, name: String, conversationId: String?, payload: String, at: String) {
        self.id = id
        self.name = name
        self.conversationId = conversationId
        self.payload = payload
        self.at = at
    }
}

/// Where realtime events go after commit: the Socket.IO layer in production, a recorder in
/// tests. Publishing never fails the caller: the log is the fallback.
public protocol EventPublisher: Sendable {
    func publish(_ events: [RealtimeEvent]) async
}

/// A publisher that drops everything (CLI commands, workers without sockets).
public struct DiscardingEventPublisher: EventPublisher {
    public init() {}
    public func publish(_ events: [RealtimeEvent]) async {}
}

/// Counts for `status` and the dashboard.
public struct StoreCounts: Sendable, Equatable, Codable {
    public var pages: Int
    public var contacts: Int
    public var conversations: Int
    public var messages: Int
    public var webhooksReceived: Int
    public var webhooksPending: Int
    public var webhooksFailed: Int
    public var unhandledEvents: Int

    public init(
        pages: Int,
        contacts: Int,
        conversations: Int,
        messages: Int,
        webhooksReceived: Int,
        webhooksPending: Int,
        webhooksFailed: Int,
        unhandledEvents: Int
    ) {
        self.pages = pages
        self.contacts = contacts
        self.conversations = conversations
        self.messages = messages
        self.webhooksReceived = webhooksReceived
        self.webhooksPending = webhooksPending
        self.webhooksFailed = webhooksFailed
        self.unhandledEvents = unhandledEvents
    }
}

/// A failure that says nothing about the work: the database chose this transaction as a
/// deadlock's victim or the loser of a serialization conflict. The same work, done again,
/// usually goes through, so a worker tries it again before taking it apart.
public protocol ConflictFailure: Error {
    /// Whether this failure was such a conflict.
    var isConflict: Bool { get }
}

/// Switchboard's state (architecture: `Store`). One SQL implementation serves SQLite and
/// PostgreSQL; the same test suite runs on both.
public protocol Store: Sendable {
    /// Stores a verified webhook body and queues its split; durable when it returns
    /// (invariant 1).
    func storeWebhook(body: [UInt8]) async throws -> Int64
    func webhookBody(id: Int64) async throws -> [UInt8]?
    /// The raw bodies of stored webhooks, by id (missing ids are absent).
    func webhookBodies(ids: [Int64]) async throws -> [Int64: [UInt8]]
    /// The sizes in bytes of stored webhooks' bodies, by id (missing ids are absent).
    func webhookSizes(ids: [Int64]) async throws -> [Int64: Int]
    /// Records a run of split webhooks in one transaction: their unhandled events, their
    /// split jobs' completion, and each conversation's share: applied at once when
    /// `applying` says so (unless that conversation already has apply jobs waiting, whose
    /// turn comes first), else queued as its per-webhook `inbound.apply` jobs. Returns,
    /// aligned with `shares`, the outcome of each share applied inline (nil: queued).
    func recordWebhookRun(
        _ webhooks: [SplitWebhook],
        _ shares: [ConversationShare],
        applying: ShareApplication
    ) async throws
        -> [InboundOutcome?]
    /// Applies one conversation's events idempotently (invariant 3), completing `job` in
    /// the same transaction when given.
    func applyInbound(_ batch: InboundBatch, completing job: Job?) async throws -> InboundOutcome

    func contactKey(id: Int64) async throws -> (pageId: String, psid: String)?
    func updateContactProfile(
        id: Int64,
        name: String?,
        firstName: String?,
        lastName: String?,
        avatarURL: String?,
        error: String?
    ) async throws -> [RealtimeEvent]

    func savePage(_ page: PageRecord) async throws
    func page(id: String) async throws -> PageRecord?
    func pages() async throws -> [PageRecord]

    func conversations(_ query: ConversationQuery) async throws -> Page<Conversation>
    func conversation(id: String) async throws -> Conversation?
    func messages(conversationId: String, limit: Int, before: String?) async throws -> Page<Message>
    func markRead(conversationId: String) async throws -> (Conversation, RealtimeEvent?)
    func realtimeEvents(after id: Int64, limit: Int, visibility: PageVisibility) async throws -> [RealtimeEvent]
    /// The oldest event the log still keeps (older ones were pruned).
    func oldestRealtimeEventId() async throws -> Int64?

    func createAPIToken(name: String, tokenHash: String) async throws -> Int64
    func apiTokenName(hash: String) async throws -> String?

    func counts() async throws -> StoreCounts
    func ping() async throws
}
