import Foundation
import Messenger
import SwitchboardCore

/// The one place that knows how a conversation row (joined with its contact) becomes the
/// API's Conversation.
enum ConversationRows {
    static let select = """
        SELECT c.id, c.page_id, c.last_inbound_at, c.last_message_at, c.last_message_preview, c.message_count,
               c.unread_count, c.bot_state, c.bot_reason, c.assignee_id, c.status, c.created_at,
               ct.psid, ct.name AS contact_name, ct.avatar_url, ct.first_seen_at, ct.unreachable_at
        FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
        """

    static func load(id: Int64, in db: any SQLExecutor, now: Int64) async throws -> Conversation? {
        try await db.first("\(select) WHERE c.id = $1", .int(id)).map { conversation($0, now: now) }
    }

    /// Several conversations in one query, by id.
    static func load(ids: [Int64], in db: any SQLExecutor, now: Int64) async throws -> [Int64: Conversation] {
        guard !ids.isEmpty else { return [:] }
        var loaded: [Int64: Conversation] = [:]
        for row in try await db.query("\(select) WHERE c.id IN (\(bindList(ids.count, from: 1)))", ids.map { .int($0) }) {
            if let id = row.int("id") { loaded[id] = conversation(row, now: now) }
        }
        return loaded
    }

    static func conversation(_ row: SQLRow, now: Int64) -> Conversation {
        let iso = MessageColumns.iso
        let window = MessagingWindow.state(
            lastInboundAt: row.int("last_inbound_at").map { Date(millisecondsSince1970: $0) },
            now: Date(millisecondsSince1970: now)
        )
        return Conversation(
            id: String(row.int("id") ?? 0),
            pageId: row.string("page_id") ?? "",
            contact: Contact(
                psid: row.string("psid") ?? "",
                name: row.string("contact_name"),
                avatarUrl: row.string("avatar_url"),
                firstSeenAt: iso(row.int("first_seen_at")) ?? "",
                unreachable: row.int("unreachable_at") != nil
            ),
            lastMessageAt: iso(row.int("last_message_at")),
            lastInboundAt: iso(row.int("last_inbound_at")),
            lastMessagePreview: row.string("last_message_preview"),
            messageCount: Int(row.int("message_count") ?? 0),
            unreadCount: Int(row.int("unread_count") ?? 0),
            window: WindowInfo(state: window.state.rawValue, closesAt: window.closesAt?.iso8601),
            bot: BotInfo(state: row.string("bot_state") ?? "off", reason: row.string("bot_reason")),
            assigneeId: row.string("assignee_id"),
            status: ConversationStatus(rawValue: row.string("status") ?? "") ?? .open,
            createdAt: iso(row.int("created_at")) ?? ""
        )
    }
}
