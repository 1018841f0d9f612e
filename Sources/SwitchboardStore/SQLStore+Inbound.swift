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
            var apply = InboundApplication(db: db, batch: batch, now: now)
            try await apply.prepare()
            for event in batch.events {
                try await apply.apply(event)
            }
            let outcome = try await apply.finish()
            if let job { try await queue.complete(job, in: db) }
            return outcome
        }
        queue.wake()
        return outcome
    }
}

/// The state of one apply transaction.
struct InboundApplication {
    let db: any SQLExecutor
    let batch: InboundBatch
    let now: Int64
    var contactId: Int64 = 0
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
            RETURNING id, profile_fetched_at, profile_requested_at
            """.replacingOccurrences(of: "MIN(", with: db.dialect == .postgres ? "LEAST(" : "MIN("),
            .text(batch.pageId),
            .text(batch.psid),
            .int(firstSeen)
        )
        contactId = contact?.int("id") ?? 0
        // Fetched once, refreshed lazily: a profile older than a week is asked for again
        // (avatar URLs expire), never more than once an hour per contact.
        if !WebhookProbe.isProbe(psid: batch.psid), now - (contact?.int("profile_fetched_at") ?? 0) > 7 * 24 * 3_600_000 {
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
        if let lastInbound = counters.lastInbound {
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
        let probe = WebhookProbe.isProbe(psid: batch.psid)
        if !probe, !newMessages.isEmpty || !statusChanges.isEmpty || !reactedMids.isEmpty {
            let log = RealtimeLog(db: db, now: now)
            let conversation = try await ConversationRows.load(id: conversationId, in: db, now: now)
            for row in newMessages.sorted(by: MessageColumns.threadOrder) {
                let message = try await MessageColumns.message(row, in: db, pageId: batch.pageId)
                realtime.append(
                    try await log.record(
                        "message:new",
                        conversationId: conversationKey,
                        MessageNewPayload(message: message, conversation: conversation)
                    )
                )
            }
            for row in statusChanges {
                let message = try await MessageColumns.message(row, in: db, pageId: batch.pageId)
                if message.status == .sent, let mid = message.facebookMessageId, let sentAt = message.sentAt {
                    realtime.append(
                        try await log.record(
                            "message:sent",
                            conversationId: conversationKey,
                            MessageSentPayload(messageId: message.id, facebookMessageId: mid, sentAt: sentAt, conversationId: conversationKey)
                        )
                    )
                }
                realtime.append(try await log.record("message:status", conversationId: conversationKey, MessageStatusPayload(message)))
            }
            for mid in reactedMids.sorted() {
                if let row = try await db.first(
                    "SELECT \(MessageColumns.list) FROM messages WHERE page_id = $1 AND mid = $2",
                    .text(batch.pageId),
                    .text(mid)
                ) {
                    let message = try await MessageColumns.message(row, in: db, pageId: batch.pageId)
                    realtime.append(
                        try await log.record(
                            "message:reaction",
                            conversationId: conversationKey,
                            MessageReactionPayload(messageId: message.id, conversationId: conversationKey, reactions: message.reactions)
                        )
                    )
                }
            }
            if let conversation, counters.changed {
                realtime.append(
                    try await log.record(
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
        }
        var outcome = InboundOutcome(
            conversationId: conversationKey,
            contactId: contactId,
            needsProfile: needsProfile,
            realtime: realtime,
            applied: applied,
            duplicates: duplicates
        )
        outcome.botEvents = probe ? [] : botEvents
        return outcome
    }
}
