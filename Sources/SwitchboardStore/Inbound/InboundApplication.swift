import Foundation
import Messenger
import SwitchboardCore

/// One conversation's share of an apply: its ids, what changed, and the per-event
/// writes. ``InboundRun`` does the set-based parts for many conversations at once
/// (contacts, conversations, customer messages, counters, realtime events); the events
/// whose order matters (echoes, receipts, reactions, edits) go through
/// ``applyOtherEvents()`` here.
struct InboundApplication {
    let db: any SQLExecutor
    let batch: InboundBatch
    let now: Int64
    var contactId: Int64 = 0
    /// When Meta last said the contact cannot be reached (nil: reachable).
    var contactUnreachableAt: Int64?
    var conversationId: Int64 = 0
    /// The conversation was resolved before this batch: a new customer message reopens it.
    var wasResolved = false
    var needsProfile = false
    var newMessages: [SQLRow] = []
    var statusChanges: [SQLRow] = []
    var reactedMids: Set<String> = []
    var applied: [String: Int] = [:]
    var duplicates = 0
    var counters = Counters()
    /// What the bot must know, keyed by the event's place in the batch so the set-based
    /// and per-event parts give them in the batch's (timestamp) order.
    var botEvents: [(index: Int, event: BotEvent)] = []

    struct Counters {
        var messages: Int64 = 0
        var unread: Int64 = 0
        var lastInbound: Int64?
        var lastMessage: Int64?
        var preview: String?
        var deliveredWatermark: Int64 = 0
        var readWatermark: Int64 = 0
        var changed = false

        /// Anything for the conversation row to take.
        var any: Bool { changed || deliveredWatermark > 0 || readWatermark > 0 }
    }

    /// A customer's message or postback, as a row to insert.
    struct CustomerMessage {
        var index: Int
        var timestamp: Int64
        var mid: String
        var kind: String
        var text: String?
        var attachments: [WebhookAttachment]
        var quickReply: String?
        var postbackPayload: String?
        var referral: String?
        var replyTo: String?
    }

    init(db: any SQLExecutor, batch: InboundBatch, now: Int64) {
        self.db = db
        self.batch = batch
        self.now = now
    }

    /// The customer's messages and postbacks of the batch, in order: inserted together
    /// with every other conversation's by ``InboundRun``.
    var customerMessages: [CustomerMessage] {
        batch.events.enumerated().compactMap { index, event in
            switch event.payload {
            case .message(let message):
                CustomerMessage(
                    index: index,
                    timestamp: event.timestamp,
                    mid: message.mid,
                    kind: "message",
                    text: message.text,
                    attachments: message.attachments,
                    quickReply: message.quickReplyPayload,
                    replyTo: message.replyToMid
                )
            case .postback(let postback):
                CustomerMessage(
                    index: index,
                    timestamp: event.timestamp,
                    mid: postback.mid ?? Self.postbackKey(event, payload: postback.payload),
                    kind: "postback",
                    text: postback.title,
                    attachments: [],
                    postbackPayload: postback.payload,
                    referral: postback.referral.map(UnhandledEvent.referralJSON)
                )
            default: nil
            }
        }
    }

    /// Takes a customer message's stored row (nil: it was stored before, a duplicate).
    mutating func noteInserted(_ message: CustomerMessage, row: SQLRow?) {
        guard let row else {
            duplicates += 1
            return
        }
        newMessages.append(row)
        counters.messages += 1
        counters.unread += 1
        counters.lastInbound = max(counters.lastInbound ?? 0, message.timestamp)
        noteLast(message.timestamp, preview: message.text ?? message.attachments.first.map { "[\($0.type)]" })
        count(message.kind)
        botEvents.append((message.index, .customerMessage(text: message.text, at: Date(millisecondsSince1970: message.timestamp))))
    }

    /// Applies the batch's events other than customer messages, in order.
    mutating func applyOtherEvents() async throws {
        for (index, event) in batch.events.enumerated() {
            try await apply(event, at: index)
        }
    }

    private mutating func apply(_ event: WebhookEvent, at index: Int) async throws {
        switch event.payload {
        case .message, .postback:
            return  // inserted with the run's other customer messages
        case .echo(let echo):
            try await applyEcho(event, echo, at: index)
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

    private mutating func noteLast(_ timestamp: Int64, preview: String?) {
        counters.changed = true
        if timestamp >= (counters.lastMessage ?? 0) {
            counters.lastMessage = timestamp
            counters.preview = preview.map { String($0.prefix(140)) }
        }
    }

    private mutating func applyEcho(_ event: WebhookEvent, _ echo: Echo, at index: Int) async throws {
        let ours = echo.appId != nil && echo.appId == batch.ourAppId
        // Our own send: the echo carries our message id in metadata; attach the mid to
        // that row (the Send API response may not have been stored yet).
        if ours, let metadata = echo.metadata, let ownId = Int64(metadata) {
            // Usually the Send API's answer came first and the row has its mid: the echo
            // only dates it. Meta's watermarks count in Meta's time, so the echo's date
            // replaces ours (when it is the same mid); else a clock ahead of Meta's left the
            // last message unread for good. Checked first, as the common case: one statement.
            if try await db.first(
                """
                UPDATE messages SET sent_timestamp = CASE WHEN mid = $3 THEN $4 ELSE sent_timestamp END
                WHERE id = $1 AND conversation_id = $2 AND mid IS NOT NULL AND status NOT IN ('queued', 'failed') RETURNING id
                """,
                .int(ownId),
                .int(conversationId),
                .text(echo.mid),
                .int(event.timestamp)
            ) != nil {
                duplicates += 1
                return
            }
            // The echo came first: attach the mid to our row.
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
                botEvents += rows.map { (index, $0.string("author") == MessageAuthor.agent.rawValue ? .agentMessage(at: at) : .ownEcho(at: at)) }
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
        // Our app sent a message we have no row for (lost with a crash of the machine, or
        // sent by another install of the app): stored as a person's, and the bot steps back
        // as for one rather than answer what it cannot see (a lost bot reply would be
        // answered twice).
        botEvents.append((index, ours ? .agentMessage(at: at) : .otherAppEcho(at: at)))
    }

    /// Moves outbound statuses forward to `delivered`/`read` up to a watermark, and the
    /// listed mids; never backwards (invariant 3).
    private mutating func applyWatermark(delivered: Int64? = nil, read: Int64? = nil, mids: [String] = []) async throws {
        if let delivered {
            counters.deliveredWatermark = max(counters.deliveredWatermark, delivered)
            // The watermark and the listed mids in one statement.
            let listed = mids.isEmpty ? "" : " OR mid IN (\(bindList(mids.count, from: 4)))"
            statusChanges += try await db.query(
                """
                UPDATE messages SET status = 'delivered', delivered_at = $3
                WHERE conversation_id = $1 AND direction = 'out' AND status IN ('queued', 'sent')
                  AND ((mid IS NOT NULL AND sent_timestamp <= $2)\(listed))
                RETURNING \(MessageColumns.list)
                """,
                [.int(conversationId), .int(delivered), .int(now)] + mids.map { .text($0) }
            )
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
}
