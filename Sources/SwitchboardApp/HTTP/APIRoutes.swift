import Foundation
import Hummingbird
import NIOCore
import SwitchboardCore

/// The REST API's fixed routes (`shared/design/api.md`).
struct APIRoutes {
    let store: any Store
    let status: StatusReporter
    let publisher: any EventPublisher
    let access: ConversationAccess

    func register(on group: RouterGroup<SwitchboardRequestContext>) {
        group.get("/conversations") { request, context in
            let filter = try ConversationListQuery.parse(request.uri.queryParameters, caller: try context.caller)
            let page = try await store.conversations(filter)
            return try JSONResponse(PageEnvelope(key: "conversations", items: page.items, nextCursor: page.nextCursor))
        }
        group.get("/conversations/:id") { _, context in
            let id = try await access.require(context)
            guard let conversation = try await store.conversation(id: id) else { throw Self.notFound(id) }
            return try JSONResponse(["conversation": conversation])
        }
        group.get("/conversations/:id/messages") { request, context in
            let id = try await access.require(context)
            let query = request.uri.queryParameters
            let page = try await store.messages(
                conversationId: id,
                limit: try Self.limit(query["limit"]),
                before: (query["before"] ?? query["cursor"]).map(String.init)
            )
            return try JSONResponse(PageEnvelope(key: "messages", items: page.items, nextCursor: page.nextCursor))
        }
        group.post("/conversations/:id/read") { _, context in
            let id = try await access.require(context)
            let (conversation, event) = try await store.markRead(conversationId: id)
            if let event { await publisher.publish([event]) }
            return try JSONResponse(["conversation": conversation])
        }
        group.get("/events") { request, context in
            let query = request.uri.queryParameters
            guard let after = query["after"].flatMap({ Int64(String($0)) }), after >= 0 else {
                throw APIError(.badRequest, "invalid_argument", "Give the last event id you saw as ?after=ID (0 for the beginning).")
            }
            // Events older than the log keeps are gone: the client must reload its lists.
            if after > 0, let oldest = try await store.oldestRealtimeEventId(), after + 1 < oldest {
                return try JSONResponse(EventList(events: [], lastEventId: oldest - 1, reload: true))
            }
            let events = try await store.realtimeEvents(
                after: after,
                limit: try Self.limit(query["limit"], default: 500, max: 1000),
                visibility: try context.caller.visibility
            )
            return try JSONResponse(EventList(events: events.map(EventItem.init), lastEventId: events.last?.id ?? after, reload: false))
        }
        group.get("/status") { request, _ in
            try JSONResponse(try await status.report(counts: try Self.flag(request.uri.queryParameters["counts"], name: "counts", default: true)))
        }
    }

    static func flag(_ raw: Substring?, name: String, default value: Bool) throws -> Bool {
        switch raw {
        case nil: value
        case "true": true
        case "false": false
        default: throw APIError(.badRequest, "invalid_argument", "\(name) must be true or false.")
        }
    }

    static func limit(_ raw: Substring?, default value: Int = 50, max: Int = 500) throws -> Int {
        guard let raw else { return value }
        guard let limit = Int(raw), (1...max).contains(limit) else {
            throw APIError(.badRequest, "invalid_argument", "limit must be a whole number from 1 to \(max).")
        }
        return limit
    }

    static func notFound(_ id: String) -> APIError {
        APIError(.notFound, "conversation_not_found", "No conversation has the id \(id).")
    }
}

/// A page of a list as the API returns it: the items under their name, and `nextCursor`
/// (null at the end, never missing).
struct PageEnvelope<Item: Encodable>: Encodable {
    var key: String
    var items: [Item]
    var nextCursor: String?

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(items, forKey: Key(key))
        try container.encode(nextCursor, forKey: Key("nextCursor"))
    }
}

/// A realtime event as REST returns it: its payload as JSON, not as a string.
struct EventItem: Encodable {
    var event: RealtimeEvent
    init(_ event: RealtimeEvent) { self.event = event }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(event.id), forKey: .id)
        try container.encode(event.name, forKey: .name)
        try container.encode(event.conversationId, forKey: .conversationId)
        try container.encode(event.at, forKey: .at)
        try container.encode(JSONFragment(event.payload), forKey: .data)
    }

    enum CodingKeys: String, CodingKey { case id, name, conversationId, at, data }
}

struct EventList: Encodable {
    var events: [EventItem]
    var lastEventId: Int64
    /// True when events after the given id were pruned: reload the lists instead.
    var reload: Bool
}

/// A JSON response with the API's encoder (sorted keys, slashes unescaped).
struct JSONResponse: ResponseGenerator {
    let body: ByteBuffer
    let status: HTTPResponse.Status

    init(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws {
        body = ByteBuffer(bytes: try CompactJSONEncoder().encode(value))
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: body)
        )
    }
}
