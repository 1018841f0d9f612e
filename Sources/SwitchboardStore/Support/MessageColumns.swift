import Foundation
import Messenger
import SwitchboardCore

/// The one place that knows how a `messages` row becomes the API's Message.
enum MessageColumns {
    static let list = """
        id, conversation_id, direction, author, author_id, kind, text, attachments, quick_reply_payload, postback_payload, \
        reply_to_mid, mid, client_id, status, error_code, error_subcode, error_message, fbtrace_id, sent_timestamp, \
        created_at, sent_at, delivered_at, read_at, error_kind, quick_replies
        """

    /// ``list`` with each column qualified by a table alias, for joins.
    static func list(qualifiedBy alias: String) -> String {
        list.split(separator: ",").map { "\(alias).\($0.trimmingCharacters(in: .whitespacesAndNewlines))" }.joined(separator: ", ")
    }

    static func attachmentsJSON(_ attachments: [WebhookAttachment]) -> String? {
        guard !attachments.isEmpty else { return nil }
        return try? JSONText.encode(
            attachments.map { Attachment(type: $0.type, url: $0.url, title: $0.title, stickerId: $0.stickerId) }
        )
    }

    /// Thread order: Meta's timestamp, then arrival (ties are common within a second).
    static func threadOrder(_ a: SQLRow, _ b: SQLRow) -> Bool {
        let (ta, tb) = (a.int("sent_timestamp") ?? 0, b.int("sent_timestamp") ?? 0)
        return ta != tb ? ta < tb : (a.int("id") ?? 0) < (b.int("id") ?? 0)
    }

    static func iso(_ ms: Int64?) -> String? { ms.map { Date(millisecondsSince1970: $0).iso8601 } }

    /// Builds the Message for a row, with the reactions on it.
    static func message(_ row: SQLRow, in db: any SQLExecutor, pageId: String) async throws -> Message {
        var reactions: [String: [MessageReaction]] = [:]
        if let mid = row.string("mid") {
            reactions = try await self.reactions(mids: [mid], pageId: pageId, in: db)
        }
        return message(row, reactions: reactions)
    }

    static func message(_ row: SQLRow, reactions: [String: [MessageReaction]]) -> Message {
        let status = MessageStatus(rawValue: row.string("status") ?? "") ?? .received
        let error = row.string("error_message").map {
            MessageError(
                code: row.int("error_code").map(Int.init),
                subcode: row.int("error_subcode").map(Int.init),
                message: $0,
                fbtraceId: row.string("fbtrace_id"),
                kind: row.string("error_kind")
            )
        }
        return Message(
            id: String(row.int("id") ?? 0),
            conversationId: String(row.int("conversation_id") ?? 0),
            direction: MessageDirection(rawValue: row.string("direction") ?? "in") ?? .inbound,
            author: MessageAuthor(rawValue: row.string("author") ?? "customer") ?? .customer,
            authorId: row.string("author_id"),
            kind: row.string("kind") ?? "message",
            text: row.string("text"),
            attachments: JSONText.decode([Attachment].self, row.string("attachments")) ?? [],
            quickReplyPayload: row.string("quick_reply_payload"),
            postbackPayload: row.string("postback_payload"),
            replyToMid: row.string("reply_to_mid"),
            facebookMessageId: row.string("mid"),
            clientId: row.string("client_id"),
            status: status,
            error: error,
            reactions: row.string("mid").flatMap { reactions[$0] } ?? [],
            timestamp: iso(row.int("sent_timestamp")) ?? "",
            createdAt: iso(row.int("created_at")) ?? "",
            sentAt: iso(row.int("sent_at")),
            deliveredAt: iso(row.int("delivered_at")),
            readAt: iso(row.int("read_at")),
            quickReplies: JSONText.decode([QuickReplyDraft].self, row.string("quick_replies")) ?? []
        )
    }

    /// The current reactions per message: each customer's latest react/unreact wins.
    static func reactions(mids: [String], pageId: String, in db: any SQLExecutor) async throws -> [String: [MessageReaction]] {
        guard !mids.isEmpty else { return [:] }
        var binds: [SQLValue] = [.text(pageId)]
        let placeholders = mids.map { mid -> String in
            binds.append(.text(mid))
            return "$\(binds.count)"
        }
        let rows = try await db.query(
            "SELECT mid, psid, action, reaction, emoji, event_timestamp FROM reactions WHERE page_id = $1 AND mid IN (\(placeholders.joined(separator: ", "))) ORDER BY event_timestamp, id",
            binds
        )
        var latest: [String: [String: SQLRow]] = [:]
        for row in rows {
            latest[row.string("mid") ?? "", default: [:]][row.string("psid") ?? ""] = row
        }
        return latest.mapValues { byCustomer in
            byCustomer.values.filter { $0.string("action") == "react" }
                .sorted { ($0.int("event_timestamp") ?? 0) < ($1.int("event_timestamp") ?? 0) }
                .map { MessageReaction(reaction: $0.string("reaction"), emoji: $0.string("emoji"), at: iso($0.int("event_timestamp")) ?? "") }
        }
    }
}
