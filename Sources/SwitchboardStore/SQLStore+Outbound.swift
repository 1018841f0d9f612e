import Foundation
public import SwitchboardCore

extension SQLStore: OutboundStore {
    /// The message already written with `clientId` in the conversation, if any.
    public func outboundMessage(conversationId: String, clientId: String) async throws -> Message? {
        guard let conversation = Int64(conversationId) else { return nil }
        return try await database.read { db in
            guard
                let row = try await db.first(
                    "SELECT \(MessageColumns.list), page_id FROM messages WHERE conversation_id = $1 AND client_id = $2",
                    .int(conversation),
                    .text(clientId)
                )
            else { return nil }
            return try await MessageColumns.message(row, in: db, pageId: row.string("page_id") ?? "")
        }
    }

    /// Stores the draft as `queued` with its `message.send` job in one transaction (the row
    /// and the job that sends it are never apart). A repeated `clientId` returns the first
    /// message and queues nothing; a new message is first shown to `admit`, whose throw
    /// undoes it.
    public func enqueueOutbound(
        _ draft: OutboundDraft,
        admit: @escaping @Sendable (Conversation) throws -> Void
    ) async throws -> (message: Message, created: Bool, events: [RealtimeEvent]) {
        let now = self.now
        let result = try await database.transaction { [queue] db in
            try await Self.insertOutbound(draft, in: db, now: now, queue: queue, admit: admit)
        }
        if result.created { queue.wake() }
        return result
    }

    /// `enqueueOutbound` inside the caller's transaction (the bot queues its replies and
    /// notices together with its state); call `queue.wake()` after the commit.
    /// `durableMark` as in ``enqueueSend(of:conversationId:now:queue:durableMark:in:)``.
    /// `admit` sees the conversation as the new message leaves it (the read its realtime
    /// events need anyway), so a check of it costs no statement of its own.
    static func insertOutbound(
        _ draft: OutboundDraft,
        in db: any SQLExecutor,
        now: Int64,
        queue: EmbeddedJobQueue,
        durableMark: Bool = true,
        admit: @Sendable (Conversation) throws -> Void = { _ in }
    ) async throws -> (message: Message, created: Bool, events: [RealtimeEvent]) {
        guard let conversationId = Int64(draft.conversationId) else {
            throw SwitchboardError(.conversationNotFound, "No conversation has the id \(draft.conversationId).")
        }
        let attachments = draft.attachment.map { [Attachment(type: $0.type, url: $0.url)] } ?? []
        let attachmentsJSON = attachments.isEmpty ? nil : try JSONText.encode(attachments)
        let quickRepliesJSON = draft.quickReplies.isEmpty ? nil : try JSONText.encode(draft.quickReplies)
        // The conversation's Page comes with the insert: one statement, and no row when
        // the conversation is unknown.
        let inserted = try await db.query(
            """
            INSERT INTO messages (conversation_id, page_id, direction, author, author_id, kind, text, attachments, quick_replies,
                client_id, status, sent_timestamp, created_at)
            SELECT c.id, c.page_id, 'out', $2, $3, 'message', $4, $5, $6, $7, 'queued', $8, $8 FROM conversations c WHERE c.id = $1
            ON CONFLICT (conversation_id, client_id) DO NOTHING RETURNING \(MessageColumns.list)
            """,
            .int(conversationId),
            .text(draft.author.rawValue),
            SQLValue(draft.authorId),
            SQLValue(draft.text),
            SQLValue(attachmentsJSON),
            SQLValue(quickRepliesJSON),
            .text(draft.clientId),
            .int(now)
        )
        guard let row = inserted.first else {
            guard
                let existing = try await db.first(
                    "SELECT \(MessageColumns.list), page_id FROM messages WHERE conversation_id = $1 AND client_id = $2",
                    .int(conversationId),
                    .text(draft.clientId)
                )
            else { throw SwitchboardError(.conversationNotFound, "No conversation has the id \(draft.conversationId).") }
            return (try await MessageColumns.message(existing, in: db, pageId: existing.string("page_id") ?? ""), false, [])
        }
        let message = MessageColumns.message(row, reactions: [:])
        try await enqueueSend(
            of: message,
            conversationId: draft.conversationId,
            now: now,
            queue: queue,
            durableMark: durableMark,
            in: db
        )
        let preview = draft.text ?? attachments.first.map { "[\($0.type)]" }
        try await db.query(
            """
            UPDATE conversations SET message_count = message_count + 1,
                last_message_preview = CASE WHEN $2 >= COALESCE(last_message_at, 0) THEN $3 ELSE last_message_preview END,
                last_message_at = CASE WHEN $2 > COALESCE(last_message_at, 0) THEN $2 ELSE last_message_at END,
                updated_at = $2
            WHERE id = $1
            """,
            .int(conversationId),
            .int(now),
            SQLValue(preview.map { String($0.prefix(140)) })
        )
        let loaded = try await ConversationRows.load(id: conversationId, in: db, now: now)
        if let loaded { try admit(loaded) }
        var entries = [
            try RealtimeLog.Entry("message:new", conversationId: draft.conversationId, MessageNewPayload(message: message, conversation: loaded))
        ]
        if let loaded {
            entries.append(
                try RealtimeLog.Entry(
                    "conversation:updated",
                    conversationId: draft.conversationId,
                    ConversationUpdatedPayload(conversationId: loaded.id, lastMessageAt: loaded.lastMessageAt, messageCount: loaded.messageCount)
                )
            )
        }
        return (message, true, try await RealtimeLog(db: db, now: now).record(entries))
    }

    /// Enqueues the `message.send` job of a queued message, at the end of its
    /// conversation's send partition. When the queue hands the job straight to a local
    /// sender (its first delivery, `Job.handedOff`), the send's "send started" mark is
    /// written here, and the transaction made durable: the mark is on disk with the message
    /// before the sender gets the job, so the sender needs no write of its own (and no
    /// `fsync`) before it calls Meta. `durableMark` false leaves a relaxed transaction
    /// relaxed, for a bot reply whose answer job's start is on disk (`BotReply.startDurable`).
    static func enqueueSend(
        of message: Message,
        conversationId: String,
        now: Int64,
        queue: EmbeddedJobQueue,
        durableMark: Bool,
        in db: any SQLExecutor
    ) async throws {
        let handedOff = try await queue.enqueue(
            [
                NewJob(
                    kind: .sendMessage,
                    partition: JobKind.sendPartition(conversationId: conversationId),
                    payload: Array(message.id.utf8),
                    maxAttempts: 1_000_000
                )
            ],
            in: db
        )
        guard !handedOff.isEmpty, let id = Int64(message.id) else { return }
        try await db.query("UPDATE messages SET send_started_at = $2 WHERE id = $1", .int(id), .int(now))
        if durableMark { TransactionEnd.current?.requireDurability() }
    }

    /// Queues a failed outbound message again as a new attempt: the same row (so the thread
    /// keeps one message) back to `queued` with its error cleared and a new `message.send`
    /// job at the end of its conversation's send partition, in one transaction, audited with
    /// the error it had. A message that is already queued again is returned as it is, so a
    /// repeated retry never sends twice.
    public func retryOutbound(conversationId: String, messageId: String, actor: String) async throws -> OutboundRetry {
        guard let conversation = Int64(conversationId), let id = Int64(messageId) else {
            throw SwitchboardError(.notFound, "No message \(messageId) in conversation \(conversationId).")
        }
        let now = self.now
        let retry = try await database.transaction { [queue] db -> OutboundRetry in
            guard
                let row = try await db.first(
                    "SELECT \(MessageColumns.list), page_id FROM messages WHERE id = $1 AND conversation_id = $2",
                    .int(id),
                    .int(conversation)
                )
            else { throw SwitchboardError(.notFound, "No message \(messageId) in conversation \(conversationId).") }
            let current = try await MessageColumns.message(row, in: db, pageId: row.string("page_id") ?? "")
            guard current.direction == .outbound, current.status == .failed else {
                return current.status == .queued ? .alreadyQueued(current) : .notFailed(current)
            }
            let rows = try await db.query(
                """
                UPDATE messages SET status = 'queued', error_code = NULL, error_subcode = NULL, error_message = NULL,
                    error_kind = NULL, fbtrace_id = NULL, failed_at = NULL, send_started_at = NULL, sent_timestamp = $2
                WHERE id = $1 AND status = 'failed'
                RETURNING \(MessageColumns.list)
                """,
                .int(id),
                .int(now)
            )
            guard let updated = rows.first else { return .alreadyQueued(current) }
            let message = MessageColumns.message(updated, reactions: [:])
            try await Self.enqueueSend(of: message, conversationId: conversationId, now: now, queue: queue, durableMark: true, in: db)
            let previous = [current.error?.kind, current.error?.message].compactMap { $0 }.joined(separator: ": ")
            try await Self.audit(
                in: db,
                at: now,
                actor: actor,
                action: "message.retried",
                subject: "message:\(messageId)",
                detail: previous.isEmpty ? nil : previous
            )
            let event = try await RealtimeLog(db: db, now: now).record(
                "message:status",
                conversationId: conversationId,
                MessageStatusPayload(message)
            )
            return .requeued(message, events: [event])
        }
        if case .requeued = retry { queue.wake() }
        return retry
    }

    /// The message, its conversation's Page, customer and last inbound time, and the Page:
    /// one statement, as the sender reads it before every send.
    public func outboundSendContext(messageId: String) async throws -> OutboundSendContext? {
        guard let id = Int64(messageId) else { return nil }
        guard
            let row = try await database.read({ db in
                try await db.first(Self.sendContextQuery, .int(id))
            })
        else { return nil }
        return OutboundSendContext(
            message: MessageColumns.message(row, reactions: [:]),
            pageId: row.string("page_id") ?? "",
            psid: row.string("psid") ?? "",
            quickReplies: JSONText.decode([QuickReplyDraft].self, row.string("quick_replies")) ?? [],
            lastInboundAt: row.int("last_inbound_at"),
            page: row.string("page_row_id") == nil ? nil : Self.pageRecord(row, prefix: "page_row_"),
            sendStartedAt: row.int("send_started_at"),
            contactUnreachableAt: row.int("unreachable_at")
        )
    }

    private static let sendContextQuery = """
        SELECT \(MessageColumns.list(qualifiedBy: "m")), m.send_started_at, c.page_id, c.last_inbound_at, ct.psid, ct.unreachable_at,
            \(pageColumns("p", prefix: "page_row_"))
        FROM messages m
        JOIN conversations c ON c.id = m.conversation_id
        JOIN contacts ct ON ct.id = c.contact_id
        LEFT JOIN pages p ON p.id = c.page_id
        WHERE m.id = $1 AND m.direction = 'out'
        """

    /// Stores the Send API's answer: the `mid`, `sent`, `sent_at` and `sent_timestamp`. If the
    /// echo got there first (same mid), nothing changes and nothing is published twice. An
    /// echo that became its own row (it carried no usable metadata) is merged into ours:
    /// one message never becomes two rows.
    public func markOutboundSent(messageId: String, mid: String, requestedAt: Int64, completing job: Job?) async throws -> [RealtimeEvent] {
        guard let id = Int64(messageId) else { return [] }
        let events: [RealtimeEvent]
        do {
            events = try await recordSent(id: id, mid: mid, requestedAt: requestedAt, completing: job, mergingEcho: false)
        } catch let failure as SQLFailure where failure.kind == .uniqueViolation {
            // The mid is taken by such an echo's row (rare, so only then looked for).
            events = try await recordSent(id: id, mid: mid, requestedAt: requestedAt, completing: job, mergingEcho: true)
        }
        queue.wake()
        return events
    }

    private func recordSent(id: Int64, mid: String, requestedAt: Int64, completing job: Job?, mergingEcho: Bool) async throws -> [RealtimeEvent] {
        let now = self.now
        return try await database.transaction { [queue] db -> [RealtimeEvent] in
            if mergingEcho {
                try await db.query(
                    """
                    DELETE FROM messages WHERE page_id = (SELECT m.page_id FROM messages m WHERE m.id = $2) AND mid = $1 AND id <> $2
                      AND direction = 'out'
                    """,
                    .text(mid),
                    .int(id)
                )
            }
            let rows = try await db.query(
                """
                UPDATE messages SET mid = COALESCE(mid, $2),
                    status = CASE WHEN status IN ('queued', 'failed') THEN 'sent' ELSE status END,
                    sent_timestamp = CASE WHEN status IN ('queued', 'failed') THEN $4 ELSE sent_timestamp END,
                    sent_at = COALESCE(sent_at, $3), error_code = NULL, error_subcode = NULL, error_message = NULL,
                    error_kind = NULL, fbtrace_id = NULL, failed_at = NULL, send_started_at = NULL
                WHERE id = $1 AND (mid IS NULL OR status IN ('queued', 'failed'))
                RETURNING \(MessageColumns.list)
                """,
                .int(id),
                .text(mid),
                .int(now),
                .int(min(requestedAt, now))
            )
            var entries: [RealtimeLog.Entry] = []
            if let row = rows.first {
                let message = MessageColumns.message(row, reactions: [:])
                if message.status == .sent, let mid = message.facebookMessageId, let sentAt = message.sentAt {
                    entries.append(
                        try RealtimeLog.Entry(
                            "message:sent",
                            conversationId: message.conversationId,
                            MessageSentPayload(messageId: message.id, facebookMessageId: mid, sentAt: sentAt, conversationId: message.conversationId)
                        )
                    )
                }
                entries.append(try RealtimeLog.Entry("message:status", conversationId: message.conversationId, MessageStatusPayload(message)))
            }
            if let job { try await queue.complete(job, in: db) }
            return try await RealtimeLog(db: db, now: now).record(entries)
        }
    }

    /// Fails a queued message with Meta's code, subcode and trace id, our stable code and a
    /// sentence for people; optionally marks its contact unreachable (551, 1545041).
    public func markOutboundFailed(
        messageId: String,
        error: MessageError,
        contactUnreachable: Bool,
        completing job: Job?
    ) async throws
        -> [RealtimeEvent]
    {
        guard let id = Int64(messageId) else { return [] }
        let now = self.now
        let events = try await database.transaction { [queue] db -> [RealtimeEvent] in
            let rows = try await db.query(
                """
                UPDATE messages SET status = 'failed', error_code = $2, error_subcode = $3, error_message = $4, fbtrace_id = $5,
                    error_kind = $6, failed_at = $7, send_started_at = NULL
                WHERE id = $1 AND status = 'queued'
                RETURNING \(MessageColumns.list)
                """,
                .int(id),
                SQLValue(error.code.map { Int64($0) }),
                SQLValue(error.subcode.map { Int64($0) }),
                .text(error.message),
                SQLValue(error.fbtraceId),
                SQLValue(error.kind),
                .int(now)
            )
            var events: [RealtimeEvent] = []
            if let row = rows.first {
                let message = MessageColumns.message(row, reactions: [:])
                if contactUnreachable {
                    try await db.query(
                        "UPDATE contacts SET unreachable_at = $2 WHERE id = (SELECT contact_id FROM conversations WHERE id = $1)",
                        .int(Int64(message.conversationId) ?? 0),
                        .int(now)
                    )
                }
                let log = RealtimeLog(db: db, now: now)
                events.append(try await log.record("message:status", conversationId: message.conversationId, MessageStatusPayload(message)))
            }
            if let job { try await queue.complete(job, in: db) }
            return events
        }
        queue.wake()
        return events
    }

    /// Records that a Send API call for the queued message starts now.
    public func beginSendAttempt(messageId: String) async throws {
        try await setSendStarted(messageId: messageId, to: now)
    }

    /// The attempt's outcome is known: no echo wait is owed to it.
    public func endSendAttempt(messageId: String) async throws {
        try await setSendStarted(messageId: messageId, to: nil)
    }

    private func setSendStarted(messageId: String, to value: Int64?) async throws {
        guard let id = Int64(messageId) else { return }
        try await database.execute(
            "UPDATE messages SET send_started_at = $2 WHERE id = $1 AND direction = 'out' AND status = 'queued'",
            [.int(id), SQLValue(value)]
        )
    }

    /// Marks the Page "reauthorization required" (error 190).
    public func markPageReauthorizationRequired(pageId: String, reason: String) async throws {
        let now = self.now
        try await database.transaction { db in
            try await db.query(
                "UPDATE pages SET state = 'reauthorization_required', state_reason = $2, updated_at = $3 WHERE id = $1",
                .text(pageId),
                .text(reason),
                .int(now)
            )
        }
    }

    /// Makes the Page's waiting sends runnable now (after a new token was saved).
    public func resumeSends(pageId: String) async throws {
        let now = self.now
        try await database.transaction { [queue] db in
            queue.touch([.sendMessage])
            try await db.query(
                """
                UPDATE jobs SET run_at = $2 WHERE kind = $3 AND state = 'ready' AND run_at > $2
                  AND partition_key IN (SELECT 'send:' || CAST(id AS TEXT) FROM conversations WHERE page_id = $1)
                """,
                .text(pageId),
                .int(now),
                .text(JobKind.sendMessage.rawValue)
            )
        }
        queue.wake()
    }
}
