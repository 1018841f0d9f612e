public import Foundation
public import SwitchboardCore

extension SQLStore {
    /// The Page's bot since `since`: replies and model calls from `bot_answers`, handovers
    /// (every `bot.paused`, by reason) from the audit log. Indexed by Page and time, and by
    /// action and time, so a day of a busy Page reads only that day's rows.
    public func botStats(pageId: String, since: Date) async throws -> BotStats {
        let from = since.millisecondsSince1970
        return try await database.read { db in
            let totals = try await db.first(
                """
                SELECT CAST(SUM(CASE WHEN outcome = 'reply' THEN 1 ELSE 0 END) AS BIGINT) AS replies,
                       CAST(SUM(CASE WHEN llm_ms IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS calls,
                       CAST(SUM(COALESCE(prompt_tokens, 0)) AS BIGINT) AS prompt_tokens,
                       CAST(SUM(COALESCE(completion_tokens, 0)) AS BIGINT) AS completion_tokens
                FROM bot_answers WHERE page_id = $1 AND at >= $2
                """,
                .text(pageId),
                .int(from)
            )
            let calls = Int(totals?.int("calls") ?? 0)
            func percentile(_ p: Double) async throws -> Int? {
                guard calls > 0 else { return nil }
                let rank = Int((p * Double(calls)).rounded(.up))
                return try await db.first(
                    """
                    SELECT llm_ms FROM bot_answers WHERE page_id = $1 AND at >= $2 AND llm_ms IS NOT NULL
                    ORDER BY llm_ms LIMIT 1 OFFSET $3
                    """,
                    .text(pageId),
                    .int(from),
                    .int(Int64(max(rank, 1) - 1))
                )?.int("llm_ms").map(Int.init)
            }
            let failures = try await db.query(
                """
                SELECT llm_error, COUNT(*) AS n FROM bot_answers WHERE page_id = $1 AND at >= $2 AND llm_error IS NOT NULL
                GROUP BY llm_error
                """,
                .text(pageId),
                .int(from)
            )
            let handovers = try await db.query(
                """
                SELECT a.detail, COUNT(*) AS n FROM audit_log a
                JOIN conversations c ON c.id = CAST(SUBSTR(a.subject, 14) AS BIGINT)
                WHERE a.action = 'bot.paused' AND a.at >= $2 AND c.page_id = $1
                GROUP BY a.detail
                """,
                .text(pageId),
                .int(from)
            )
            return BotStats(
                pageId: pageId,
                since: since.iso8601,
                replies: Int(totals?.int("replies") ?? 0),
                handovers: Self.counts(handovers, key: "detail"),
                llm: BotStats.Model(
                    calls: calls,
                    p50Ms: try await percentile(0.5),
                    p99Ms: try await percentile(0.99),
                    promptTokens: Int(totals?.int("prompt_tokens") ?? 0),
                    completionTokens: Int(totals?.int("completion_tokens") ?? 0),
                    failures: Self.counts(failures, key: "llm_error")
                )
            )
        }
    }

    private static func counts(_ rows: [SQLRow], key: String) -> [String: Int] {
        Dictionary(rows.map { ($0.string(key) ?? "", Int($0.int("n") ?? 0)) }, uniquingKeysWith: +)
    }
}
