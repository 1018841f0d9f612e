public import Foundation
import Messenger
public import SwitchboardCore

extension SQLStore: BotStore {
    /// The Page's bot settings; nil when none were ever saved (the bot is off).
    public func botSettings(pageId: String) async throws -> BotPageSettings? {
        try await database.read { db in try await Self.botSettings(pageId: pageId, in: db) }
    }

    static func botSettings(pageId: String, in db: any SQLExecutor) async throws -> BotPageSettings? {
        guard let row = try await db.first("SELECT * FROM bot_settings WHERE page_id = $1", .text(pageId)) else { return nil }
        let model = row.string("llm_base_url").map {
            BotModelSettings(baseURL: $0, model: row.string("llm_model") ?? "", sealedAPIKey: row["llm_api_key"].bytes)
        }
        return BotPageSettings(
            enabled: (row.int("enabled") ?? 0) != 0,
            settings: JSONText.decode(BotSettings.self, row.string("settings")) ?? BotSettings(),
            model: model
        )
    }

    /// Replaces the Page's bot settings (the sealed key as given: the API keeps the stored
    /// one when a save carries none).
    public func saveBotSettings(pageId: String, _ settings: BotPageSettings) async throws {
        let json = try JSONText.encode(settings.settings)
        let now = self.now
        try await database.transaction { db in
            try await db.query(
                """
                INSERT INTO bot_settings (page_id, enabled, llm_base_url, llm_model, llm_api_key, system_prompt, knowledge, settings, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (page_id) DO UPDATE SET enabled = excluded.enabled, llm_base_url = excluded.llm_base_url,
                    llm_model = excluded.llm_model, llm_api_key = excluded.llm_api_key, system_prompt = excluded.system_prompt,
                    knowledge = excluded.knowledge, settings = excluded.settings, updated_at = excluded.updated_at
                """,
                .text(pageId),
                .int(settings.enabled ? 1 : 0),
                SQLValue(settings.model?.baseURL),
                SQLValue(settings.model?.model),
                settings.model?.sealedAPIKey.map { .bytes($0) } ?? .null,
                .text(settings.settings.systemPrompt),
                SQLValue(settings.settings.knowledge),
                .text(json),
                .int(now)
            )
        }
    }

    public func botConversation(id: String) async throws -> BotConversationRecord? {
        guard let key = Int64(id) else { return nil }
        return try await database.read { db in
            guard
                let row = try await db.first(
                    """
                    SELECT c.page_id, c.bot_policy, c.bot_version, k.psid FROM conversations c
                    JOIN contacts k ON k.id = c.contact_id WHERE c.id = $1
                    """,
                    .int(key)
                )
            else { return nil }
            return BotConversationRecord(
                conversationId: id,
                pageId: row.string("page_id") ?? "",
                psid: row.string("psid") ?? "",
                state: JSONText.decode(BotConversationState.self, row.string("bot_policy")) ?? BotConversationState(),
                version: row.int("bot_version") ?? 0
            )
        }
    }

    public func feedBot(
        conversationId: String,
        _ events: [BotEvent],
        actor: String,
        answer: BotAnswerRecord? = nil,
        durable: Bool = true
    ) async throws -> BotFeedResult? {
        let key = try Self.conversationKey(conversationId)
        let now = self.now
        if answer == nil {
            // Most feeds of a running conversation (a due answer, an own echo) change
            // nothing: decided from a read, they never wait for the writer.
            let looked = try await database.read { db in try await BotRow.load(key, pageId: nil, locking: false, in: db) }
            guard let looked else { return nil }
            let decided = looked.decide(events, actor: actor, now: now)
            if !decided.plan.needsSave { return decided }
        }
        let result = try await database.transaction(durability: durable ? .durable : .relaxed) { [queue] db in
            guard let locked = try await BotRow.load(key, pageId: nil, in: db) else { return BotFeedResult?.none }
            if let answer { try await Self.recordAnswer(answer, pageId: locked.pageId, conversationId: key, in: db, now: now) }
            return try await locked.feed(events, actor: actor, in: db, now: now, queue: queue)
        }
        if result?.plan.needsSave == true { queue.wake() }
        return result
    }

    public func syncCommitted() async throws {
        try await database.syncCommitted()
    }

    public func scheduleBotAnswer(conversationId: String, at: Date) async throws {
        try await queue.enqueue([.botAnswer(conversationId: conversationId, at: at)])
    }

    public func queueBotReply(_ reply: BotReply) async throws -> (result: BotFeedResult, queued: Bool)? {
        let key = try Self.conversationKey(reply.conversationId)
        let now = self.now
        let result = try await database.transaction(durability: .relaxed) { [queue] db -> (result: BotFeedResult, queued: Bool)? in
            guard let locked = try await BotRow.load(key, pageId: nil, in: db) else { return nil }
            let window = locked.state.lastCustomerAt.map { MessagingWindow.state(lastInboundAt: $0, now: Date(millisecondsSince1970: now)) }
            let current = locked.version == reply.expectedVersion && !locked.state.isPaused
            let queueing = current && window?.state == .open
            try await Self.recordAnswer(
                BotAnswerRecord(outcome: queueing ? .reply : .dropped, modelCall: reply.modelCall),
                pageId: locked.pageId,
                conversationId: key,
                in: db,
                now: now
            )
            guard queueing else {
                // Still the state the answer was made for, but the window closed while it
                // was made: the policy pauses (`window_closed`) so a person sees it.
                guard let fed = try await locked.feed(current ? [.answerDue] : [], actor: "bot", in: db, now: now, queue: queue) else {
                    return nil
                }
                return (fed, false)
            }
            let queued = try await Self.insertOutbound(
                OutboundDraft(conversationId: reply.conversationId, text: reply.text, clientId: reply.clientId, author: .bot),
                in: db,
                now: now,
                queue: queue,
                durableMark: !reply.startDurable
            )
            let sent = BotEvent.answerSent(at: Date(millisecondsSince1970: now), upTo: reply.upTo, disclosed: reply.disclosed)
            guard var fed = try await locked.feed([sent], actor: "bot", in: db, now: now, queue: queue) else { return nil }
            fed.events = queued.events + fed.events
            return (fed, queued.created)
        }
        if result != nil { queue.wake() }
        return result
    }

    /// Feeds the bot inside the caller's transaction (the inbound apply, an assignment):
    /// nil when the Page's bot is off. `pageId`, when known, saves a read for Pages
    /// without a bot.
    static func feedBot(
        in db: any SQLExecutor,
        conversationId: Int64,
        pageId: String?,
        events: [BotEvent],
        actor: String,
        now: Int64,
        queue: EmbeddedJobQueue
    ) async throws -> BotFeedResult? {
        guard !events.isEmpty, let locked = try await BotRow.load(conversationId, pageId: pageId, in: db) else { return nil }
        return try await locked.feed(events, actor: actor, in: db, now: now, queue: queue)
    }

    static func conversationKey(_ id: String) throws -> Int64 {
        guard let key = Int64(id) else { throw SwitchboardError(.conversationNotFound, "No conversation has the id \(id).") }
        return key
    }

    static func recordAnswer(_ answer: BotAnswerRecord, pageId: String, conversationId: Int64, in db: any SQLExecutor, now: Int64) async throws {
        let call = answer.modelCall
        try await db.query(
            """
            INSERT INTO bot_answers (page_id, conversation_id, at, outcome, llm_ms, prompt_tokens, completion_tokens, llm_error)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            .text(pageId),
            .int(conversationId),
            .int(now),
            .text(answer.outcome.rawValue),
            SQLValue(call?.durationMilliseconds),
            SQLValue(call?.promptTokens.map(Int64.init)),
            SQLValue(call?.completionTokens.map(Int64.init)),
            SQLValue(call?.failure)
        )
    }
}

/// One conversation's bot state read under its row lock (PostgreSQL `FOR NO KEY UPDATE`; SQLite
/// has one writer), with its Page's bot: whatever the transaction decides from it cannot
/// be overtaken by another writer.
struct BotRow {
    let conversationId: Int64
    let pageId: String
    let psid: String
    let page: BotPageSettings
    let state: BotConversationState
    let version: Int64

    /// nil when the conversation is unknown or its Page's bot is off. `locking` false: a
    /// plain read, for a feed that may change nothing.
    static func load(_ conversationId: Int64, pageId knownPage: String?, locking: Bool = true, in db: any SQLExecutor) async throws -> BotRow? {
        var page: BotPageSettings?
        if let knownPage {
            page = try await SQLStore.botSettings(pageId: knownPage, in: db)
            guard page?.enabled == true else { return nil }
        }
        guard
            let row = try await db.first(
                """
                SELECT c.page_id, c.bot_policy, c.bot_version, (SELECT psid FROM contacts k WHERE k.id = c.contact_id) AS psid,
                    (SELECT enabled FROM bot_settings b WHERE b.page_id = c.page_id) AS bot_enabled
                FROM conversations c WHERE c.id = $1 \(locking ? "{{for_no_key_update}}" : "")
                """,
                .int(conversationId)
            ),
            let pageId = row.string("page_id")
        else { return nil }
        // A Page whose bot is off (most feeds: every agent's reply asks) costs no second read.
        if page == nil, (row.int("bot_enabled") ?? 0) != 0 { page = try await SQLStore.botSettings(pageId: pageId, in: db) }
        guard let page, page.enabled else { return nil }
        return BotRow(
            conversationId: conversationId,
            pageId: pageId,
            psid: row.string("psid") ?? "",
            page: page,
            state: JSONText.decode(BotConversationState.self, row.string("bot_policy")) ?? BotConversationState(),
            version: row.int("bot_version") ?? 0
        )
    }

    /// What the policy decides from this state; nothing stored.
    func decide(_ events: [BotEvent], actor: String, now: Int64) -> BotFeedResult {
        let plan = BotFeedPlan(
            settings: page.settings,
            state: state,
            events: events,
            actor: actor,
            conversationId: String(conversationId),
            now: Date(millisecondsSince1970: now)
        )
        return BotFeedResult(pageId: pageId, psid: psid, page: page, version: version, plan: plan, events: [])
    }

    /// Runs the policy and stores what it decided: the state (a new version), one audit
    /// row and one `conversation:bot` event per pause or resume, the answer jobs, and the
    /// notice as a queued bot message keyed by the new version (a retried feed queues it
    /// once). A feed that changes nothing writes nothing.
    func feed(_ events: [BotEvent], actor: String, in db: any SQLExecutor, now: Int64, queue: EmbeddedJobQueue) async throws -> BotFeedResult? {
        let id = String(conversationId)
        var result = decide(events, actor: actor, now: now)
        let plan = result.plan
        guard plan.needsSave else { return result }
        try await db.query(
            "UPDATE conversations SET bot_policy = $2, bot_version = $3, bot_state = $4, bot_reason = $5 WHERE id = $1",
            .int(conversationId),
            .text(try JSONText.encode(plan.state)),
            .int(version + 1),
            .text(plan.state.isPaused ? "paused" : "active"),
            SQLValue(plan.state.pauseReason?.rawValue)
        )
        result.version = version + 1
        try await queue.enqueue(plan.jobs, in: db)
        let log = RealtimeLog(db: db, now: now)
        for change in plan.changes {
            try await SQLStore.audit(
                in: db,
                at: now,
                actor: change.actor,
                action: change.state == "paused" ? "bot.paused" : "bot.resumed",
                subject: "conversation:\(id)",
                detail: change.reason
            )
            let payload = ConversationBotPayload(conversationId: id, state: change.state, reason: change.reason)
            result.events.append(try await log.record("conversation:bot", conversationId: id, payload))
        }
        if let notice = plan.notice {
            let draft = OutboundDraft(conversationId: id, text: notice, clientId: "bot-notice:\(id):\(version + 1)", author: .bot)
            result.events += try await SQLStore.insertOutbound(draft, in: db, now: now, queue: queue).events
        }
        return result
    }
}
