extension JobKind {
    /// Send one outbound message through the Send API. Partitioned by conversation
    /// (`send:<conversation id>`), so a conversation's replies leave in the order they were
    /// written (invariant 4) while different conversations send in parallel. The payload
    /// is the message id: the row is the source of truth (invariant 2).
    public static let sendMessage = JobKind(rawValue: "message.send")

    /// The queue partition of a conversation's outbound messages. Separate from the
    /// inbound partition, so a send waiting for its echo never blocks applying that echo.
    public static func sendPartition(conversationId: String) -> String { "send:\(conversationId)" }
}

/// An attachment an agent sends by URL.
public struct OutboundAttachmentDraft: Codable, Sendable, Equatable {
    /// `image`, `audio`, `video` or `file`.
    public var type: String
    public var url: String

    public init(type: String, url: String) {
        self.type = type
        self.url = url
    }
}

/// A quick-reply button offered with an outbound message.
public struct QuickReplyDraft: Codable, Sendable, Equatable {
    public var title: String
    public var payload: String
    public var imageUrl: String?

    public init(title: String, payload: String, imageUrl: String? = nil) {
        self.title = title
        self.payload = payload
        self.imageUrl = imageUrl
    }
}

/// A reply written through the API (or by the bot), before it is stored.
public struct OutboundDraft: Sendable, Equatable {
    public var conversationId: String
    public var text: String?
    public var clientId: String
    public var attachment: OutboundAttachmentDraft?
    public var quickReplies: [QuickReplyDraft]
    public var author: MessageAuthor
    public var authorId: String?

    public init(
        conversationId: String,
        text: String?,
        clientId: String,
        attachment: OutboundAttachmentDraft? = nil,
        quickReplies: [QuickReplyDraft] = [],
        author: MessageAuthor = .agent,
        authorId: String? = nil
    ) {
        self.conversationId = conversationId
        self.text = text
        self.clientId = clientId
        self.attachment = attachment
        self.quickReplies = quickReplies
        self.author = author
        self.authorId = authorId
    }
}

/// What asking to send a failed message again did.
public enum OutboundRetry: Sendable, Equatable {
    /// It was failed and is queued again as a new attempt (same row, same text, a new job),
    /// with the events to publish after commit.
    case requeued(Message, events: [RealtimeEvent])
    /// It is queued already (an earlier retry, a double click): nothing was queued twice.
    case alreadyQueued(Message)
    /// It was sent (or is inbound): there is nothing to retry.
    case notFailed(Message)
}

/// Everything the sender needs about one queued message, read in one go.
public struct OutboundSendContext: Sendable, Equatable {
    public var message: Message
    public var pageId: String
    public var psid: String
    public var quickReplies: [QuickReplyDraft]
    /// The customer's last inbound message (ms since 1970): the start of the windows.
    public var lastInboundAt: Int64?
    /// The Page as stored; nil when it was never connected.
    public var page: PageRecord?
    /// When an earlier attempt started a Send API call whose outcome was never recorded
    /// (ms since 1970): Meta may have sent the message. For a job handed off straight from
    /// the transaction that queued the message (`Job.handedOff`), the mark that
    /// transaction wrote for this first delivery instead.
    public var sendStartedAt: Int64?
    /// When Meta said the customer cannot receive messages (551 / 1545041, …), unless they
    /// wrote again since.
    public var contactUnreachableAt: Int64?

    public init(
        message: Message,
        pageId: String,
        psid: String,
        quickReplies: [QuickReplyDraft],
        lastInboundAt: Int64?,
        page: PageRecord?,
        sendStartedAt: Int64? = nil,
        contactUnreachableAt: Int64? = nil
    ) {
        self.message = message
        self.pageId = pageId
        self.psid = psid
        self.quickReplies = quickReplies
        self.lastInboundAt = lastInboundAt
        self.page = page
        self.sendStartedAt = sendStartedAt
        self.contactUnreachableAt = contactUnreachableAt
    }
}

/// The outbound half of the store: queue a reply with its send job atomically, and record
/// what the Send API said. Every change records its realtime events in the same
/// transaction and returns them for publishing after commit (invariant 6).
public protocol OutboundStore: Sendable {
    /// The message already written with this `clientId` in the conversation, if any.
    func outboundMessage(conversationId: String, clientId: String) async throws -> Message?
    /// Stores the draft as `queued` and enqueues its `message.send` job in ONE transaction.
    /// The same `clientId` again returns the first message (`created` false) and queues nothing.
    /// A new message is shown to `admit` with its conversation inside that transaction; a
    /// throw (a closed window) undoes it, and the error reaches the caller.
    func enqueueOutbound(
        _ draft: OutboundDraft,
        admit: @escaping @Sendable (Conversation) throws -> Void
    ) async throws -> (message: Message, created: Bool, events: [RealtimeEvent])
    /// The message and what sending it needs; nil when the message is gone.
    func outboundSendContext(messageId: String) async throws -> OutboundSendContext?
    /// The Send API accepted the message: store its `mid`, `sent`, `sent_at`, and complete `job`.
    /// `requestedAt` (when the call started, ms) becomes `sent_timestamp`: never later than
    /// Meta's own time for the message, so delivery and read watermarks cover it.
    func markOutboundSent(messageId: String, mid: String, requestedAt: Int64, completing job: Job?) async throws -> [RealtimeEvent]
    /// The message cannot be sent: `failed` with the error, and complete `job`. With
    /// `contactUnreachable`, the contact is marked unreachable too.
    func markOutboundFailed(
        messageId: String,
        error: MessageError,
        contactUnreachable: Bool,
        completing job: Job?
    ) async throws
        -> [RealtimeEvent]
    /// A Send API call for the queued message starts now: recorded before the call, so a
    /// process that dies mid-call leaves a trace (`OutboundSendContext.sendStartedAt`).
    /// Not needed for a handed-off job: the transaction that queued it wrote the mark.
    func beginSendAttempt(messageId: String) async throws
    /// The attempt's outcome is known (Meta refused it, or the echo wait is scheduled):
    /// the next attempt need not wait for an echo.
    func endSendAttempt(messageId: String) async throws
    /// The Page's token was refused (190): its sends wait until a new token is saved.
    func markPageReauthorizationRequired(pageId: String, reason: String) async throws
    /// A new token was saved: the Page's waiting sends run now.
    func resumeSends(pageId: String) async throws
}

extension OutboundStore {
    /// `enqueueOutbound` with nothing to check.
    public func enqueueOutbound(_ draft: OutboundDraft) async throws -> (message: Message, created: Bool, events: [RealtimeEvent]) {
        try await enqueueOutbound(draft) { _ in }
    }
}

extension SwitchboardError.Code {
    /// Messenger's windows refuse this message (invariant 7).
    public static let windowClosed = SwitchboardError.Code("window.closed")
    /// The message itself is not acceptable (empty, too long, too many quick replies).
    public static let messageInvalid = SwitchboardError.Code("message.invalid")
    /// Meta said the customer cannot receive messages (blocked the Page, deactivated,
    /// turned messages off); later sends fail before calling Meta until they write again.
    public static let contactUnreachable = SwitchboardError.Code("contact.unreachable")
}
