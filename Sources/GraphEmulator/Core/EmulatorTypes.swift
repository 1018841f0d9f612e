public import Foundation

/// A simulated Messenger user who talks to one Page.
public struct EmulatedCustomer: Sendable, Hashable {
    /// How the profile call answers for this customer.
    public enum ProfileVisibility: String, Sendable, Hashable {
        /// `first_name`, `last_name`, `profile_pic`.
        case visible
        /// `{}` (no Advanced Access).
        case empty
        /// Error 2018218 "No profile available" (phone-number accounts).
        case unavailable
    }

    public var pageId: String
    public var psid: String
    public var firstName: String
    public var lastName: String
    public var profile: ProfileVisibility
    /// Whether read receipts follow deliveries.
    public var readsMessages: Bool
    /// When the customer last wrote (emulator clock): the start of the messaging windows.
    public var lastInboundAt: Date?

    public init(
        pageId: String,
        psid: String,
        firstName: String,
        lastName: String,
        profile: ProfileVisibility = .visible,
        readsMessages: Bool = true,
        lastInboundAt: Date? = nil
    ) {
        self.pageId = pageId
        self.psid = psid
        self.firstName = firstName
        self.lastName = lastName
        self.profile = profile
        self.readsMessages = readsMessages
        self.lastInboundAt = lastInboundAt
    }
}

/// A message the customer received through the Send API, as tests read it back.
public struct ReceivedMessage: Sendable, Hashable, Codable {
    public var mid: String
    public var text: String?
    public var attachmentType: String?
    public var attachmentURL: String?
    public var quickReplies: [String]
    public var metadata: String?
    public var messagingType: String
    public var tag: String?
    public var replyToMid: String?
    /// Emulator time, ms.
    public var timestamp: Int64

    public init(
        mid: String,
        text: String? = nil,
        attachmentType: String? = nil,
        attachmentURL: String? = nil,
        quickReplies: [String] = [],
        metadata: String? = nil,
        messagingType: String = "RESPONSE",
        tag: String? = nil,
        replyToMid: String? = nil,
        timestamp: Int64
    ) {
        self.mid = mid
        self.text = text
        self.attachmentType = attachmentType
        self.attachmentURL = attachmentURL
        self.quickReplies = quickReplies
        self.metadata = metadata
        self.messagingType = messagingType
        self.tag = tag
        self.replyToMid = replyToMid
        self.timestamp = timestamp
    }
}

/// A typing indicator or read mark the customer's device received.
public struct ReceivedSenderAction: Sendable, Hashable, Codable {
    public var action: String
    public var timestamp: Int64

    public init(action: String, timestamp: Int64) {
        self.action = action
        self.timestamp = timestamp
    }
}

/// What happened inside the emulator, for tests to await instead of sleeping.
public enum EmulatorEvent: Sendable, Hashable {
    /// A Send API call delivered a message to the customer (also under "timeout after accepting").
    case messageReceived(pageId: String, psid: String, ReceivedMessage)
    case senderActionReceived(pageId: String, psid: String, ReceivedSenderAction)
    /// A Send API call was refused with this Graph error code.
    case sendRefused(pageId: String, psid: String?, code: Int, subcode: Int?)
    /// A webhook POST finished (`status` 0 when the connection failed).
    case webhookPosted(kind: String, status: Int, attempt: Int)
    /// A webhook was given up after its last attempt.
    case webhookDropped(kind: String)
}
