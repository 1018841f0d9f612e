/// `message:new` (seed contract): a message and its conversation.
public struct MessageNewPayload: Codable, Sendable, Equatable {
    public var message: Message
    public var conversation: Conversation?

    public init(message: Message, conversation: Conversation?) {
        self.message = message
        self.conversation = conversation
    }
}

/// `message:sent` (seed contract), plus the conversation so clients can route it.
public struct MessageSentPayload: Codable, Sendable, Equatable {
    public var messageId: String
    public var facebookMessageId: String
    public var sentAt: String
    public var conversationId: String

    public init(messageId: String, facebookMessageId: String, sentAt: String, conversationId: String) {
        self.messageId = messageId
        self.facebookMessageId = facebookMessageId
        self.sentAt = sentAt
        self.conversationId = conversationId
    }
}

/// `message:status` (ours): an outbound message's status moved (sent, delivered, read,
/// failed), or an inbound one was edited.
public struct MessageStatusPayload: Codable, Sendable, Equatable {
    public var messageId: String
    public var conversationId: String
    public var status: MessageStatus
    public var sentAt: String?
    public var deliveredAt: String?
    public var readAt: String?
    public var error: MessageError?
    public var text: String?

    public init(_ message: Message) {
        messageId = message.id
        conversationId = message.conversationId
        status = message.status
        sentAt = message.sentAt
        deliveredAt = message.deliveredAt
        readAt = message.readAt
        error = message.error
        text = message.text
    }
}

/// `message:reaction` (ours): the current reactions on a message.
public struct MessageReactionPayload: Codable, Sendable, Equatable {
    public var messageId: String
    public var conversationId: String
    public var reactions: [MessageReaction]

    public init(messageId: String, conversationId: String, reactions: [MessageReaction]) {
        self.messageId = messageId
        self.conversationId = conversationId
        self.reactions = reactions
    }
}

/// `conversation:updated` (seed contract), exactly its three keys.
public struct ConversationUpdatedPayload: Codable, Sendable, Equatable {
    public var conversationId: String
    public var lastMessageAt: String?
    public var messageCount: Int

    public init(conversationId: String, lastMessageAt: String?, messageCount: Int) {
        self.conversationId = conversationId
        self.lastMessageAt = lastMessageAt
        self.messageCount = messageCount
    }
}

/// `contact:updated` (ours): a contact's profile arrived or changed.
public struct ContactUpdatedPayload: Codable, Sendable, Equatable {
    public var conversationId: String
    public var contact: Contact

    public init(conversationId: String, contact: Contact) {
        self.conversationId = conversationId
        self.contact = contact
    }
}

/// `conversation:read` (ours): an agent read the conversation; badges clear everywhere.
public struct ConversationReadPayload: Codable, Sendable, Equatable {
    public var conversationId: String
    public var unreadCount: Int

    public init(conversationId: String, unreadCount: Int) {
        self.conversationId = conversationId
        self.unreadCount = unreadCount
    }
}

/// `conversation:assignee` (ours): who the conversation is assigned to now (`assigneeId`
/// null: nobody), and who changed it (a principal, `user:<id>` or `token:<name>`).
public struct ConversationAssigneePayload: Codable, Sendable, Equatable {
    public var conversationId: String
    public var assigneeId: String?
    public var by: String

    public init(conversationId: String, assigneeId: String?, by: String) {
        self.conversationId = conversationId
        self.assigneeId = assigneeId
        self.by = by
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(conversationId, forKey: .conversationId)
        try c.encode(assigneeId, forKey: .assigneeId)
        try c.encode(by, forKey: .by)
    }
}

/// `conversation:status` (ours): resolved or open again, and by whom (a principal, or
/// `customer` when their new message reopened it).
public struct ConversationStatusPayload: Codable, Sendable, Equatable {
    public var conversationId: String
    public var status: ConversationStatus
    public var by: String

    public init(conversationId: String, status: ConversationStatus, by: String) {
        self.conversationId = conversationId
        self.status = status
        self.by = by
    }
}
