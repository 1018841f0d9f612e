import Foundation
public import SwitchboardCore

extension SQLStore: BotStore {
    /// The Page's bot settings; nil when none were ever saved (the bot is off).
    public func botSettings(pageId: String) async throws -> BotPageSettings? {
        try await database.read { db in
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

    public func saveBotState(
        conversationId: String,
        expectedVersion: Int64,
        state: BotConversationState,
        changes: [BotStateChange],
        jobs: [NewJob]
    ) async throws -> [RealtimeEvent]? {
        guard let key = Int64(conversationId) else { throw SwitchboardError(.conversationNotFound, "No conversation has the id \(conversationId).") }
        let json = try JSONText.encode(state)
        let now = self.now
        let reason: String? =
            if case .paused(let reason) = state.mode { reason.rawValue } else { nil }
        let events = try await database.transaction { [queue] db -> [RealtimeEvent]? in
            let updated = try await db.query(
                """
                UPDATE conversations SET bot_policy = $3, bot_version = bot_version + 1, bot_state = $4, bot_reason = $5
                WHERE id = $1 AND bot_version = $2 RETURNING id
                """,
                .int(key),
                .int(expectedVersion),
                .text(json),
                .text(state.isPaused ? "paused" : "active"),
                SQLValue(reason)
            )
            guard !updated.isEmpty else { return nil }
            try await queue.enqueue(jobs, in: db)
            var events: [RealtimeEvent] = []
            for change in changes {
                try await db.query(
                    "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
                    .int(now),
                    .text(change.actor),
                    .text(change.state == "paused" ? "bot.paused" : "bot.resumed"),
                    .text("conversation:\(conversationId)"),
                    .text(change.reason)
                )
                let payload = ConversationBotPayload(conversationId: conversationId, state: change.state, reason: change.reason)
                events.append(try await RealtimeLog(db: db, now: now).record("conversation:bot", conversationId: conversationId, payload))
            }
            return events
        }
        if events != nil, !jobs.isEmpty { queue.wake() }
        return events
    }
}
