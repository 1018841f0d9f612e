import ArgumentParser
import Foundation
import Messenger
import SwitchboardApp
import SwitchboardCore
import SwitchboardStore

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the database with a sample Page and conversations (idempotent).",
        discussion: "The samples go through the same apply path as real webhooks, so running it twice changes nothing."
    )

    @Option(help: "How many sample conversations.") var conversations = 5

    func run() async throws {
        let configuration = try await loadConfiguration()
        let logger = makeLogger()
        let pageId = configuration.bootstrapPageId ?? "100000000000001"
        let count = conversations
        let applied = try await Switchboard.withDatabase(configuration, logger: logger) { database in
            try await Migrator(database: database).requireCurrentOrMigrateEmbedded(now: Date().millisecondsSince1970)
            let store = SQLStore(database: database)
            if try await store.page(id: pageId) == nil {
                try await store.savePage(PageRecord(id: pageId, name: "Sample Page", sealedAccessToken: nil))
            }
            let start: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z: fixed, so reseeding is a no-op
            var total = 0
            for n in 0..<count {
                let psid = "seed-customer-\(n + 1)"
                let events = (0..<3).map { i in
                    WebhookEvent(
                        pageId: pageId,
                        customerId: psid,
                        timestamp: start + Int64(n * 60_000 + i * 1000),
                        channel: .messaging,
                        payload: .message(InboundMessage(mid: "m_seed_\(n + 1)_\(i)", text: Self.lines[(n + i) % Self.lines.count]))
                    )
                }
                let outcome = try await store.applyInbound(InboundBatch(pageId: pageId, psid: psid, events: events, ourAppId: nil), completing: nil)
                total += outcome.applied.values.reduce(0, +)
            }
            return total
        }
        print(applied == 0 ? "The sample data is already there." : "Seeded \(applied) messages in \(count) conversations on Page \(pageId).")
    }

    static let lines = [
        "Hi! Is the blue jacket still in stock?", "What are your opening hours on Sunday?", "My order hasn't arrived yet.",
        "Can I change the delivery address?", "Thanks, that helps a lot!", "Do you ship to Norway?",
    ]
}
