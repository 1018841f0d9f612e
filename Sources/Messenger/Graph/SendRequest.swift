/// The Send API's `messaging_type` (and `tag`), decided by `MessagingWindow`.
public enum MessagingType: Sendable, Hashable {
    /// A reply inside the 24 h window.
    case response
    /// A proactive message, still inside the 24 h window.
    case update
    /// Outside the 24 h window with a tag; in practice only HUMAN_AGENT (≤ 7 days, human-written).
    case messageTag(MessageTag)

    public var rawValue: String {
        switch self {
        case .response: "RESPONSE"
        case .update: "UPDATE"
        case .messageTag: "MESSAGE_TAG"
        }
    }

    public var tag: MessageTag? {
        if case .messageTag(let tag) = self { return tag }
        return nil
    }
}

/// A message tag. Only HUMAN_AGENT is dependable (others were reportedly retired in 2026).
public struct MessageTag: RawRepresentable, Sendable, Hashable {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let humanAgent = MessageTag(rawValue: "HUMAN_AGENT")
}

/// A quick-reply button (`content_type: text`).
public struct QuickReply: Sendable, Hashable {
    public var title: String
    public var payload: String
    public var imageURL: String?

    public init(title: String, payload: String, imageURL: String? = nil) {
        self.title = title
        self.payload = payload
        self.imageURL = imageURL
    }
}

/// What to send: text or one attachment by URL.
public enum OutboundContent: Sendable, Hashable {
    case text(String)
    case attachment(type: OutboundAttachmentType, url: String)
}

/// The attachment kinds the Send API takes by URL. Audio and video have a lower rate
/// limit (10/s per Page) than everything else (300/s).
public enum OutboundAttachmentType: String, Sendable, Hashable {
    case image, audio, video, file

    /// True for the 10/s class.
    public var isMedia: Bool { self == .audio || self == .video }
}

/// One Send API call (`POST /{page}/messages`).
public struct SendRequest: Sendable, Hashable {
    /// Meta refuses longer text with error 100.
    public static let maxTextLength = 2000
    /// Meta allows at most 13 quick replies.
    public static let maxQuickReplies = 13
    /// `metadata` must be shorter than 1000 characters.
    public static let maxMetadataLength = 999

    public var recipientPSID: String
    public var messagingType: MessagingType
    public var content: OutboundContent
    public var quickReplies: [QuickReply]
    /// Our outbound message id, echoed back in `message_echoes` (invariant 5).
    public var metadata: String?
    /// Thread the reply under this earlier `mid`.
    public var replyToMid: String?

    public init(
        recipientPSID: String,
        messagingType: MessagingType = .response,
        content: OutboundContent,
        quickReplies: [QuickReply] = [],
        metadata: String? = nil,
        replyToMid: String? = nil
    ) {
        self.recipientPSID = recipientPSID
        self.messagingType = messagingType
        self.content = content
        self.quickReplies = quickReplies
        self.metadata = metadata
        self.replyToMid = replyToMid
    }

    /// A text message; the usual case.
    public static func text(
        _ text: String,
        to psid: String,
        messagingType: MessagingType = .response,
        metadata: String? = nil
    ) -> SendRequest {
        SendRequest(recipientPSID: psid, messagingType: messagingType, content: .text(text), metadata: metadata)
    }

    /// The JSON body Graph expects.
    public var jsonBody: [UInt8] {
        var message: [String: JSONValue] = [:]
        switch content {
        case .text(let text): message["text"] = .string(text)
        case .attachment(let type, let url):
            message["attachment"] = .object(["type": .string(type.rawValue), "payload": .object(["url": .string(url)])])
        }
        if !quickReplies.isEmpty {
            message["quick_replies"] = .array(
                quickReplies.map { reply in
                    var object: [String: JSONValue] = [
                        "content_type": .string("text"), "title": .string(reply.title), "payload": .string(reply.payload),
                    ]
                    if let image = reply.imageURL { object["image_url"] = .string(image) }
                    return .object(object)
                }
            )
        }
        if let metadata { message["metadata"] = .string(metadata) }
        var body: [String: JSONValue] = [
            "recipient": .object(["id": .string(recipientPSID)]),
            "messaging_type": .string(messagingType.rawValue),
            "message": .object(message),
        ]
        if let tag = messagingType.tag { body["tag"] = .string(tag.rawValue) }
        if let replyToMid { body["reply_to"] = .object(["mid": .string(replyToMid)]) }
        return Array(JSONValue.object(body).jsonText.utf8)
    }
}

/// A typing indicator or read mark, sent alone (messenger-platform.md §6.4).
public enum SenderAction: String, Sendable, Hashable {
    case typingOn = "typing_on"
    case typingOff = "typing_off"
    case markSeen = "mark_seen"
}

extension SendRequest {
    /// Why Meta would refuse this request with error 100, found before calling it.
    public enum Problem: String, Sendable, Hashable, Error, CustomStringConvertible {
        case emptyText = "send.empty_text"
        case textTooLong = "send.text_too_long"
        case tooManyQuickReplies = "send.too_many_quick_replies"
        case emptyQuickReplyTitle = "send.empty_quick_reply_title"
        case metadataTooLong = "send.metadata_too_long"
        case missingRecipient = "send.missing_recipient"

        /// A sentence for the person who wrote the message.
        public var reason: String {
            switch self {
            case .emptyText: "The message is empty."
            case .textTooLong: "Messenger accepts at most 2,000 characters per message."
            case .tooManyQuickReplies: "Messenger shows at most 13 quick replies."
            case .emptyQuickReplyTitle: "Every quick reply needs a title."
            case .metadataTooLong: "The message's metadata must be shorter than 1,000 characters."
            case .missingRecipient: "The message has no recipient."
            }
        }

        public var description: String { rawValue }
    }

    /// The first rule of the Send API this request breaks, or nil.
    public var problem: Problem? {
        if recipientPSID.isEmpty { return .missingRecipient }
        if case .text(let text) = content {
            if text.isEmpty { return .emptyText }
            if text.count > Self.maxTextLength { return .textTooLong }
        }
        if quickReplies.count > Self.maxQuickReplies { return .tooManyQuickReplies }
        if quickReplies.contains(where: { $0.title.isEmpty }) { return .emptyQuickReplyTitle }
        if let metadata, metadata.count > Self.maxMetadataLength { return .metadataTooLong }
        return nil
    }
}
