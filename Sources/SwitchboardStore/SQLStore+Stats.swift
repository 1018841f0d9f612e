public import Foundation
import Messenger
public import SwitchboardCore

extension SQLStore {
    /// The Status screen's numbers, limited to the Pages the caller may see. Messages are
    /// counted by their time (`sent_timestamp`, indexed), so the cost follows the messages
    /// since `since`, not the history.
    public func inboxStats(since: Date, visibility: PageVisibility = .all) async throws -> InboxStats {
        let now = self.now
        let hourMs: Int64 = 3_600_000
        let firstHour = (now / hourMs - 23) * hourMs
        // Each query gets its own parameters: the caller's Pages first, then its values.
        var pageBinds: [SQLValue] = []
        var pageFilter = ""
        if case .only(let pages) = visibility {
            pageBinds = pages.sorted().map { .text($0) }
            pageFilter = pages.isEmpty ? " AND 1 = 0" : " AND page_id IN (\((1...pageBinds.count).map { "$\($0)" }.joined(separator: ", ")))"
        }
        func query(_ values: [SQLValue]) -> (binds: [SQLValue], placeholders: [String]) {
            (pageBinds + values, values.indices.map { "$\(pageBinds.count + $0 + 1)" })
        }
        let windows = query([.int(now - Int64(MessagingWindow.standard * 1000)), .int(now - Int64(MessagingWindow.humanAgent * 1000))])
        let conversationsSQL = """
            SELECT COUNT(*) AS total,
                SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END) AS open,
                SUM(CASE WHEN last_inbound_at > \(windows.placeholders[0]) THEN 1 ELSE 0 END) AS active,
                SUM(CASE WHEN last_inbound_at > \(windows.placeholders[1]) AND last_inbound_at >= last_message_at THEN 1 ELSE 0 END) AS waiting,
                SUM(CASE WHEN unread_count > 0 THEN 1 ELSE 0 END) AS unread,
                SUM(CASE WHEN bot_state = 'paused' THEN 1 ELSE 0 END) AS needs_human,
                SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END) AS unassigned
            FROM conversations WHERE 1 = 1\(pageFilter)
            """
        let sinceQuery = query([.int(since.millisecondsSince1970)])
        let messagesSQL = """
            SELECT direction, status, COUNT(*) AS n FROM messages WHERE sent_timestamp >= \(sinceQuery.placeholders[0])\(pageFilter)
            GROUP BY direction, status
            """
        let hourQuery = query([.int(firstHour)])
        let hourlySQL = """
            SELECT sent_timestamp / \(hourMs) AS hour, direction, COUNT(*) AS n FROM messages
            WHERE sent_timestamp >= \(hourQuery.placeholders[0])\(pageFilter) GROUP BY sent_timestamp / \(hourMs), direction
            """
        let threadSQL = """
            SELECT conversation_id, direction, author, status, sent_timestamp FROM messages
            WHERE sent_timestamp >= \(sinceQuery.placeholders[0])\(pageFilter) ORDER BY conversation_id, sent_timestamp, id
            """
        return try await database.read { db in
            let counts = try await db.query(conversationsSQL, windows.binds).first
            func count(_ name: String) -> Int { Int(counts?.int(name) ?? 0) }
            var messages = InboxStats.Messages(inbound: 0, outbound: 0, failed: 0)
            for row in try await db.query(messagesSQL, sinceQuery.binds) {
                let n = Int(row.int("n") ?? 0)
                switch (row.string("direction"), row.string("status")) {
                case ("in", _): messages.inbound += n
                case (_, "failed"): messages.failed += n
                default: messages.outbound += n
                }
            }
            var hours = (0..<24).map {
                InboxStats.Hour(at: Date(millisecondsSince1970: firstHour + Int64($0) * hourMs).iso8601, inbound: 0, outbound: 0)
            }
            for row in try await db.query(hourlySQL, hourQuery.binds) {
                let index = Int((row.int("hour") ?? 0) - firstHour / hourMs)
                guard hours.indices.contains(index) else { continue }
                let n = Int(row.int("n") ?? 0)
                if row.string("direction") == "in" { hours[index].inbound += n } else { hours[index].outbound += n }
            }
            var meter = InboxStats.FirstResponse.Meter()
            var current: Int64?
            for row in try await db.query(threadSQL, sinceQuery.binds) {
                let conversation = row.int("conversation_id")
                if conversation != current {
                    meter.nextConversation()
                    current = conversation
                }
                meter.record(
                    direction: MessageDirection(rawValue: row.string("direction") ?? "") ?? .inbound,
                    author: MessageAuthor(rawValue: row.string("author") ?? "") ?? .customer,
                    status: MessageStatus(rawValue: row.string("status") ?? "") ?? .received,
                    at: row.int("sent_timestamp") ?? 0
                )
            }
            return InboxStats(
                since: since.iso8601,
                conversations: InboxStats.Conversations(
                    total: count("total"),
                    open: count("open"),
                    active: count("active"),
                    waiting: count("waiting"),
                    unread: count("unread"),
                    needsHuman: count("needs_human"),
                    unassigned: count("unassigned")
                ),
                messages: messages,
                firstResponse: meter.result,
                hourly: hours
            )
        }
    }
}
