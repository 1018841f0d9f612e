public import Messenger

/// One conversation's share of a webhook: the events of one (Page, customer), in the
/// order the worker must apply them.
public struct InboundBatch: Sendable {
    public var pageId: String
    public var psid: String
    public var events: [WebhookEvent]
    /// Our Facebook app's id: echoes carrying it are ours, others are a human in Meta's
    /// inbox or another app.
    public var ourAppId: String?

    public init(pageId: String, psid: String, events: [WebhookEvent], ourAppId: String?) {
        self.pageId = pageId
        self.psid = psid
        self.events = events.sorted { $0.timestamp < $1.timestamp }
        self.ourAppId = ourAppId
    }
}

/// What applying a batch changed.
public struct InboundOutcome: Sendable {
    public var conversationId: String
    public var contactId: Int64
    /// The contact has no profile yet and nobody asked for one recently.
    public var needsProfile: Bool
    public var realtime: [RealtimeEvent]
    /// Applied events by kind (for metrics); duplicates are not counted.
    public var applied: [String: Int]
    public var duplicates: Int
    /// What the bot must know of this batch (new customer messages, echoes), in order; a
    /// replayed batch yields none, so the bot never answers a message twice.
    public var botEvents: [BotEvent] = []
    /// What the bot decided from `botEvents`, stored in the apply's transaction (nil: the
    /// Page's bot is off); its events are already in `realtime`.
    public var bot: BotFeedResult?

    public init(
        conversationId: String,
        contactId: Int64,
        needsProfile: Bool,
        realtime: [RealtimeEvent],
        applied: [String: Int],
        duplicates: Int
    ) {
        self.conversationId = conversationId
        self.contactId = contactId
        self.needsProfile = needsProfile
        self.realtime = realtime
        self.applied = applied
        self.duplicates = duplicates
    }
}

/// An event kept but not applied (unknown kind, malformed, or not modelled yet), so
/// nothing Meta sent is lost and `/metrics` can count it.
public struct UnhandledEvent: Sendable, Equatable {
    public var index: Int
    public var pageId: String?
    public var kind: String
    public var reason: String?
    public var json: String

    public init(index: Int, pageId: String?, kind: String, reason: String?, json: String) {
        self.index = index
        self.pageId = pageId
        self.kind = kind
        self.reason = reason
        self.json = json
    }
}

/// A stored webhook as split by the worker: how many events it had, those it keeps but
/// does not apply, and the split job that brought it.
public struct SplitWebhook: Sendable {
    public var id: Int64
    public var eventCount: Int
    public var unhandled: [UnhandledEvent]
    /// Why the body could not be read as a Messenger batch (it is kept all the same).
    public var error: String?
    public var job: Job

    public init(id: Int64, eventCount: Int, unhandled: [UnhandledEvent], error: String?, job: Job) {
        self.id = id
        self.eventCount = eventCount
        self.unhandled = unhandled
        self.error = error
        self.job = job
    }
}

/// How a run of split webhooks applies its conversations' shares
/// (``Store/recordWebhookRun(_:_:applying:)``).
public enum ShareApplication: Sendable, Equatable {
    /// Each share is queued as its per-webhook `inbound.apply` jobs.
    case queued
    /// Applied with the run. On PostgreSQL a large run's conversations are applied in
    /// several transactions side by side when `sideBySide`; without it in one, which holds
    /// one connection's share of the database's CPU instead of several: while ingest gives
    /// way to acknowledgements, side-by-side runs held them for 100 ms and more
    /// (docs/ingest.md, session 15).
    case inline(sideBySide: Bool)
}

/// One conversation's events from a run of webhooks, merged in timestamp order, and the
/// per-webhook `inbound.apply` jobs that apply them instead when that conversation
/// already has apply jobs waiting (whose turn comes first, invariant 4).
public struct ConversationShare: Sendable {
    /// The conversation's queue partition.
    public var partition: String
    public var batch: InboundBatch
    public var jobs: [NewJob]

    public init(partition: String, batch: InboundBatch, jobs: [NewJob]) {
        self.partition = partition
        self.batch = batch
        self.jobs = jobs
    }
}
