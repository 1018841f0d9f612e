/// The customer side of a conversation.
public struct Contact: Codable, Sendable, Equatable {
    public var psid: String
    public var name: String?
    public var avatarUrl: String?
    public var firstSeenAt: String
    public var unreachable: Bool

    public init(psid: String, name: String?, avatarUrl: String?, firstSeenAt: String, unreachable: Bool) {
        self.psid = psid
        self.name = name
        self.avatarUrl = avatarUrl
        self.firstSeenAt = firstSeenAt
        self.unreachable = unreachable
    }
}

/// Whether Messenger lets the Page write now (architecture invariant 7), for the UI.
public struct WindowInfo: Codable, Sendable, Equatable {
    /// `open` (any reply), `human_agent` (a human's reply, tagged), `closed` (nothing).
    public var state: String
    /// When the current state ends; nil when closed.
    public var closesAt: String?

    public init(state: String, closesAt: String?) {
        self.state = state
        self.closesAt = closesAt
    }
}

/// Whether the bot answers this conversation, and why not when it does not.
public struct BotInfo: Codable, Sendable, Equatable {
    public var state: String
    public var reason: String?

    public init(state: String, reason: String?) {
        self.state = state
        self.reason = reason
    }
}

/// Whether a conversation still needs the team: `resolved` by an agent, `open` again as
/// soon as the customer writes (or an agent reopens it).
public enum ConversationStatus: String, Codable, Sendable, Equatable {
    case open
    case resolved
}

/// The API's Conversation object (`shared/design/api.md`); the same shape goes over Socket.IO.
public struct Conversation: Codable, Sendable, Equatable {
    public var id: String
    public var pageId: String
    public var contact: Contact
    public var lastMessageAt: String?
    public var lastInboundAt: String?
    public var lastMessagePreview: String?
    public var messageCount: Int
    public var unreadCount: Int
    public var window: WindowInfo
    public var bot: BotInfo
    public var assigneeId: String?
    public var status: ConversationStatus
    public var createdAt: String

    public init(
        id: String,
        pageId: String,
        contact: Contact,
        lastMessageAt: String?,
        lastInboundAt: String?,
        lastMessagePreview: String?,
        messageCount: Int,
        unreadCount: Int,
        window: WindowInfo,
        bot: BotInfo,
        assigneeId: String?,
        status: ConversationStatus = .open,
        createdAt: String
    ) {
        self.id = id
        self.pageId = pageId
        self.contact = contact
        self.lastMessageAt = lastMessageAt
        self.lastInboundAt = lastInboundAt
        self.lastMessagePreview = lastMessagePreview
        self.messageCount = messageCount
        self.unreadCount = unreadCount
        self.window = window
        self.bot = bot
        self.assigneeId = assigneeId
        self.status = status
        self.createdAt = createdAt
    }
}

/// One page of a list, with the opaque cursor of the next page (nil at the end).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

// The API promises every field of its objects (`shared/design/api.md`): absent values are
// `null`, never a missing key, so clients can tell "no value" from "old server".
extension Contact {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(psid, forKey: .psid)
        try c.encode(name, forKey: .name)
        try c.encode(avatarUrl, forKey: .avatarUrl)
        try c.encode(firstSeenAt, forKey: .firstSeenAt)
        try c.encode(unreachable, forKey: .unreachable)
    }
}

extension WindowInfo {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encode(closesAt, forKey: .closesAt)
    }
}

extension BotInfo {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(state, forKey: .state)
        try c.encode(reason, forKey: .reason)
    }
}

extension Conversation {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(pageId, forKey: .pageId)
        try c.encode(contact, forKey: .contact)
        try c.encode(lastMessageAt, forKey: .lastMessageAt)
        try c.encode(lastInboundAt, forKey: .lastInboundAt)
        try c.encode(lastMessagePreview, forKey: .lastMessagePreview)
        try c.encode(messageCount, forKey: .messageCount)
        try c.encode(unreadCount, forKey: .unreadCount)
        try c.encode(window, forKey: .window)
        try c.encode(bot, forKey: .bot)
        try c.encode(assigneeId, forKey: .assigneeId)
        try c.encode(status, forKey: .status)
        try c.encode(createdAt, forKey: .createdAt)
    }
}
