import Foundation
import SwitchboardCore

/// Appends to the realtime event log inside the current transaction; the returned event
/// is emitted only after commit (invariant 6).
struct RealtimeLog {
    let db: any SQLExecutor
    let now: Int64

    /// An event to record: its name, conversation and JSON payload.
    struct Entry {
        var name: String
        var conversationId: String?
        var json: String

        init(_ name: String, conversationId: String?, _ payload: some Encodable) throws {
            self.name = name
            self.conversationId = conversationId
            self.json = try JSONText.encode(payload)
        }
    }

    func record(_ name: String, conversationId: String?, _ payload: some Encodable) async throws -> RealtimeEvent {
        try await record([Entry(name, conversationId: conversationId, payload)])[0]
    }

    /// Records the entries in one statement; their ids follow the order given.
    func record(_ entries: [Entry]) async throws -> [RealtimeEvent] {
        guard !entries.isEmpty else { return [] }
        var values: [String] = []
        var binds: [SQLValue] = []
        for entry in entries {
            values.append("($\(binds.count + 1), $\(binds.count + 2), $\(binds.count + 3), $\(binds.count + 4))")
            binds += [.int(now), .text(entry.name), SQLValue(entry.conversationId.flatMap { Int64($0) }), .text(entry.json)]
        }
        let ids = try await db.query(
            "INSERT INTO realtime_events (at, name, conversation_id, payload) VALUES \(values.joined(separator: ", ")) RETURNING id",
            binds
        ).compactMap { $0.int("id") }.sorted()
        guard ids.count == entries.count else {
            throw SwitchboardError(.storageUnavailable, "The database returned \(ids.count) ids for \(entries.count) realtime events.")
        }
        let at = Date(millisecondsSince1970: now).iso8601
        return zip(ids, entries).map { id, entry in
            RealtimeEvent(id: id, name: entry.name, conversationId: entry.conversationId, payload: entry.json, at: at)
        }
    }
}
