/// One event of a webhook POST, flattened out of `entry[]` × (`messaging[]` | `standby[]`).
///
/// The worker applies these one by one; the natural keys for idempotency (invariant 3) are
/// all here: `pageId`, `customerId`, `timestamp` and the payload's `mid`.
public struct WebhookEvent: Sendable, Hashable {
    /// Which array of the entry the event came from.
    public enum Channel: String, Sendable, Hashable {
        /// `messaging[]`: our app owns the thread.
        case messaging
        /// `standby[]`: another app owns the thread; we only watch.
        case standby
    }

    /// The Page (`entry.id`).
    public var pageId: String
    /// The customer's PSID: `sender.id` for customer events, `recipient.id` for echoes.
    /// Empty only for `.unknown` / `.malformed` events that name no person.
    public var customerId: String
    /// Event time in milliseconds since 1970 (`timestamp`, else the entry's `time`).
    public var timestamp: Int64
    public var channel: Channel
    public var payload: WebhookPayload

    public init(pageId: String, customerId: String, timestamp: Int64, channel: Channel, payload: WebhookPayload) {
        self.pageId = pageId
        self.customerId = customerId
        self.timestamp = timestamp
        self.channel = channel
        self.payload = payload
    }
}

/// What happened, one case per webhook event kind we understand.
public enum WebhookPayload: Sendable, Hashable {
    /// The customer wrote (`messages`).
    case message(InboundMessage)
    /// The Page sent a message, from our app, another app or Meta's inbox (`message_echoes`).
    case echo(Echo)
    /// A button, Get Started or menu tap (`messaging_postbacks`).
    case postback(Postback)
    /// Page messages up to `watermark` reached the customer (`message_deliveries`).
    case delivery(Delivery)
    /// The customer read Page messages up to `watermark` (`message_reads`).
    case read(Read)
    /// The customer reacted to, or un-reacted from, a message (`message_reactions`).
    case reaction(Reaction)
    /// The customer edited one of their messages (`message_edits`).
    case messageEdit(MessageEdit)
    /// The customer came through an m.me link, ad or QR code into an existing thread.
    case referral(Referral)
    /// The customer opted in (plugin, one-time or recurring notifications).
    case optin(Optin)
    /// Thread control was passed to an app (`messaging_handovers`).
    case passThreadControl(ThreadControl)
    /// An app took thread control (`messaging_handovers`).
    case takeThreadControl(ThreadControl)
    /// An app asked for thread control (`messaging_handovers`).
    case requestThreadControl(ThreadControl)
    /// A well-formed event of a kind we do not model; `json` is the event's JSON
    /// (compact, sorted keys), so nothing is lost.
    case unknown(kind: String, json: String)
    /// An event we could not read (e.g. a message without `mid`); its siblings are unaffected.
    case malformed(reason: String, json: String)
}

/// A customer's message.
public struct InboundMessage: Sendable, Hashable {
    public var mid: String
    public var text: String?
    public var attachments: [WebhookAttachment]
    /// Set when the customer tapped a quick reply (`text` is then the button title).
    public var quickReplyPayload: String?
    /// The `mid` of the earlier message the customer replied to.
    public var replyToMid: String?

    public init(
        mid: String,
        text: String? = nil,
        attachments: [WebhookAttachment] = [],
        quickReplyPayload: String? = nil,
        replyToMid: String? = nil
    ) {
        self.mid = mid
        self.text = text
        self.attachments = attachments
        self.quickReplyPayload = quickReplyPayload
        self.replyToMid = replyToMid
    }
}

/// An attachment of an inbound message or an echo. `url` is a CDN link that expires.
public struct WebhookAttachment: Sendable, Hashable {
    /// `image`, `audio`, `video`, `file`, `sticker`, `fallback`, `reel`, … kept as sent.
    public var type: String
    public var url: String?
    public var stickerId: String?
    public var title: String?

    public init(type: String, url: String? = nil, stickerId: String? = nil, title: String? = nil) {
        self.type = type
        self.url = url
        self.stickerId = stickerId
        self.title = title
    }
}

/// A message the Page sent. `appId == nil` or another app's id means it was not ours
/// (263902037430900 is Meta's Page Inbox, i.e. a human in Meta's own tools).
public struct Echo: Sendable, Hashable {
    public var mid: String
    public var appId: String?
    /// The string we passed in the send's `message.metadata` (our outbound id).
    public var metadata: String?
    public var text: String?
    public var attachments: [WebhookAttachment]

    public init(
        mid: String,
        appId: String? = nil,
        metadata: String? = nil,
        text: String? = nil,
        attachments: [WebhookAttachment] = []
    ) {
        self.mid = mid
        self.appId = appId
        self.metadata = metadata
        self.text = text
        self.attachments = attachments
    }
}

/// A postback tap. `payload` is absent on standby copies.
public struct Postback: Sendable, Hashable {
    public var mid: String?
    public var title: String?
    public var payload: String?
    public var referral: Referral?

    public init(mid: String? = nil, title: String? = nil, payload: String? = nil, referral: Referral? = nil) {
        self.mid = mid
        self.title = title
        self.payload = payload
        self.referral = referral
    }
}

/// Where the customer came from: `ref` you set, `source` (`SHORTLINK`, `ADS`, …), `type`.
public struct Referral: Sendable, Hashable {
    public var ref: String?
    public var source: String?
    public var type: String?

    public init(ref: String? = nil, source: String? = nil, type: String? = nil) {
        self.ref = ref
        self.source = source
        self.type = type
    }
}

/// Everything the Page sent before `watermark` (ms) was delivered; `mids` may be empty.
public struct Delivery: Sendable, Hashable {
    public var watermark: Int64
    public var mids: [String]

    public init(watermark: Int64, mids: [String] = []) {
        self.watermark = watermark
        self.mids = mids
    }
}

/// Everything the Page sent at or before `watermark` (ms) was read.
public struct Read: Sendable, Hashable {
    public var watermark: Int64

    public init(watermark: Int64) { self.watermark = watermark }
}

/// A reaction on the message `mid`. An unreact may carry no `reaction`/`emoji`.
public struct Reaction: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable {
        case react
        case unreact
    }

    public var mid: String
    public var action: Action
    /// `smile`, `angry`, `sad`, `wow`, `love`, `like`, `dislike` or `other`.
    public var reaction: String?
    public var emoji: String?

    public init(mid: String, action: Action, reaction: String? = nil, emoji: String? = nil) {
        self.mid = mid
        self.action = action
        self.reaction = reaction
        self.emoji = emoji
    }
}

/// The customer's new text for the message `mid`.
public struct MessageEdit: Sendable, Hashable {
    public var mid: String
    public var text: String?
    public var numberOfEdits: Int?

    public init(mid: String, text: String? = nil, numberOfEdits: Int? = nil) {
        self.mid = mid
        self.text = text
        self.numberOfEdits = numberOfEdits
    }
}

/// An opt-in. Fields vary by opt-in type; the common ones are kept.
public struct Optin: Sendable, Hashable {
    public var type: String?
    public var ref: String?
    public var payload: String?
    public var userRef: String?
    public var notificationMessagesToken: String?

    public init(
        type: String? = nil,
        ref: String? = nil,
        payload: String? = nil,
        userRef: String? = nil,
        notificationMessagesToken: String? = nil
    ) {
        self.type = type
        self.ref = ref
        self.payload = payload
        self.userRef = userRef
        self.notificationMessagesToken = notificationMessagesToken
    }
}

/// A handover (Conversation Routing) event; which ids are set depends on the kind.
public struct ThreadControl: Sendable, Hashable {
    public var newOwnerAppId: String?
    public var previousOwnerAppId: String?
    public var requestedOwnerAppId: String?
    public var metadata: String?

    public init(
        newOwnerAppId: String? = nil,
        previousOwnerAppId: String? = nil,
        requestedOwnerAppId: String? = nil,
        metadata: String? = nil
    ) {
        self.newOwnerAppId = newOwnerAppId
        self.previousOwnerAppId = previousOwnerAppId
        self.requestedOwnerAppId = requestedOwnerAppId
        self.metadata = metadata
    }
}

extension WebhookPayload {
    /// The message id the event is about, when it has one: the message's or echo's own
    /// `mid`, the postback's, or the target of a reaction or edit. Part of the natural keys
    /// for idempotent applying (invariant 3).
    public var mid: String? {
        switch self {
        case .message(let message): message.mid
        case .echo(let echo): echo.mid
        case .postback(let postback): postback.mid
        case .reaction(let reaction): reaction.mid
        case .messageEdit(let edit): edit.mid
        case .delivery, .read, .referral, .optin, .passThreadControl, .takeThreadControl, .requestThreadControl,
            .unknown, .malformed:
            nil
        }
    }

    /// The webhook field this kind belongs to (`messages`, `message_echoes`, …); for
    /// `.unknown` the event key, for `.malformed` `"malformed"`.
    public var kind: String {
        switch self {
        case .message: "messages"
        case .echo: "message_echoes"
        case .postback: "messaging_postbacks"
        case .delivery: "message_deliveries"
        case .read: "message_reads"
        case .reaction: "message_reactions"
        case .messageEdit: "message_edits"
        case .referral: "messaging_referrals"
        case .optin: "messaging_optins"
        case .passThreadControl, .takeThreadControl, .requestThreadControl: "messaging_handovers"
        case .unknown(let kind, _): kind
        case .malformed: "malformed"
        }
    }
}
