import Foundation
public import SwitchboardCore

/// A change of a conversation's assignee or status, as committed.
public struct ConversationChange: Sendable {
    public var conversation: Conversation
    /// False when the conversation already was so (nothing stored, nothing to publish).
    public var changed: Bool
    /// To publish after the commit.
    public var events: [RealtimeEvent]
    /// What the bot decided (an assignment pauses it), stored in the same transaction.
    public var bot: BotFeedResult?
}

/// Assignment and resolution (issue 9: "an agent takes the conversation in the dashboard"
/// is a handover trigger). Each change commits with its audit row, its realtime event and
/// what the bot decided about it.
extension SQLStore {
    /// Assigns the conversation to a user (nil: nobody). The caller checks who may be
    /// assigned; assigning a person pauses the bot (`agent_took_over`).
    public func assignConversation(id: String, assigneeId: String?, by principal: String) async throws -> ConversationChange {
        try await changeConversation(
            id: id,
            "UPDATE conversations SET assignee_id = $2 WHERE id = $1 AND COALESCE(assignee_id, '') <> COALESCE($2, '') RETURNING id",
            SQLValue(assigneeId),
            audit: "conversation.assigned",
            detail: assigneeId.map { "user:\($0)" } ?? "nobody",
            event: "conversation:assignee",
            ConversationAssigneePayload(conversationId: id, assigneeId: assigneeId, by: principal),
            bot: assigneeId == nil ? nil : .agentTookOver(at: clock.now()),
            by: principal
        )
    }

    /// Resolves or reopens the conversation. Resolving tells the bot (its count of answers
    /// without resolution starts again).
    public func setConversationStatus(id: String, _ status: ConversationStatus, by principal: String) async throws -> ConversationChange {
        try await changeConversation(
            id: id,
            "UPDATE conversations SET status = $2 WHERE id = $1 AND status <> $2 RETURNING id",
            .text(status.rawValue),
            audit: status == .resolved ? "conversation.resolved" : "conversation.reopened",
            detail: nil,
            event: "conversation:status",
            ConversationStatusPayload(conversationId: id, status: status, by: principal),
            bot: status == .resolved ? .resolved : nil,
            by: principal
        )
    }

    /// One change: `update` (`$1` the id, `$2` the value; a row back when it changed
    /// something), then its audit row, its realtime event and the bot's decision, all in
    /// one transaction; nothing but the read when it changed nothing.
    private func changeConversation(
        id: String,
        _ update: String,
        _ value: SQLValue,
        audit action: String,
        detail: String?,
        event name: String,
        _ payload: some Encodable & Sendable,
        bot event: BotEvent?,
        by principal: String
    ) async throws -> ConversationChange {
        let key = try Self.conversationKey(id)
        let now = self.now
        let change = try await database.transaction { [queue] db -> ConversationChange in
            let changed = !(try await db.query(update, .int(key), value)).isEmpty
            var events: [RealtimeEvent] = []
            var bot: BotFeedResult?
            if changed {
                try await Self.audit(in: db, at: now, actor: principal, action: action, subject: "conversation:\(id)", detail: detail)
                events.append(try await RealtimeLog(db: db, now: now).record(name, conversationId: id, payload))
                if let event {
                    bot = try await Self.feedBot(
                        in: db,
                        conversationId: key,
                        pageId: nil,
                        events: [event],
                        actor: principal,
                        now: now,
                        queue: queue
                    )
                    events += bot?.events ?? []
                }
            }
            guard let conversation = try await ConversationRows.load(id: key, in: db, now: now) else {
                throw SwitchboardError(.conversationNotFound, "No conversation has the id \(id).")
            }
            return ConversationChange(conversation: conversation, changed: changed, events: events, bot: bot)
        }
        if change.bot?.plan.needsSave == true { queue.wake() }
        return change
    }
}
