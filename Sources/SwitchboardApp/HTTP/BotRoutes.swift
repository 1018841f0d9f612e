import Foundation
import Hummingbird
import SwitchboardCore
import SwitchboardServices
import SwitchboardStore

/// The bot's settings per Page (admins only: they hold an API key and change what
/// customers are told) and the pause/resume switch per conversation (any agent who may see
/// the conversation). The model's key is write-only: sealed like Page tokens (invariant 8),
/// never returned.
struct BotRoutes {
    let store: SQLStore
    let box: SecretBox
    let access: ConversationAccess
    let bot: BotConversations

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        group.get("/pages/:id/bot") { _, context in
            try context.requireAdmin()
            let pageId = try await requirePage(context)
            let stored = try await store.botSettings(pageId: pageId) ?? BotPageSettings(enabled: false)
            return try JSONResponse(["bot": BotSettingsBody(stored)])
        }
        group.put("/pages/:id/bot") { request, context in
            try context.requireAdmin()
            let pageId = try await requirePage(context)
            let body = try await request.decode(as: BotSettingsBody.self, context: context)
            let stored = try await store.botSettings(pageId: pageId)
            let saved = try settings(from: body, keeping: stored?.model)
            try await store.saveBotSettings(pageId: pageId, saved)
            try await store.audit(actor: context.principal ?? "api", action: "bot.settings_saved", subject: "page:\(pageId)")
            return try JSONResponse(["bot": BotSettingsBody(saved)])
        }
        group.get("/pages/:id/bot/stats") { request, context in
            let pageId = try await requirePage(context)
            guard try context.caller.visibility.allows(pageId) else { throw APIError(.notFound, "not_found", "No Page has the id \(pageId).") }
            let since = try Self.since(request.uri.queryParameters["since"], now: store.clock.now())
            return try JSONResponse(try await store.botStats(pageId: pageId, since: since))
        }
        group.post("/conversations/:id/bot") { request, context in
            let id = try await access.require(context)
            let body = try await request.decode(as: BotActionBody.self, context: context)
            let event: BotEvent
            switch body.action {
            case "pause": event = .paused
            case "resume": event = .resumed
            default: throw APIError(.badRequest, "invalid_action", "action must be \"pause\" or \"resume\".")
            }
            guard let result = try await bot.feed(conversationId: id, [event], actor: context.principal ?? "api") else {
                throw APIError(.conflict, "bot_disabled", "The bot is off for this conversation's Page.")
            }
            let state = ConversationBotPayload(
                conversationId: id,
                state: result.plan.state.isPaused ? "paused" : "active",
                reason: result.plan.state.pauseReason?.rawValue
            )
            return try JSONResponse(["bot": state])
        }
    }

    private func requirePage(_ context: SwitchboardRequestContext) async throws -> String {
        let id = try context.parameters.require("id")
        guard try await store.page(id: id) != nil else { throw APIError(.notFound, "not_found", "No Page has the id \(id).") }
        return id
    }

    /// `?since=` (ISO-8601, with or without fractions of a second); absent: the last 24 hours.
    static func since(_ raw: Substring?, now: Date) throws -> Date {
        guard let raw else { return now.addingTimeInterval(-86_400) }
        for style in [Date.ISO8601FormatStyle(includingFractionalSeconds: true), Date.ISO8601FormatStyle()] {
            if let date = try? style.parse(String(raw)) { return date }
        }
        throw APIError(.badRequest, "invalid_argument", "since must be an ISO-8601 time such as 2026-01-31T09:00:00Z.")
    }

    /// The stored form of a PUT: the key sealed; an absent key keeps the stored one.
    func settings(from body: BotSettingsBody, keeping stored: BotModelSettings?) throws -> BotPageSettings {
        guard let model = body.model else { return BotPageSettings(enabled: body.enabled, settings: body.settings ?? BotSettings()) }
        guard let url = URL(string: model.baseURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil,
            !model.model.isEmpty
        else {
            throw APIError(.badRequest, SwitchboardError.Code.botSettingsInvalid.rawValue, "model needs an http(s) baseURL and a model name.")
        }
        let sealed = try model.apiKey.map { try box.seal($0) } ?? stored?.sealedAPIKey
        return BotPageSettings(
            enabled: body.enabled,
            settings: body.settings ?? BotSettings(),
            model: BotModelSettings(baseURL: model.baseURL, model: model.model, sealedAPIKey: sealed)
        )
    }
}

/// A Page's bot settings on the wire.
struct BotSettingsBody: Codable, Sendable {
    struct Model: Codable, Sendable {
        var baseURL: String
        var model: String
        /// Write-only.
        var apiKey: String?
        /// Read-only: whether a key is stored.
        var hasAPIKey: Bool?
    }

    var enabled: Bool
    var settings: BotSettings?
    var model: Model?

    init(_ stored: BotPageSettings) {
        enabled = stored.enabled
        settings = stored.settings
        model = stored.model.map { Model(baseURL: $0.baseURL, model: $0.model, apiKey: nil, hasAPIKey: $0.sealedAPIKey != nil) }
    }
}

struct BotActionBody: Decodable {
    var action: String
}
