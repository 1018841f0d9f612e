public import Foundation
import SwitchboardCore

/// What "Test Webhook" reads and removes: its synthetic customer's rows (`WebhookProbe`).
extension SQLStore {
    /// Whether the probe's message went all the way through: stored, split and applied.
    public func webhookProbeApplied(pageId: String, mid: String) async throws -> Bool {
        try await database.read { db in
            try await db.first("SELECT id FROM messages WHERE page_id = $1 AND mid = $2", .text(pageId), .text(mid)) != nil
        }
    }

    /// Removes every probe customer with its conversation and messages (this run's, and any
    /// an earlier run left when its event was applied after it gave up waiting), and the
    /// stored webhooks received since `since` that carry `mid` and nothing else applies to.
    /// Returns the conversations removed.
    @discardableResult
    public func removeWebhookProbes(mid: String, receivedSince since: Date) async throws -> Int {
        try await database.transaction { db in
            let contacts = try await db.query("SELECT id FROM contacts WHERE psid LIKE $1", .text(WebhookProbe.psidPrefix + "%"))
            var removed = 0
            for contact in contacts {
                let contactId = contact.int("id") ?? 0
                for conversation in try await db.query("SELECT id FROM conversations WHERE contact_id = $1", .int(contactId)) {
                    let id = conversation.int("id") ?? 0
                    try await db.query("DELETE FROM messages WHERE conversation_id = $1", .int(id))
                    try await db.query("DELETE FROM conversations WHERE id = $1", .int(id))
                    removed += 1
                }
                try await db.query("DELETE FROM contacts WHERE id = $1", .int(contactId))
            }
            let stored = try await db.query(
                """
                SELECT w.id, w.body FROM webhook_events w JOIN webhook_splits s ON s.webhook_event_id = w.id
                WHERE w.received_at >= $1
                """,
                .int(since.millisecondsSince1970)
            )
            let marker = Array(mid.utf8)
            for row in stored where row["body"].bytes.map({ $0.contains(subsequence: marker) }) == true {
                try await db.query("DELETE FROM unhandled_events WHERE webhook_event_id = $1", .int(row.int("id") ?? 0))
                try await db.query("DELETE FROM webhook_splits WHERE webhook_event_id = $1", .int(row.int("id") ?? 0))
                try await db.query("DELETE FROM webhook_events WHERE id = $1", .int(row.int("id") ?? 0))
            }
            return removed
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { start in self[start..<(start + needle.count)].elementsEqual(needle) }
    }
}
