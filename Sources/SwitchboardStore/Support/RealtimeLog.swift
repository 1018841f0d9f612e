import Foundation
import SwitchboardCore

/// Appends to the realtime event log inside the current transaction; the returned event
/// is emitted only after commit (invariant 6).
struct RealtimeLog {
    let db: any SQLExecutor
    let now: Int64

    func record(_ name: String, conversationId: String?, _ payload: some Encodable) async throws -> RealtimeEvent {
        let json = try JSONText.encode(payload)
        let row = try await db.first(
            "INSERT INTO realtime_events (at, name, conversation_id, payload) VALUES ($1, $2, $3, $4) RETURNING id",
            .int(now),
            .text(name),
            SQLValue(conversationId.flatMap { Int64($0) }),
            .text(json)
        )
        return RealtimeEvent(
            id: row?.int("id") ?? 0,
            name: name,
            conversationId: conversationId,
            payload: json,
            at: Date(millisecondsSince1970: now).iso8601
        )
    }
}
