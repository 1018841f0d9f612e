import Foundation
import Messenger
public import SwitchboardCore

extension SQLStore {
    /// Conversations, newest activity first, paged by an opaque cursor.
    public func conversations(_ query: ConversationQuery) async throws -> SwitchboardCore.Page<Conversation> {
        let limit = max(1, min(query.limit, 500))
        let now = self.now
        var conditions: [String] = []
        var binds: [SQLValue] = []
        func bind(_ value: SQLValue) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        if let pageId = query.pageId { conditions.append("c.page_id = \(bind(.text(pageId)))") }
        if case .only(let pages) = query.visibility {
            conditions.append(pages.isEmpty ? "1 = 0" : "c.page_id IN (\(pages.sorted().map { bind(.text($0)) }.joined(separator: ", ")))")
        }
        if query.unreadOnly { conditions.append("c.unread_count > 0") }
        switch query.assignee {
        case .nobody: conditions.append("c.assignee_id IS NULL")
        case .user(let id): conditions.append("c.assignee_id = \(bind(.text(id)))")
        case nil: break
        }
        if let bot = query.bot { conditions.append("c.bot_state = \(bind(.text(bot.rawValue)))") }
        if let status = query.status { conditions.append("c.status = \(bind(.text(status.rawValue)))") }
        if let window = query.window { conditions.append(Self.windowCondition(window, now: now, bind: bind)) }
        if let search = query.search?.trimmingCharacters(in: .whitespaces), !search.isEmpty {
            let pattern = bind(.text("%\(search.replacingOccurrences(of: "%", with: ""))%"))
            conditions.append(
                "(ct.name {{like}} \(pattern) OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.text {{like}} \(pattern)))"
            )
        }
        if let cursor = query.cursor {
            guard let (at, id) = Cursor.decode(cursor) else {
                throw SwitchboardError(.invalidArgument, "The cursor is not one this server issued.")
            }
            conditions.append(
                "(COALESCE(c.last_message_at, 0) < \(bind(.int(at))) OR (COALESCE(c.last_message_at, 0) = \(bind(.int(at))) AND c.id < \(bind(.int(id)))))"
            )
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql =
            "\(ConversationRows.select) \(whereClause) ORDER BY COALESCE(c.last_message_at, 0) DESC, c.id DESC LIMIT \(bind(.int(Int64(limit + 1))))"
        let rows = try await database.read { [binds] db in try await db.query(sql, binds) }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { Cursor.encode($0.int("last_message_at") ?? 0, $0.int("id") ?? 0) } : nil
        return Page(items: page.map { ConversationRows.conversation($0, now: now) }, nextCursor: next)
    }

    /// The reply-window filter in SQL, with the same boundaries as `MessagingWindow.state`:
    /// open while under 24 h have passed since the customer's last message, human agent
    /// while under 7 days.
    static func windowCondition(_ window: ConversationQuery.Window, now: Int64, bind: (SQLValue) -> String) -> String {
        let standardEnds = now - Int64(MessagingWindow.standard * 1000)
        let humanAgentEnds = now - Int64(MessagingWindow.humanAgent * 1000)
        switch window {
        case .open:
            return "c.last_inbound_at > \(bind(.int(standardEnds)))"
        case .humanAgent:
            return "(c.last_inbound_at <= \(bind(.int(standardEnds))) AND c.last_inbound_at > \(bind(.int(humanAgentEnds))))"
        case .closed:
            return "(c.last_inbound_at IS NULL OR c.last_inbound_at <= \(bind(.int(humanAgentEnds))))"
        case .closing(let within):
            let soon = standardEnds + Int64(max(0, within) * 1000)
            return "(c.last_inbound_at <= \(bind(.int(soon))) AND c.last_inbound_at > \(bind(.int(humanAgentEnds))))"
        }
    }

    /// The conversation of a Page's customer, if they ever wrote.
    public func conversationId(pageId: String, psid: String) async throws -> String? {
        try await database.read { db in
            try await db.first(
                "SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE ct.page_id = $1 AND ct.psid = $2",
                .text(pageId),
                .text(psid)
            )?.int("id").map { String($0) }
        }
    }

    public func conversation(id: String) async throws -> Conversation? {
        guard let key = Int64(id) else { return nil }
        let now = self.now
        return try await database.read { db in try await ConversationRows.load(id: key, in: db, now: now) }
    }

    /// A conversation's messages: the newest `limit` (or those before `before`), returned
    /// oldest first; `nextCursor` asks for the older ones.
    public func messages(conversationId: String, limit: Int = 50, before: String? = nil) async throws -> SwitchboardCore.Page<Message> {
        guard let conversation = Int64(conversationId) else {
            throw SwitchboardError(.conversationNotFound, "No conversation has the id \(conversationId).")
        }
        let limit = max(1, min(limit, 500))
        let beforeKey: (Int64, Int64)? = try before.map { before in
            guard let key = Cursor.decode(before) else {
                throw SwitchboardError(.invalidArgument, "The cursor is not one this server issued.")
            }
            return key
        }
        return try await database.read { db in
            guard let pageRow = try await db.first("SELECT page_id FROM conversations WHERE id = $1", .int(conversation)) else {
                throw SwitchboardError(.conversationNotFound, "No conversation has the id \(conversationId).")
            }
            let pageId = pageRow.string("page_id") ?? ""
            var sql = "SELECT \(MessageColumns.list) FROM messages WHERE conversation_id = $1"
            var binds: [SQLValue] = [.int(conversation)]
            if let (at, id) = beforeKey {
                sql += " AND (sent_timestamp < $2 OR (sent_timestamp = $2 AND id < $3))"
                binds += [.int(at), .int(id)]
            }
            sql += " ORDER BY sent_timestamp DESC, id DESC LIMIT \(limit + 1)"
            let rows = try await db.query(sql, binds)
            let page = Array(rows.prefix(limit).reversed())
            let reactions = try await MessageColumns.reactions(mids: page.compactMap { $0.string("mid") }, pageId: pageId, in: db)
            let next = rows.count > limit ? page.first.map { Cursor.encode($0.int("sent_timestamp") ?? 0, $0.int("id") ?? 0) } : nil
            return Page(items: page.map { MessageColumns.message($0, reactions: reactions) }, nextCursor: next)
        }
    }

    /// Clears a conversation's unread count.
    public func markRead(conversationId: String) async throws -> (Conversation, RealtimeEvent?) {
        guard let key = Int64(conversationId) else {
            throw SwitchboardError(.conversationNotFound, "No conversation has the id \(conversationId).")
        }
        let now = self.now
        return try await database.transaction { db in
            let changed = try await db.query(
                "UPDATE conversations SET unread_count = 0, updated_at = $2 WHERE id = $1 AND unread_count > 0 RETURNING id",
                .int(key),
                .int(now)
            )
            guard let conversation = try await ConversationRows.load(id: key, in: db, now: now) else {
                throw SwitchboardError(.conversationNotFound, "No conversation has the id \(conversationId).")
            }
            guard !changed.isEmpty else { return (conversation, nil) }
            let event = try await RealtimeLog(db: db, now: now).record(
                "conversation:read",
                conversationId: conversation.id,
                ConversationReadPayload(conversationId: conversation.id, unreadCount: 0)
            )
            return (conversation, event)
        }
    }

    /// Realtime events after `id`, oldest first (REST catch-up after a long disconnect),
    /// limited to the conversations of the Pages the caller may see.
    public func realtimeEvents(after id: Int64, limit: Int = 500, visibility: PageVisibility = .all) async throws -> [RealtimeEvent] {
        var binds: [SQLValue] = [.int(id), .int(Int64(max(1, min(limit, 1000))))]
        var filter = ""
        if case .only(let pages) = visibility {
            let list = pages.sorted().map { page -> String in
                binds.append(.text(page))
                return "$\(binds.count)"
            }
            let inList = list.isEmpty ? "NULL" : list.joined(separator: ", ")
            filter =
                " AND (e.conversation_id IS NULL OR EXISTS (SELECT 1 FROM conversations c WHERE c.id = e.conversation_id AND c.page_id IN (\(inList))))"
        }
        let sql = "SELECT e.id, e.at, e.name, e.conversation_id, e.payload FROM realtime_events e WHERE e.id > $1\(filter) ORDER BY e.id LIMIT $2"
        return try await database.read { [binds] db in try await db.query(sql, binds) }.map { row in
            RealtimeEvent(
                id: row.int("id") ?? 0,
                name: row.string("name") ?? "",
                conversationId: row.int("conversation_id").map { String($0) },
                payload: row.string("payload") ?? "{}",
                at: MessageColumns.iso(row.int("at")) ?? ""
            )
        }
    }
}

/// Opaque paging cursors: a sort key and a row id, base64url-encoded.
enum Cursor {
    static func encode(_ at: Int64, _ id: Int64) -> String {
        Data("\(at):\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) -> (Int64, Int64)? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
        guard parts.count == 2, let at = Int64(parts[0]), let id = Int64(parts[1]) else { return nil }
        return (at, id)
    }
}
