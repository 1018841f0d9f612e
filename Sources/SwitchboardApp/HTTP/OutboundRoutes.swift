import Foundation
import Hummingbird
import Logging
import Messenger
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore

/// The outbound API: replies (queued, sent by the worker), typing indicators and read
/// marks (sent directly), and connecting Pages. Tokens are sealed before they are stored
/// and never appear in an answer or a log (invariant 8).
struct OutboundRoutes {
    let store: SQLStore
    let graph: GraphClient
    let box: SecretBox
    let publisher: any EventPublisher
    let senderActions: SenderActions
    let access: ConversationAccess
    /// What Meta's App Dashboard needs, shown to admins on the Pages screen.
    let webhook: WebhookSettings
    let logger: Logger
    /// Told when an agent replies, so the bot stops at once (nil: no bot).
    var bot: BotConversations? = nil

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        group.post("/conversations/:id/messages") { request, context in
            let id = try await access.require(context)
            let body = try await request.decode(as: SendMessageBody.self, context: context)
            return try await send(conversationId: id, body: body, principal: context.principal)
        }
        group.post("/conversations/:id/messages/:messageId/retry") { _, context in
            let id = try await access.require(context)
            return try await retry(conversationId: id, messageId: try context.parameters.require("messageId"), actor: context.principal ?? "api")
        }
        group.post("/conversations/:id/typing") { request, context in
            let id = try await access.require(context)
            let body = try await request.decode(as: TypingBody.self, context: context)
            let action: SenderAction
            switch body.state {
            case "on": action = .typingOn
            case "off": action = .typingOff
            default: throw APIError(.badRequest, "invalid_argument", "state must be \"on\" or \"off\".")
            }
            return try JSONResponse(try await senderActions.send(action, conversationId: id), status: .accepted)
        }
        group.post("/conversations/:id/seen") { _, context in
            try JSONResponse(try await senderActions.send(.markSeen, conversationId: try await access.require(context)), status: .accepted)
        }
        group.get("/pages") { _, context in
            let caller = try context.caller
            let pages = try await store.pages().filter { caller.visibility.allows($0.id) }.map(PageInfo.init)
            // The verify token is a secret of the webhook: admins only, never agents.
            return try JSONResponse(PagesAnswer(pages: pages, webhook: caller.isAdmin ? webhook : nil))
        }
        group.post("/pages") { request, context in
            try context.requireAdmin()
            let body = try await request.decode(as: ConnectPageBody.self, context: context)
            return try await connect(body)
        }
    }

    // MARK: Send

    func send(conversationId: String, body: SendMessageBody, principal: String?) async throws -> JSONResponse {
        let clientId = body.clientId ?? UUID().uuidString
        guard !clientId.isEmpty, clientId.count <= 200 else {
            throw APIError(.badRequest, "invalid_client_id", "clientId must be 1 to 200 characters.")
        }
        // A repeated request gets what the first one queued, whatever it would be told now
        // (its text no longer valid, the window closed since): the insert finds it, and a
        // refusal looks for it before it is answered.
        let message: Message
        let created: Bool
        let events: [RealtimeEvent]
        do {
            let draft = try Self.validate(body, conversationId: conversationId, clientId: clientId, principal: principal)
            (message, created, events) = try await store.enqueueOutbound(draft) { try Self.requireWindow($0, author: .human) }
        } catch let refusal as APIError {
            if let existing = try await store.outboundMessage(conversationId: conversationId, clientId: clientId) {
                return try JSONResponse(["message": existing], status: .accepted)
            }
            throw refusal
        }
        await publisher.publish(events)
        if created { await bot?.agentWrote(conversationId: conversationId, actor: principal ?? "api") }
        return try JSONResponse(["message": message], status: .accepted)
    }

    /// Sends a failed message again (a new attempt of the same message), if Messenger's
    /// windows still allow its author to write and the customer is reachable.
    func retry(conversationId: String, messageId: String, actor: String) async throws -> JSONResponse {
        guard let conversation = try await store.conversation(id: conversationId) else { throw APIRoutes.notFound(conversationId) }
        guard let sending = try await store.outboundSendContext(messageId: messageId), sending.message.conversationId == conversationId else {
            throw APIError(.notFound, "message_not_found", "No outbound message \(messageId) in conversation \(conversationId).")
        }
        if sending.message.status == .failed {
            try Self.requireWindow(conversation, author: sending.message.author == .bot ? .automation : .human)
            if conversation.contact.unreachable {
                throw APIError(.unprocessableContent, "contact_unreachable", "Messenger reports this person cannot be reached any more.")
            }
        }
        switch try await store.retryOutbound(conversationId: conversationId, messageId: messageId, actor: actor) {
        case .requeued(let message, let events):
            await publisher.publish(events)
            return try JSONResponse(["message": message], status: .accepted)
        case .alreadyQueued(let message):
            return try JSONResponse(["message": message], status: .accepted)
        case .notFailed(let message):
            throw APIError(
                .conflict,
                "message_not_failed",
                "Message \(message.id) is \(message.status.rawValue); only a failed message can be sent again."
            )
        }
    }

    /// The checks Meta would make, made before anything is stored (messenger-platform.md §6).
    static func validate(_ body: SendMessageBody, conversationId: String, clientId: String, principal: String?) throws -> OutboundDraft {
        let text = body.text
        let hasText = !(text ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        if body.attachment == nil, !hasText {
            throw APIError(.badRequest, "message_empty", "Write some text (or attach a file by URL).")
        }
        if body.attachment != nil, hasText {
            throw APIError(.badRequest, "message_invalid", "Messenger takes text or one attachment per message; send them as two messages.")
        }
        if let text, text.count > SendRequest.maxTextLength {
            throw APIError(
                .badRequest,
                "message_too_long",
                "The text has \(text.count) characters; Messenger allows at most \(SendRequest.maxTextLength)."
            )
        }
        if let attachment = body.attachment {
            guard OutboundAttachmentType(rawValue: attachment.type) != nil else {
                throw APIError(.badRequest, "attachment_invalid", "attachment.type must be image, audio, video or file.")
            }
            guard let url = URL(string: attachment.url), ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
                throw APIError(.badRequest, "attachment_invalid", "attachment.url must be an http(s) URL Messenger can fetch.")
            }
        }
        let quickReplies = body.quickReplies ?? []
        guard quickReplies.count <= SendRequest.maxQuickReplies else {
            throw APIError(.badRequest, "quick_replies_invalid", "Messenger allows at most \(SendRequest.maxQuickReplies) quick replies.")
        }
        for reply in quickReplies where reply.title.isEmpty || reply.title.count > 20 || reply.payload.isEmpty || reply.payload.count > 1000 {
            throw APIError(
                .badRequest,
                "quick_replies_invalid",
                "Each quick reply needs a title of 1–20 characters and a payload of 1–1000."
            )
        }
        return OutboundDraft(
            conversationId: conversationId,
            text: hasText ? text : nil,
            clientId: clientId,
            attachment: body.attachment,
            quickReplies: quickReplies,
            author: .agent,
            authorId: principal
        )
    }

    /// Refuses before calling Meta when the windows do not allow this author (invariant 7).
    static func requireWindow(_ conversation: Conversation, author: AuthorKind) throws {
        switch conversation.window.state {
        case "open": return
        case "human_agent" where author == .human: return
        case "human_agent":
            throw APIError(
                .unprocessableContent,
                "window_automation_after_24h",
                MessagingWindow.Refusal.automationAfterStandardWindow.reason
            )
        default:
            if conversation.lastInboundAt == nil {
                throw APIError(.unprocessableContent, "window_never_opened", MessagingWindow.Refusal.neverOpened.reason)
            }
            throw APIError(.unprocessableContent, "window_closed", MessagingWindow.Refusal.closed.reason)
        }
    }

    // MARK: Pages

    func connect(_ body: ConnectPageBody) async throws -> JSONResponse {
        guard !body.id.isEmpty, !body.accessToken.isEmpty else {
            throw APIError(.badRequest, "invalid_argument", "Give the Page id and its access token.")
        }
        let token = PageAccessToken(body.accessToken)
        let identity: PageIdentity
        do {
            identity = try await graph.me(token: token)
            try await graph.subscribeApp(pageId: body.id, token: token)
        } catch {
            let failure = GraphErrorClassifier.classify(error)
            logger.notice("connecting a Page failed", metadata: ["page": "\(body.id)", "code": "\(failure.code)"])
            if failure.isRetryable { throw APIError(.badGateway, "graph_unavailable", failure.reason) }
            throw APIError(.badRequest, "page_token_invalid", "Facebook refused this access token for the Page: \(failure.reason)")
        }
        guard identity.id == body.id else {
            throw APIError(.badRequest, "page_token_mismatch", "This access token belongs to another Page (\(identity.id)).")
        }
        try await store.savePage(
            PageRecord(
                id: body.id,
                name: body.name ?? identity.name,
                sealedAccessToken: try box.seal(body.accessToken),
                sealedAppSecret: try body.appSecret.map { try box.seal($0) },
                state: .active,
                stateReason: nil,
                pausedUntil: nil,
                subscribedAt: store.clock.now()
            )
        )
        // A new token ends "reauthorization required": the Page's waiting sends go now.
        try await store.resumeSends(pageId: body.id)
        logger.info("Page connected", metadata: ["page": "\(body.id)"])
        guard let saved = try await store.page(id: body.id) else {
            throw APIError(.internalServerError, "internal_error", "The Page was saved but cannot be read back.")
        }
        return try JSONResponse(["page": PageInfo(saved)], status: .created)
    }
}

struct SendMessageBody: Decodable {
    var text: String?
    var clientId: String?
    var attachment: OutboundAttachmentDraft?
    var quickReplies: [QuickReplyDraft]?
}

struct TypingBody: Decodable {
    var state: String
}

struct SenderActionAnswer: Encodable {
    var action: String
    var sent: Bool
}

struct ConnectPageBody: Decodable {
    var id: String
    var name: String?
    var accessToken: String
    var appSecret: String?
}

/// A Page as the API shows it: its state, never its token.
struct PageInfo: Encodable {
    var id: String
    var name: String?
    var state: String
    var stateReason: String?
    var pausedUntil: String?
    var subscribedAt: String?
    var connected: Bool

    init(_ page: PageRecord) {
        id = page.id
        name = page.name
        state = page.state.rawValue
        stateReason = page.stateReason
        pausedUntil = page.pausedUntil?.iso8601
        subscribedAt = page.subscribedAt?.iso8601
        connected = page.sealedAccessToken != nil
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(state, forKey: .state)
        try container.encode(stateReason, forKey: .stateReason)
        try container.encode(pausedUntil, forKey: .pausedUntil)
        try container.encode(subscribedAt, forKey: .subscribedAt)
        try container.encode(connected, forKey: .connected)
    }

    enum CodingKeys: String, CodingKey { case id, name, state, stateReason, pausedUntil, subscribedAt, connected }
}

/// The webhook settings to copy into Meta's App Dashboard.
struct WebhookSettings: Encodable, Sendable {
    var callbackUrl: String
    /// nil when `WEBHOOK_VERIFY_TOKEN` is not set (Meta's handshake then fails).
    var verifyToken: String?
    var fields: [String]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(callbackUrl, forKey: .callbackUrl)
        try container.encode(verifyToken, forKey: .verifyToken)
        try container.encode(fields, forKey: .fields)
    }

    enum CodingKeys: String, CodingKey { case callbackUrl, verifyToken, fields }
}

/// `GET /api/pages`: the Pages, and for admins the webhook settings (`null` for agents).
struct PagesAnswer: Encodable {
    var pages: [PageInfo]
    var webhook: WebhookSettings?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pages, forKey: .pages)
        try container.encode(webhook, forKey: .webhook)
    }

    enum CodingKeys: String, CodingKey { case pages, webhook }
}
