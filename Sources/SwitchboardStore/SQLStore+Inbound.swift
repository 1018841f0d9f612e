import Foundation
import Messenger
public import SwitchboardCore

extension SQLStore {
    /// Applies one conversation's events in one transaction. Idempotent (invariant 3):
    /// messages and echoes are unique on (page, mid), receipts are monotonic watermarks,
    /// reactions and postbacks have natural keys; applying the same batch again changes
    /// nothing and emits nothing.
    public func applyInbound(_ batch: InboundBatch, completing job: Job? = nil) async throws -> InboundOutcome {
        let now = self.now
        let outcome = try await database.transaction(durability: .relaxed) { [queue] db in
            let outcome = try await Self.apply(batch, now: now, in: db)
            if let job { try await queue.complete(job, in: db) }
            return outcome
        }
        queue.wake()
        return outcome
    }

    /// How many transactions apply a run's conversations side by side: one on SQLite (one
    /// writer: one transaction does it all, in one commit), several on PostgreSQL, where
    /// each waits on round trips rather than on the others.
    var applyLanes: Int { database.dialect == .postgres ? 4 : 1 }

    public func recordWebhookRun(_ webhooks: [SplitWebhook], _ shares: [ConversationShare], inline: Bool) async throws -> [InboundOutcome?] {
        let now = self.now
        guard inline, applyLanes > 1, shares.count > 1 else {
            let outcomes = try await database.transaction(durability: .relaxed) { [queue] db in
                let waiting = inline ? try await Self.partitionsWithApplyJobs(shares.map(\.partition), in: db) : []
                var outcomes: [InboundOutcome?] = []
                for share in shares {
                    if inline, !waiting.contains(share.partition) {
                        outcomes.append(try await Self.apply(share.batch, now: now, in: db))
                    } else {
                        try await queue.enqueue(share.jobs, in: db)
                        outcomes.append(nil)
                    }
                }
                try await Self.recordSplits(webhooks, now: now, queue: queue, in: db)
                return outcomes
            }
            queue.wake()
            return outcomes
        }
        // Lanes: each applies its conversations in its own transaction, then one more
        // records the split. A crash in between runs the split again, which finds what the
        // lanes committed already applied (invariant 3).
        let waiting = try await database.read { db in try await Self.partitionsWithApplyJobs(shares.map(\.partition), in: db) }
        let inlineShares = shares.indices.filter { !waiting.contains(shares[$0].partition) }
        let lanes = (0..<applyLanes).map { lane in stride(from: lane, to: inlineShares.count, by: applyLanes).map { inlineShares[$0] } }
        var outcomes = [InboundOutcome?](repeating: nil, count: shares.count)
        try await withThrowingTaskGroup(of: [(Int, InboundOutcome)].self) { group in
            for lane in lanes where !lane.isEmpty {
                group.addTask {
                    try await self.database.transaction(durability: .relaxed) { db in
                        var applied: [(Int, InboundOutcome)] = []
                        for index in lane { applied.append((index, try await Self.apply(shares[index].batch, now: now, in: db))) }
                        return applied
                    }
                }
            }
            for try await applied in group {
                for (index, outcome) in applied { outcomes[index] = outcome }
            }
        }
        try await database.transaction(durability: .relaxed) { [queue] db in
            for share in shares where waiting.contains(share.partition) {
                try await queue.enqueue(share.jobs, in: db)
            }
            try await Self.recordSplits(webhooks, now: now, queue: queue, in: db)
        }
        queue.wake()
        return outcomes
    }

    /// Applies one conversation's events inside the caller's transaction.
    static func apply(_ batch: InboundBatch, now: Int64, in db: any SQLExecutor) async throws -> InboundOutcome {
        var apply = InboundApplication(db: db, batch: batch, now: now)
        try await apply.prepare()
        for event in batch.events {
            try await apply.apply(event)
        }
        return try await apply.finish()
    }

    /// Which of these partitions still have `inbound.apply` jobs queued.
    static func partitionsWithApplyJobs(_ partitions: [String], in db: any SQLExecutor) async throws -> Set<String> {
        var found: Set<String> = []
        for chunk in stride(from: 0, to: partitions.count, by: 500).map({ Array(partitions[$0..<min($0 + 500, partitions.count)]) }) {
            let placeholders = bindList(chunk.count, from: 2)
            let rows = try await db.query(
                "SELECT DISTINCT partition_key FROM jobs WHERE kind = $1 AND state <> 'dead' AND partition_key IN (\(placeholders))",
                [.text(JobKind.applyInbound.rawValue)] + chunk.map { .text($0) }
            )
            found.formUnion(rows.compactMap { $0.string("partition_key") })
        }
        return found
    }
}

/// The state of one apply transaction.
struct InboundApplication {
    let db: any SQLExecutor
    let batch: InboundBatch
    let now: Int64
    var contactId: Int64 = 0
    /// When Meta last said the contact cannot be reached (nil: reachable).
    var contactUnreachableAt: Int64?
    var conversationId: Int64 = 0
    var needsProfile = false
    var newMessages: [SQLRow] = []
    var statusChanges: [SQLRow] = []
    var reactedMids: Set<String> = []
    var applied: [String: Int] = [:]
    var duplicates = 0
    var counters = Counters()
    var botEvents: [BotEvent] = []

    struct Counters {
        var messages: Int64 = 0
        var unread: Int64 = 0
        var lastInbound: Int64?
        var lastMessage: Int64?
        var preview: String?
        var deliveredWatermark: Int64 = 0
        var readWatermark: Int64 = 0
        var changed = false
    }

    init(db: any SQLExecutor, batch: InboundBatch, now: Int64) {
        self.db = db
        self.batch = batch
        self.now = now
    }

    /// Creates the contact and the conversation if this is the customer's first event.
    /// Upserts on the natural keys make parallel first messages race-safe.
    mutating func prepare() async throws {
        let firstSeen = batch.events.first?.timestamp ?? now
        let contact = try await db.first(
            """
            INSERT INTO contacts (page_id, psid, first_seen_at) VALUES ($1, $2, $3)
            ON CONFLICT (page_id, psid) DO UPDATE SET first_seen_at = MIN(contacts.first_seen_at, excluded.first_seen_at)
            RETURNING id, profile_fetched_at, profile_requested_at, unreachable_at
            """.replacingOccurrences(of: "MIN(", with: db.dialect == .postgres ? "LEAST(" : "MIN("),
            .text(batch.pageId),
            .text(batch.psid),
            .int(firstSeen)
        )
        contactId = contact?.int("id") ?? 0
        contactUnreachableAt = contact?.int("unreachable_at")
        // Fetched once, refreshed lazily: a profile older than a week is asked for again
        // (avatar URLs expire), never more than once an hour per contact.
        if now - (contact?.int("profile_fetched_at") ?? 0) > 7 * 24 * 3_600_000 {
            let requested = contact?.int("profile_requested_at") ?? 0
            if now - requested > 3_600_000 {
                needsProfile = true
                try await db.query("UPDATE contacts SET profile_requested_at = $2 WHERE id = $1", .int(contactId), .int(now))
            }
        }
        let conversation = try await db.first(
            """
            INSERT INTO conversations (page_id, contact_id, last_message_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
            ON CONFLICT (page_id, contact_id) DO UPDATE SET page_id = excluded.page_id RETURNING id
            """,
            .text(batch.pageId),
            .int(contactId),
            .int(firstSeen),
            .int(now)
        )
        conversationId = conversation?.int("id") ?? 0
    }

    mutating func apply(_ event: WebhookEvent) async throws {
        switch event.payload {
        case .message(let message):
            try await insertInbound(
                event,
                mid: message.mid,
                kind: "message",
                text: message.text,
                attachments: message.attachments,
                quickReply: message.quickReplyPayload,
                replyTo: message.replyToMid
            )
        case .postback(let postback):
            let mid = postback.mid ?? Self.postbackKey(event, payload: postback.payload)
            try await insertInbound(
                event,
                mid: mid,
                kind: "postback",
                text: postback.title,
                attachments: [],
                postbackPayload: postback.payload,
                referral: postback.referral.map(UnhandledEvent.referralJSON)
            )
        case .echo(let echo):
            try await applyEcho(event, echo)
        case .delivery(let delivery):
            try await applyWatermark(delivered: delivery.watermark, mids: delivery.mids)
            count("delivery")
        case .read(let read):
            try await applyWatermark(read: read.watermark)
            count("read")
        case .reaction(let reaction):
            let inserted = try await db.query(
                """
                INSERT INTO reactions (page_id, mid, psid, action, reaction, emoji, event_timestamp)
                VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (page_id, mid, psid, event_timestamp, action) DO NOTHING RETURNING id
                """,
                .text(batch.pageId),
                .text(reaction.mid),
                .text(batch.psid),
                .text(reaction.action.rawValue),
                SQLValue(reaction.reaction),
                SQLValue(reaction.emoji),
                .int(event.timestamp)
            )
            if inserted.isEmpty {
                duplicates += 1
            } else {
                reactedMids.insert(reaction.mid)
                count("reaction")
            }
        case .messageEdit(let edit):
            let rows = try await db.query(
                "UPDATE messages SET text = $3 WHERE page_id = $1 AND mid = $2 AND (text IS NULL OR text <> $3) RETURNING \(MessageColumns.list)",
                .text(batch.pageId),
                .text(edit.mid),
                SQLValue(edit.text)
            )
            statusChanges += rows
            count("message_edit")
        default:
            // The splitter keeps these as unhandled events; nothing to apply.
            count("ignored")
        }
    }

    private mutating func count(_ kind: String) { applied[kind, default: 0] += 1 }

    private mutating func insertInbound(
        _ event: WebhookEvent,
        mid: String,
        kind: String,
        text: String?,
        attachments: [WebhookAttachment],
        quickReply: String? = nil,
        replyTo: String? = nil,
        postbackPayload: String? = nil,
        referral: String? = nil
    ) async throws {
        let rows = try await db.query(
            """
            INSERT INTO messages (conversation_id, page_id, direction, author, kind, text, attachments, quick_reply_payload,
                postback_payload, referral, reply_to_mid, mid, status, sent_timestamp, created_at)
            VALUES ($1, $2, 'in', 'customer', $3, $4, $5, $6, $7, $8, $9, $10, 'received', $11, $12)
            ON CONFLICT (page_id, mid) DO NOTHING RETURNING \(MessageColumns.list)
            """,
            .int(conversationId),
            .text(batch.pageId),
            .text(kind),
            SQLValue(text),
            SQLValue(MessageColumns.attachmentsJSON(attachments)),
            SQLValue(quickReply),
            SQLValue(postbackPayload),
            SQLValue(referral),
            SQLValue(replyTo),
            .text(mid),
            .int(event.timestamp),
            .int(now)
        )
        guard let row = rows.first else {
            duplicates += 1
            return
        }
        newMessages.append(row)
        counters.messages += 1
        counters.unread += 1
        counters.lastInbound = max(counters.lastInbound ?? 0, event.timestamp)
        noteLast(event.timestamp, preview: text ?? attachments.first.map { "[\($0.type)]" })
        count(kind)
        botEvents.append(.customerMessage(text: text, at: Date(millisecondsSince1970: event.timestamp)))
    }

    private mutating func noteLast(_ timestamp: Int64, preview: String?) {
        counters.changed = true
        if timestamp >= (counters.lastMessage ?? 0) {
            counters.lastMessage = timestamp
            counters.preview = preview.map { String($0.prefix(140)) }
        }
    }

    private mutating func applyEcho(_ event: WebhookEvent, _ echo: Echo) async throws {
        let ours = echo.appId != nil && echo.appId == batch.ourAppId
        // Our own send: the echo carries our message id in metadata; attach the mid to
        // that row (the Send API response may not have been stored yet).
        if ours, let metadata = echo.metadata, let ownId = Int64(metadata) {
            let rows = try await db.query(
                """
                UPDATE messages SET mid = COALESCE(mid, $3),
                    status = CASE WHEN status IN ('queued', 'failed') THEN 'sent' ELSE status END,
                    sent_timestamp = CASE WHEN status IN ('queued', 'failed') THEN $4 ELSE sent_timestamp END,
                    sent_at = COALESCE(sent_at, $4), error_code = NULL, error_subcode = NULL, error_message = NULL,
                    send_started_at = NULL
                WHERE id = $1 AND conversation_id = $2 AND (mid IS NULL OR status IN ('queued', 'failed'))
                RETURNING \(MessageColumns.list)
                """,
                .int(ownId),
                .int(conversationId),
                .text(echo.mid),
                .int(event.timestamp)
            )
            if !rows.isEmpty {
                statusChanges += rows
                count("echo")
                // An agent's reply came back: the bot stops (its own echoes are ignored).
                let at = Date(millisecondsSince1970: event.timestamp)
                botEvents += rows.map { $0.string("author") == MessageAuthor.agent.rawValue ? .agentMessage(at: at) : .ownEcho(at: at) }
                // A send waiting for this echo (after a timeout or a crash) need not wait
                // out its bound: its conversation goes on now.
                try await db.query(
                    "UPDATE jobs SET run_at = $2 WHERE partition_key = $1 AND kind = $3 AND state = 'ready' AND run_at > $2",
                    .text(JobKind.sendPartition(conversationId: String(conversationId))),
                    .int(now),
                    .text(JobKind.sendMessage.rawValue)
                )
                return
            }
            if try await db.first("SELECT id FROM messages WHERE id = $1 AND conversation_id = $2", .int(ownId), .int(conversationId)) != nil {
                duplicates += 1
                return
            }
        }
        let rows = try await db.query(
            """
            INSERT INTO messages (conversation_id, page_id, direction, author, author_id, kind, text, attachments, mid, status,
                sent_timestamp, created_at, sent_at)
            VALUES ($1, $2, 'out', $3, $4, 'message', $5, $6, $7, 'sent', $8, $9, $8)
            ON CONFLICT (page_id, mid) DO NOTHING RETURNING \(MessageColumns.list)
            """,
            .int(conversationId),
            .text(batch.pageId),
            .text(ours ? MessageAuthor.agent.rawValue : MessageAuthor.otherApp.rawValue),
            SQLValue(echo.appId),
            SQLValue(echo.text),
            SQLValue(MessageColumns.attachmentsJSON(echo.attachments)),
            .text(echo.mid),
            .int(event.timestamp),
            .int(now)
        )
        guard let row = rows.first else {
            duplicates += 1
            return
        }
        newMessages.append(row)
        counters.messages += 1
        noteLast(event.timestamp, preview: echo.text ?? echo.attachments.first.map { "[\($0.type)]" })
        count(ours ? "echo" : "echo_other_app")
        let at = Date(millisecondsSince1970: event.timestamp)
        botEvents.append(ours ? .ownEcho(at: at) : .otherAppEcho(at: at))
    }

    /// Moves outbound statuses forward to `delivered`/`read` up to a watermark, and the
    /// listed mids; never backwards (invariant 3).
    private mutating func applyWatermark(delivered: Int64? = nil, read: Int64? = nil, mids: [String] = []) async throws {
        if let delivered {
            counters.deliveredWatermark = max(counters.deliveredWatermark, delivered)
            statusChanges += try await db.query(
                """
                UPDATE messages SET status = 'delivered', delivered_at = $3
                WHERE conversation_id = $1 AND direction = 'out' AND status IN ('queued', 'sent') AND mid IS NOT NULL
                  AND sent_timestamp <= $2
                RETURNING \(MessageColumns.list)
                """,
                .int(conversationId),
                .int(delivered),
                .int(now)
            )
            for mid in mids {
                statusChanges += try await db.query(
                    """
                    UPDATE messages SET status = 'delivered', delivered_at = $3
                    WHERE conversation_id = $1 AND mid = $2 AND direction = 'out' AND status IN ('queued', 'sent')
                    RETURNING \(MessageColumns.list)
                    """,
                    .int(conversationId),
                    .text(mid),
                    .int(now)
                )
            }
        }
        if let read {
            counters.readWatermark = max(counters.readWatermark, read)
            statusChanges += try await db.query(
                """
                UPDATE messages SET status = 'read', read_at = $3, delivered_at = COALESCE(delivered_at, $3)
                WHERE conversation_id = $1 AND direction = 'out' AND status IN ('queued', 'sent', 'delivered') AND mid IS NOT NULL
                  AND sent_timestamp <= $2
                RETURNING \(MessageColumns.list)
                """,
                .int(conversationId),
                .int(read),
                .int(now)
            )
        }
    }

    /// The rows of these messages (by mid), in the order given.
    static func messageRows(mids: [String], pageId: String, in db: any SQLExecutor) async throws -> [SQLRow] {
        guard !mids.isEmpty else { return [] }
        let placeholders = bindList(mids.count, from: 2)
        let rows = try await db.query(
            "SELECT \(MessageColumns.list) FROM messages WHERE page_id = $1 AND mid IN (\(placeholders))",
            [.text(pageId)] + mids.map { .text($0) }
        )
        let byMid = Dictionary(rows.compactMap { row in row.string("mid").map { ($0, row) } }) { first, _ in first }
        return mids.compactMap { byMid[$0] }
    }

    /// A postback without `mid` (older API versions) is keyed by who, when and what.
    static func postbackKey(_ event: WebhookEvent, payload: String?) -> String {
        "postback:\(event.customerId):\(event.timestamp):\(payload ?? "")"
    }

    /// Writes the counters and records the realtime events of this batch.
    mutating func finish() async throws -> InboundOutcome {
        if counters.changed || counters.deliveredWatermark > 0 || counters.readWatermark > 0 {
            try await db.query(
                """
                UPDATE conversations SET
                    message_count = message_count + $2,
                    unread_count = unread_count + $3,
                    last_inbound_at = CASE WHEN $4 > COALESCE(last_inbound_at, 0) THEN $4 ELSE last_inbound_at END,
                    last_message_preview = CASE WHEN $5 >= COALESCE(last_message_at, 0) AND $8 = 1 THEN $6 ELSE last_message_preview END,
                    last_message_at = CASE WHEN $5 > COALESCE(last_message_at, 0) THEN $5 ELSE last_message_at END,
                    delivered_watermark = CASE WHEN $7 > delivered_watermark THEN $7 ELSE delivered_watermark END,
                    read_watermark = CASE WHEN $9 > read_watermark THEN $9 ELSE read_watermark END,
                    updated_at = $10
                WHERE id = $1
                """,
                .int(conversationId),
                .int(counters.messages),
                .int(counters.unread),
                .int(counters.lastInbound ?? 0),
                .int(counters.lastMessage ?? 0),
                SQLValue(counters.preview),
                .int(counters.deliveredWatermark),
                .int(counters.changed ? 1 : 0),
                .int(counters.readWatermark),
                .int(now)
            )
        }
        if let lastInbound = counters.lastInbound, let unreachable = contactUnreachableAt, unreachable < lastInbound {
            // The customer wrote after Meta said they could not receive messages: they can
            // again. Only a newer message clears the mark, so replaying old webhooks changes
            // nothing (invariant 3).
            try await db.query(
                "UPDATE contacts SET unreachable_at = NULL WHERE id = $1 AND unreachable_at IS NOT NULL AND unreachable_at < $2",
                .int(contactId),
                .int(lastInbound)
            )
        }
        var realtime: [RealtimeEvent] = []
        let conversationKey = String(conversationId)
        if !newMessages.isEmpty || !statusChanges.isEmpty || !reactedMids.isEmpty {
            let conversation = try await ConversationRows.load(id: conversationId, in: db, now: now)
            let reacted = try await Self.messageRows(mids: reactedMids.sorted(), pageId: batch.pageId, in: db)
            let added = newMessages.sorted(by: MessageColumns.threadOrder)
            let reactions = try await MessageColumns.reactions(
                mids: (added + statusChanges + reacted).compactMap { $0.string("mid") },
                pageId: batch.pageId,
                in: db
            )
            var entries: [RealtimeLog.Entry] = []
            for row in added {
                let message = MessageColumns.message(row, reactions: reactions)
                entries.append(
                    try .init("message:new", conversationId: conversationKey, MessageNewPayload(message: message, conversation: conversation))
                )
            }
            for row in statusChanges {
                let message = MessageColumns.message(row, reactions: reactions)
                if message.status == .sent, let mid = message.facebookMessageId, let sentAt = message.sentAt {
                    entries.append(
                        try .init(
                            "message:sent",
                            conversationId: conversationKey,
                            MessageSentPayload(messageId: message.id, facebookMessageId: mid, sentAt: sentAt, conversationId: conversationKey)
                        )
                    )
                }
                entries.append(try .init("message:status", conversationId: conversationKey, MessageStatusPayload(message)))
            }
            for row in reacted {
                let message = MessageColumns.message(row, reactions: reactions)
                entries.append(
                    try .init(
                        "message:reaction",
                        conversationId: conversationKey,
                        MessageReactionPayload(messageId: message.id, conversationId: conversationKey, reactions: message.reactions)
                    )
                )
            }
            if let conversation, counters.changed {
                entries.append(
                    try .init(
                        "conversation:updated",
                        conversationId: conversationKey,
                        ConversationUpdatedPayload(
                            conversationId: conversationKey,
                            lastMessageAt: conversation.lastMessageAt,
                            messageCount: conversation.messageCount
                        )
                    )
                )
            }
            realtime = try await RealtimeLog(db: db, now: now).record(entries)
        }
        var outcome = InboundOutcome(
            conversationId: conversationKey,
            contactId: contactId,
            needsProfile: needsProfile,
            realtime: realtime,
            applied: applied,
            duplicates: duplicates
        )
        outcome.botEvents = botEvents
        return outcome
    }
}
