/// Which way a message went.
public enum MessageDirection: String, Codable, Sendable {
    case inbound = "in"
    case outbound = "out"
}

/// Who wrote a message. `otherApp` is a human answering in Meta's own inbox (or another
/// app), seen through an echo that our app did not send.
public enum MessageAuthor: String, Codable, Sendable {
    case customer
    case agent
    case bot
    case otherApp = "other_app"
}

/// A message's delivery state. Outbound states only ever move forward
/// (queued → sent → delivered → read); `failed` is terminal for that attempt.
public enum MessageStatus: String, Codable, Sendable, Comparable {
    case received
    case queued
    case sent
    case delivered
    case read
    case failed

    /// The order in which outbound statuses may advance (invariant 3).
    var rank: Int {
        switch self {
        case .received, .failed: 0
        case .queued: 1
        case .sent: 2
        case .delivered: 3
        case .read: 4
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// An attachment as stored and shown: the kind Meta reported and, when there is one,
/// the URL (Meta's CDN URLs expire; see the README).
public struct Attachment: Codable, Sendable, Equatable {
    public var type: String
    public var url: String?
    public var title: String?
    public var stickerId: String?

    public init(type: String, url: String? = nil, title: String? = nil, stickerId: String? = nil) {
        self.type = type
        self.url = url
        self.title = title
        self.stickerId = stickerId
    }
}

/// Why a send failed, as Meta said it (`code`, `subcode`) and as a person reads it.
public struct MessageError: Codable, Sendable, Equatable {
    public var code: Int?
    public var subcode: Int?
    public var message: String
    public var fbtraceId: String?
    /// Our stable code for the failure (`graph.window_closed`, `window.closed`, …).
    public var kind: String?

    public init(code: Int?, subcode: Int?, message: String, fbtraceId: String? = nil, kind: String? = nil) {
        self.code = code
        self.subcode = subcode
        self.message = message
        self.fbtraceId = fbtraceId
        self.kind = kind
    }
}

/// A reaction on a message, latest state per customer.
public struct MessageReaction: Codable, Sendable, Equatable {
    public var reaction: String?
    public var emoji: String?
    public var at: String

    public init(reaction: String?, emoji: String?, at: String) {
        self.reaction = reaction
        self.emoji = emoji
        self.at = at
    }
}

/// The API's Message object (`shared/design/api.md`); the same shape goes over Socket.IO.
public struct Message: Codable, Sendable, Equatable {
    public var id: String
    public var conversationId: String
    public var direction: MessageDirection
    public var author: MessageAuthor
    public var authorId: String?
    public var kind: String
    public var text: String?
    public var attachments: [Attachment]
    public var quickReplyPayload: String?
    public var postbackPayload: String?
    public var replyToMid: String?
    public var facebookMessageId: String?
    public var clientId: String?
    public var status: MessageStatus
    public var error: MessageError?
    public var reactions: [MessageReaction]
    public var timestamp: String
    public var createdAt: String
    public var sentAt: String?
    public var deliveredAt: String?
    public var readAt: String?
    /// The quick-reply buttons offered with an outbound message (the customer's choice
    /// comes back as `quickReplyPayload` on their answer).
    public var quickReplies: [QuickReplyDraft]

    public init(
        id: String,
        conversationId: String,
        direction: MessageDirection,
        author: MessageAuthor,
        authorId: String?,
        kind: String,
        text: String?,
        attachments: [Attachment],
        quickReplyPayload: String?,
        postbackPayload: String?,
        replyToMid: String?,
        facebookMessageId: String?,
        clientId: String?,
        status: MessageStatus,
        error: MessageError?,
        reactions: [MessageReaction],
        timestamp: String,
        createdAt: String,
        sentAt: String?,
        deliveredAt: String?,
        readAt: String?,
        quickReplies: [QuickReplyDraft] = []
    ) {
        self.id = id
        self.conversationId = conversationId
        self.direction = direction
        self.author = author
        self.authorId = authorId
        self.kind = kind
        self.text = text
        self.attachments = attachments
        self.quickReplyPayload = quickReplyPayload
        self.postbackPayload = postbackPayload
        self.replyToMid = replyToMid
        self.facebookMessageId = facebookMessageId
        self.clientId = clientId
        self.status = status
        self.error = error
        self.reactions = reactions
        self.timestamp = timestamp
        self.createdAt = createdAt
        self.sentAt = sentAt
        self.deliveredAt = deliveredAt
        self.readAt = readAt
        self.quickReplies = quickReplies
    }
}

// Every field, absent ones as `null` (see Conversation.swift).
extension Message {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(conversationId, forKey: .conversationId)
        try c.encode(direction, forKey: .direction)
        try c.encode(author, forKey: .author)
        try c.encode(authorId, forKey: .authorId)
        try c.encode(kind, forKey: .kind)
        try c.encode(text, forKey: .text)
        try c.encode(attachments, forKey: .attachments)
        try c.encode(quickReplyPayload, forKey: .quickReplyPayload)
        try c.encode(postbackPayload, forKey: .postbackPayload)
        try c.encode(replyToMid, forKey: .replyToMid)
        try c.encode(facebookMessageId, forKey: .facebookMessageId)
        try c.encode(clientId, forKey: .clientId)
        try c.encode(status, forKey: .status)
        try c.encode(error, forKey: .error)
        try c.encode(reactions, forKey: .reactions)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(sentAt, forKey: .sentAt)
        try c.encode(deliveredAt, forKey: .deliveredAt)
        try c.encode(readAt, forKey: .readAt)
        try c.encode(quickReplies, forKey: .quickReplies)
    }
}
