import Foundation
import Messenger
import SwitchboardCore

/// Applies several conversations' events inside one transaction with a handful of
/// statements instead of a handful per message: contacts, conversations, customer
/// messages, counters, the conversations' rows and the realtime events are each written
/// or read once for all of them. Only echoes, receipts, reactions and edits, whose order
/// matters, go event by event. Idempotent (invariant 3): messages and echoes are unique on
/// (page, mid), receipts are monotonic watermarks, reactions and postbacks have natural
/// keys; applying the same batches again changes nothing and emits nothing.
struct InboundRun {
    let db: any SQLExecutor
    let now: Int64
    var applications: [InboundApplication]

    /// Rows per multi-row statement, well under both databases' bind limits.
    static let rowsPerStatement = 200

    init(db: any SQLExecutor, batches: [InboundBatch], now: Int64) {
        self.db = db
        self.now = now
        applications = batches.map { InboundApplication(db: db, batch: $0, now: now) }
    }

    mutating func apply() async throws -> [InboundOutcome] {
        guard !applications.isEmpty else { return [] }
        try await upsertContacts()
        try await upsertConversations()
        try await insertCustomerMessages()
        for index in applications.indices {
            try await applications[index].applyOtherEvents()
        }
        try await writeCounters()
        try await clearUnreachableMarks()
        return try await outcomes()
    }

    /// Finds the run's contacts and creates those that are new, then asks for profiles:
    /// fetched once, refreshed lazily when older than a week (avatar URLs expire), never
    /// more than once an hour per contact.
    ///
    /// Known contacts are only read: an upsert of every contact in every run rewrote each
    /// row (WAL, dead tuples) and held its lock until the run committed, which the profile
    /// job's update of the same contact waited for. The new ones are upserted on the
    /// natural key, so parallel first messages still make one contact.
    private mutating func upsertContacts() async throws {
        var rows: [String: SQLRow] = [:]
        // In the run's order (one per conversation, so one per contact).
        let wanted = applications.map { (pageId: $0.batch.pageId, psid: $0.batch.psid, at: $0.batch.events.first?.timestamp ?? now) }
        for chunk in Self.chunks(wanted.indices) {
            let pairs = chunk.map { (wanted[$0].pageId, wanted[$0].psid) }
            for row in try await db.query(
                """
                SELECT id, page_id, psid, first_seen_at, profile_fetched_at, profile_requested_at, unreachable_at FROM contacts
                WHERE (page_id, psid) IN (VALUES \(Self.pairList(pairs.count)))
                """,
                pairs.flatMap { [SQLValue.text($0.0), .text($0.1)] }
            ) {
                rows[Self.key(row.string("page_id"), row.string("psid"))] = row
            }
        }
        // A message older than the contact's first one arrived late: it is the first now.
        for contact in wanted {
            guard let row = rows[Self.key(contact.pageId, contact.psid)], let seen = row.int("first_seen_at"), contact.at < seen else { continue }
            try await db.query(
                "UPDATE contacts SET first_seen_at = $2 WHERE id = $1 AND first_seen_at > $2",
                .int(row.int("id") ?? 0),
                .int(contact.at)
            )
        }
        let least = db.dialect == .postgres ? "LEAST" : "MIN"
        let new = wanted.filter { rows[Self.key($0.pageId, $0.psid)] == nil }
        for chunk in Self.chunks(new.indices) {
            var binds: [SQLValue] = []
            let values = chunk.map { index -> String in
                binds += [.text(new[index].pageId), .text(new[index].psid), .int(new[index].at)]
                return "($\(binds.count - 2), $\(binds.count - 1), $\(binds.count))"
            }
            for row in try await db.query(
                """
                INSERT INTO contacts (page_id, psid, first_seen_at) VALUES \(values.joined(separator: ", "))
                ON CONFLICT (page_id, psid) DO UPDATE SET first_seen_at = \(least)(contacts.first_seen_at, excluded.first_seen_at)
                RETURNING id, page_id, psid, profile_fetched_at, profile_requested_at, unreachable_at
                """,
                binds
            ) {
                rows[Self.key(row.string("page_id"), row.string("psid"))] = row
            }
        }
        var asking: [Int64] = []
        for index in applications.indices {
            let batch = applications[index].batch
            guard let row = rows[Self.key(batch.pageId, batch.psid)], let id = row.int("id") else {
                throw SwitchboardError(.storageUnavailable, "The database returned no contact for \(batch.pageId)/\(batch.psid).")
            }
            applications[index].contactId = id
            applications[index].contactUnreachableAt = row.int("unreachable_at")
            if !WebhookProbe.isProbe(psid: batch.psid), now - (row.int("profile_fetched_at") ?? 0) > 7 * 24 * 3_600_000,
                now - (row.int("profile_requested_at") ?? 0) > 3_600_000
            {
                applications[index].needsProfile = true
                asking.append(id)
            }
        }
        for chunk in Self.chunks(asking.indices) {
            try await db.query(
                "UPDATE contacts SET profile_requested_at = $1 WHERE id IN (\(bindList(chunk.count, from: 2)))",
                [.int(now)] + chunk.map { .int(asking[$0]) }
            )
        }
    }

    /// Creates the conversations that are new.
    private mutating func upsertConversations() async throws {
        var ids: [Int64: Int64] = [:]
        var resolved: Set<Int64> = []
        for chunk in Self.chunks(applications.indices) {
            var binds: [SQLValue] = [.int(now)]
            let values = chunk.map { index -> String in
                let application = applications[index]
                binds += [.text(application.batch.pageId), .int(application.contactId), .int(application.batch.events.first?.timestamp ?? now)]
                return "($\(binds.count - 2), $\(binds.count - 1), $\(binds.count), $1, $1)"
            }
            for row in try await db.query(
                """
                INSERT INTO conversations (page_id, contact_id, last_message_at, created_at, updated_at) VALUES \(values.joined(separator: ", "))
                ON CONFLICT (page_id, contact_id) DO UPDATE SET page_id = excluded.page_id RETURNING id, contact_id, status
                """,
                binds
            ) {
                if let contact = row.int("contact_id"), let id = row.int("id") {
                    ids[contact] = id
                    if row.string("status") == ConversationStatus.resolved.rawValue { resolved.insert(id) }
                }
            }
        }
        for index in applications.indices {
            guard let id = ids[applications[index].contactId] else {
                throw SwitchboardError(.storageUnavailable, "The database returned no conversation for contact \(applications[index].contactId).")
            }
            applications[index].conversationId = id
            applications[index].wasResolved = resolved.contains(id)
        }
    }

    /// Inserts every conversation's customer messages and postbacks together; a mid stored
    /// before (or twice in the run) is a duplicate.
    private mutating func insertCustomerMessages() async throws {
        let items = applications.indices.flatMap { index in applications[index].customerMessages.map { (index, $0) } }
        var stored: [String: SQLRow] = [:]
        for chunk in Self.chunks(items.indices) {
            var binds: [SQLValue] = [.int(now)]
            let values = chunk.map { item -> String in
                let (index, message) = items[item]
                let first = binds.count + 1
                binds += [
                    .int(applications[index].conversationId), .text(applications[index].batch.pageId), .text(message.kind),
                    SQLValue(message.text), SQLValue(MessageColumns.attachmentsJSON(message.attachments)), SQLValue(message.quickReply),
                    SQLValue(message.postbackPayload), SQLValue(message.referral), SQLValue(message.replyTo), .text(message.mid),
                    .int(message.timestamp),
                ]
                let p = (first..<binds.count + 1).map { "$\($0)" }
                return "(\(p[0]), \(p[1]), 'in', 'customer', \(p[2...9].joined(separator: ", ")), 'received', \(p[10]), $1)"
            }
            for row in try await db.query(
                """
                INSERT INTO messages (conversation_id, page_id, direction, author, kind, text, attachments, quick_reply_payload,
                    postback_payload, referral, reply_to_mid, mid, status, sent_timestamp, created_at)
                VALUES \(values.joined(separator: ", "))
                ON CONFLICT (page_id, mid) DO NOTHING RETURNING \(MessageColumns.list)
                """,
                binds
            ) {
                stored[Self.key(row.int("conversation_id").map { String($0) }, row.string("mid"))] = row
            }
        }
        for (index, message) in items {
            // Taken once: the same mid again in this run is a duplicate.
            let row = stored.removeValue(forKey: Self.key(String(applications[index].conversationId), message.mid))
            applications[index].noteInserted(message, row: row)
        }
    }

    /// Moves each changed conversation's counters, times and watermarks (never backwards).
    private func writeCounters() async throws {
        let changed = applications.filter { $0.counters.any }
        for chunk in Self.chunks(changed.indices) {
            var binds: [SQLValue] = [.int(now)]
            let values = chunk.map { index -> String in
                let c = changed[index].counters
                let first = binds.count + 1
                binds += [
                    .int(changed[index].conversationId), .int(c.messages), .int(c.unread), .int(c.lastInbound ?? 0), .int(c.lastMessage ?? 0),
                    SQLValue(c.preview), .int(c.deliveredWatermark), .int(c.changed ? 1 : 0), .int(c.readWatermark),
                ]
                let casts = (first..<binds.count + 1).map { $0 == first + 5 ? "CAST($\($0) AS TEXT)" : "CAST($\($0) AS BIGINT)" }
                return "(\(casts.joined(separator: ", ")))"
            }
            try await db.query(
                """
                WITH v (id, messages, unread, last_inbound, last_message, preview, delivered, changed, read) AS (
                    VALUES \(values.joined(separator: ", ")))
                UPDATE conversations SET
                    message_count = message_count + v.messages,
                    unread_count = unread_count + v.unread,
                    last_inbound_at = CASE WHEN v.last_inbound > COALESCE(last_inbound_at, 0) THEN v.last_inbound ELSE last_inbound_at END,
                    last_message_preview = CASE WHEN v.last_message >= COALESCE(last_message_at, 0) AND v.changed = 1
                        THEN v.preview ELSE last_message_preview END,
                    last_message_at = CASE WHEN v.last_message > COALESCE(last_message_at, 0) THEN v.last_message ELSE last_message_at END,
                    delivered_watermark = CASE WHEN v.delivered > delivered_watermark THEN v.delivered ELSE delivered_watermark END,
                    read_watermark = CASE WHEN v.read > read_watermark THEN v.read ELSE read_watermark END,
                    status = CASE WHEN v.unread > 0 THEN 'open' ELSE status END,
                    updated_at = $1
                FROM v WHERE conversations.id = v.id
                """,
                binds
            )
        }
    }

    /// A customer who wrote after Meta said they could not receive messages can again.
    /// Only a newer message clears the mark, so replaying old webhooks changes nothing.
    private func clearUnreachableMarks() async throws {
        for application in applications {
            guard let lastInbound = application.counters.lastInbound, let mark = application.contactUnreachableAt, mark < lastInbound else {
                continue
            }
            try await db.query(
                "UPDATE contacts SET unreachable_at = NULL WHERE id = $1 AND unreachable_at IS NOT NULL AND unreachable_at < $2",
                .int(application.contactId),
                .int(lastInbound)
            )
        }
    }

    /// Records what changed as realtime events (one insert for the whole run) and sums up
    /// each conversation's outcome. Test Webhook's probe tells nobody (`WebhookProbe`).
    private func outcomes() async throws -> [InboundOutcome] {
        let eventful = applications.filter {
            !WebhookProbe.isProbe(psid: $0.batch.psid) && (!$0.newMessages.isEmpty || !$0.statusChanges.isEmpty || !$0.reactedMids.isEmpty)
        }
        // Only new messages and changed counters show the conversation; a run of receipts
        // alone (ticks) needs no read of it.
        let conversations = try await ConversationRows.load(
            ids: eventful.filter { !$0.newMessages.isEmpty || $0.counters.changed }.map(\.conversationId),
            in: db,
            now: now
        )
        var reacted: [Int64: [SQLRow]] = [:]
        for application in eventful where !application.reactedMids.isEmpty {
            reacted[application.conversationId] = try await InboundApplication.messageRows(
                mids: application.reactedMids.sorted(),
                pageId: application.batch.pageId,
                in: db
            )
        }
        var reactions: [String: [MessageReaction]] = [:]
        for (pageId, group) in Dictionary(grouping: eventful, by: \.batch.pageId) {
            // Status payloads carry no reactions: only new and reacted messages need them.
            let mids = group.flatMap { $0.newMessages + reacted[$0.conversationId, default: []] }.compactMap { $0.string("mid") }
            reactions.merge(try await MessageColumns.reactions(mids: mids, pageId: pageId, in: db)) { _, new in new }
        }
        var entries: [RealtimeLog.Entry] = []
        var counts: [Int64: Int] = [:]
        for application in eventful {
            let before = entries.count
            entries += try Self.entries(
                application,
                conversation: conversations[application.conversationId],
                reacted: reacted[application.conversationId, default: []],
                reactions: reactions
            )
            counts[application.conversationId] = entries.count - before
        }
        var recorded = try await RealtimeLog(db: db, now: now).record(entries)[...]
        return applications.map { application in
            let count = counts[application.conversationId] ?? 0
            var outcome = InboundOutcome(
                conversationId: String(application.conversationId),
                contactId: application.contactId,
                needsProfile: application.needsProfile,
                realtime: Array(recorded.prefix(count)),
                applied: application.applied,
                duplicates: application.duplicates
            )
            recorded = recorded.dropFirst(count)
            outcome.botEvents =
                WebhookProbe.isProbe(psid: application.batch.psid)
                ? []
                : application.botEvents.enumerated().sorted { ($0.element.index, $0.offset) < ($1.element.index, $1.offset) }.map(\.element.event)
            return outcome
        }
    }

    /// One conversation's events: new messages in thread order, then status changes,
    /// reactions, and the conversation's new counts.
    private static func entries(
        _ application: InboundApplication,
        conversation: Conversation?,
        reacted: [SQLRow],
        reactions: [String: [MessageReaction]]
    ) throws -> [RealtimeLog.Entry] {
        let key = String(application.conversationId)
        var entries: [RealtimeLog.Entry] = []
        for row in application.newMessages.sorted(by: MessageColumns.threadOrder) {
            let message = MessageColumns.message(row, reactions: reactions)
            entries.append(try .init("message:new", conversationId: key, MessageNewPayload(message: message, conversation: conversation)))
        }
        // A message whose status moved more than once here (delivered, then read, in one
        // POST) gets one `message:status`, with where it ended up.
        let lastChange = Dictionary(application.statusChanges.enumerated().map { ($1.int("id") ?? -1, $0) }) { _, later in later }
        for (index, row) in application.statusChanges.enumerated() {
            let message = MessageColumns.message(row, reactions: reactions)
            if message.status == .sent, let mid = message.facebookMessageId, let sentAt = message.sentAt {
                entries.append(
                    try .init(
                        "message:sent",
                        conversationId: key,
                        MessageSentPayload(messageId: message.id, facebookMessageId: mid, sentAt: sentAt, conversationId: key)
                    )
                )
            }
            if lastChange[row.int("id") ?? -1] == index {
                entries.append(try .init("message:status", conversationId: key, MessageStatusPayload(message)))
            }
        }
        for row in reacted {
            let message = MessageColumns.message(row, reactions: reactions)
            entries.append(
                try .init(
                    "message:reaction",
                    conversationId: key,
                    MessageReactionPayload(messageId: message.id, conversationId: key, reactions: message.reactions)
                )
            )
        }
        if let conversation, application.counters.changed {
            entries.append(
                try .init(
                    "conversation:updated",
                    conversationId: key,
                    ConversationUpdatedPayload(
                        conversationId: key,
                        lastMessageAt: conversation.lastMessageAt,
                        messageCount: conversation.messageCount
                    )
                )
            )
        }
        if application.wasResolved, application.counters.unread > 0 {
            // A new customer message reopens a resolved conversation.
            entries.append(
                try .init("conversation:status", conversationId: key, ConversationStatusPayload(conversationId: key, status: .open, by: "customer"))
            )
        }
        return entries
    }

    static func key(_ a: String?, _ b: String?) -> String { "\(a ?? "")\u{1F}\(b ?? "")" }

    /// `($1, $2), ($3, $4), …` for `count` pairs.
    static func pairList(_ count: Int) -> String {
        (0..<count).map { "($\(2 * $0 + 1), $\(2 * $0 + 2))" }.joined(separator: ", ")
    }

    static func chunks(_ indices: Range<Int>) -> [ArraySlice<Int>] {
        let all = Array(indices)
        return stride(from: 0, to: all.count, by: rowsPerStatement).map { all[$0..<min($0 + rowsPerStatement, all.count)] }
    }
}
