import Hummingbird
import SwitchboardCore
import SwitchboardStore

/// `POST /api/pages/{id}/webhook-test` (admins): Bot Settings' "Test Webhook" for scripts
/// and integrations. The dashboard asks over its socket instead (`webhook:test`), which
/// still answers while the database is down.
struct WebhookTestRoutes {
    let store: SQLStore
    let test: WebhookTest

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        group.post("/pages/:id/webhook-test") { _, context in
            try context.requireAdmin()
            let id = try context.parameters.require("id")
            guard try await store.page(id: id) != nil else { throw APIError(.notFound, "not_found", "No Page has the id \(id).") }
            return try JSONResponse(await test.run(pageId: id))
        }
    }
}
