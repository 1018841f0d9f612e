import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Messenger
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore

/// Typing indicators and read marks, sent to Meta at once and alone (never queued behind
/// messages), for the REST routes and for the realtime gateway's typing relay. A refusal
/// is an `APIError` with a stable code.
struct SenderActions: Sendable {
    let store: SQLStore
    let graph: GraphClient
    let box: SecretBox
    let throttle: SenderActionThrottle

    /// Sends one action. `throttled: false` is for callers that already debounce (the
    /// typing relay's state machine), so a quick off-then-on is not swallowed.
    func send(_ action: SenderAction, conversationId: String, throttled: Bool = true) async throws -> SenderActionAnswer {
        guard let conversation = try await store.conversation(id: conversationId) else {
            throw APIRoutes.notFound(conversationId)
        }
        try OutboundRoutes.requireWindow(conversation, author: .human)
        guard let page = try await store.page(id: conversation.pageId), let sealed = page.sealedAccessToken else {
            throw APIError(.conflict, "page_not_connected", "The Page of this conversation is not connected to Switchboard.")
        }
        guard page.state != .reauthorizationRequired else {
            throw APIError(.conflict, "page_reauthorization_required", "The Page needs a new access token; reconnect it.")
        }
        if throttled, !(await throttle.admit(conversationId: conversationId, action: action)) {
            return SenderActionAnswer(action: action.rawValue, sent: false)
        }
        let token = PageAccessToken(try box.open(sealed))
        do {
            try await graph.senderAction(pageId: page.id, token: token, psid: conversation.contact.psid, action: action)
        } catch {
            let failureClass = GraphErrorClassifier.classify(error)
            if failureClass.action == .reauthorize {
                try await store.markPageReauthorizationRequired(pageId: page.id, reason: failureClass.reason)
            }
            let code = failureClass.code.replacingOccurrences(of: ".", with: "_")
            throw APIError(failureClass.isRetryable ? .serviceUnavailable : .unprocessableContent, code, failureClass.reason)
        }
        return SenderActionAnswer(action: action.rawValue, sent: true)
    }
}

/// Answers which conversations a caller may touch: one of a Page they may not see is
/// "not found" to them, exactly as if it did not exist. Conversation → Page never changes,
/// so it is cached.
struct ConversationAccess: Sendable {
    let pages: ConversationPageCache

    /// The `:id` of the route, when the caller may see that conversation.
    func require(_ context: SwitchboardRequestContext) async throws -> String {
        let id = try context.parameters.require("id")
        try await require(id, visibility: try context.caller.visibility)
        return id
    }

    func require(_ conversationId: String, visibility: PageVisibility) async throws {
        guard case .only = visibility else { return }
        guard let page = try await pages.pageId(of: conversationId), visibility.allows(page) else {
            throw APIRoutes.notFound(conversationId)
        }
    }
}
