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
        let key = try Self.conversationKey(id)
        let now = self.now
        let change = try await database.transaction { [queue] db -> ConversationChange in
            let updated = try await db.query(
                "UPDATE conversations SET assignee_id = $2 WHERE id = $1 AND COALESCE(assignee_id, '') <> COALESCE($2, '') RETURNING id",
                .int(key),
                SQLValue(assigneeId)
            )
            var events: [RealtimeEvent] = []
            var bot: BotFeedResult?
            if !updated.isEmpty {
                try await Self.audit(
                    in: db,
                    at: now,
                    actor: principal,
                    action: "conversation.assigned",
                    subject: "conversation:\(id)",
                    detail: assigneeId.map { "user:\($0)" } ?? "nobody"
                )
                let payload = ConversationAssigneePayload(conversationId: id, assigneeId: assigneeId, by: principal)
                events.append(try await RealtimeLog(db: db, now: now).record("conversation:assignee", conversationId: id, payload))
                if assigneeId != nil {
                    bot = try await Self.feedBot(
                        in: db,
                        conversationId: key,
                        pageId: nil,
                        events: [.agentTookOver(at: Date(millisecondsSince1970: now))],
                        actor: principal,
                        now: now,
                        queue: queue
                    )
                    events += bot?.events ?? []
                }
            }
            return try await Self.change(key, changed: !updated.isEmpty, events: events, bot: bot, in: db, now: now)
        }
        if change.bot?.plan.needsSave == true { queue.wake() }
        return change
    }

    /// Resolves or reopens the conversation. Resolving tells the bot (its count of answers
    /// without resolution starts again).
    public func setConversationStatus(id: String, _ status: ConversationStatus, by principal: String) async throws -> ConversationChange {
        let key = try Self.conversationKey(id)
        let now = self.now
        let change = try await database.transaction { [queue] db -> ConversationChange in
            let updated = try await db.query(
                "UPDATE conversations SET status = $2 WHERE id = $1 AND status <> $2 RETURNING id",
                .int(key),
                .text(status.rawValue)
            )
            var events: [RealtimeEvent] = []
            var bot: BotFeedResult?
            if !updated.isEmpty {
                try await Self.audit(
                    in: db,
                    at: now,
                    actor: principal,
                    action: status == .resolved ? "conversation.resolved" : "conversation.reopened",
                    subject: "conversation:\(id)",
                    detail: nil
                )
                let payload = ConversationStatusPayload(conversationId: id, status: status, by: principal)
                events.append(try await RealtimeLog(db: db, now: now).record("conversation:status", conversationId: id, payload))
                if status == .resolved {
                    bot = try await Self.feedBot(
                        in: db,
                        conversationId: key,
                        pageId: nil,
                        events: [.resolved],
                        actor: principal,
                        now: now,
                        queue: queue
                    )
                    events += bot?.events ?? []
                }
            }
            return try await Self.change(key, changed: !updated.isEmpty, events: events, bot: bot, in: db, now: now)
        }
        if change.bot?.plan.needsSave == true { queue.wake() }
        return change
    }

    private static func change(
        _ key: Int64,
        changed: Bool,
        events: [RealtimeEvent],
        bot: BotFeedResult?,
        in db: any SQLExecutor,
        now: Int64
    ) async throws -> ConversationChange {
        guard let conversation = try await ConversationRows.load(id: key, in: db, now: now) else {
            throw SwitchboardError(.conversationNotFound, "No conversation has the id \(key).")
        }
        return ConversationChange(conversation: conversation, changed: changed, events: events, bot: bot)
    }
}
