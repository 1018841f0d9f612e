import Foundation
import Hummingbird
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore

/// Assignment and resolution of conversations (docs/accounts-realtime.md, "Assignment and
/// resolution"). Any caller who may see the conversation may resolve or reopen it and take
/// it or unassign it; only admins (and API tokens) assign it to someone else, and only to
/// an active user who may see its Page.
struct WorkflowRoutes {
    let store: SQLStore
    let publisher: any EventPublisher
    let access: ConversationAccess
    let bot: BotConversations

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        group.put("/conversations/:id/assignee") { request, context in
            let id = try await access.require(context)
            let body = try await request.decode(as: AssigneeBody.self, context: context)
            if let assigneeId = body.assigneeId { try await requireAssignable(assigneeId, conversationId: id, caller: try context.caller) }
            return try await answer(try await store.assignConversation(id: id, assigneeId: body.assigneeId, by: try context.caller.principal))
        }
        group.post("/conversations/:id/resolve") { _, context in
            let id = try await access.require(context)
            return try await answer(try await store.setConversationStatus(id: id, .resolved, by: try context.caller.principal))
        }
        group.post("/conversations/:id/reopen") { _, context in
            let id = try await access.require(context)
            return try await answer(try await store.setConversationStatus(id: id, .open, by: try context.caller.principal))
        }
    }

    /// Agents take conversations for themselves; admins assign anyone active who can see
    /// the Page (403 `forbidden`, else 422 `assignee_invalid`).
    func requireAssignable(_ assigneeId: String, conversationId: String, caller: Identity) async throws {
        guard caller.isAdmin || caller.user?.id == assigneeId else {
            throw APIError(.forbidden, "forbidden", "Agents may take a conversation for themselves or unassign it; only an admin assigns others.")
        }
        guard let user = try await store.user(id: assigneeId), user.disabledAt == nil else {
            throw APIError(.unprocessableContent, "assignee_invalid", "No active user has the id \(assigneeId).")
        }
        guard let conversation = try await store.conversation(id: conversationId) else { throw APIRoutes.notFound(conversationId) }
        guard user.visiblePages.allows(conversation.pageId) else {
            throw APIError(.unprocessableContent, "assignee_invalid", "\(user.displayName) cannot see this conversation's Page.")
        }
    }

    /// Publishes after the commit, counts the bot's handover, answers the conversation.
    func answer(_ change: ConversationChange) async throws -> JSONResponse {
        await publisher.publish(change.events)
        if let fed = change.bot { await bot.committed(fed, conversationId: change.conversation.id, publish: false) }
        return try JSONResponse(["conversation": change.conversation])
    }
}

/// `{"assigneeId": "<user id>" | null}`: the key is required, so a typo is not an unassign.
struct AssigneeBody: Decodable {
    var assigneeId: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard container.contains(.assigneeId) else {
            throw DecodingError.keyNotFound(
                CodingKeys.assigneeId,
                .init(codingPath: [], debugDescription: "Give assigneeId: a user id, or null to unassign.")
            )
        }
        assigneeId = try container.decode(String?.self, forKey: .assigneeId)
    }

    enum CodingKeys: String, CodingKey { case assigneeId }
}
