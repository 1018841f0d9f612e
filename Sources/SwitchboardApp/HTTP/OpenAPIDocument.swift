import Foundation

/// The OpenAPI 3.1 description served at `/api/openapi.json`. A test compares its paths
/// and methods with the router's, so the two cannot drift apart.
enum OpenAPIDocument {
    typealias JSON = [String: Any]

    static func ref(_ name: String) -> JSON { ["$ref": "#/components/schemas/\(name)"] }
    static func json(_ schema: JSON) -> JSON { ["content": ["application/json": ["schema": schema]]] }
    static func text(_ description: String) -> JSON { ["description": description, "content": ["text/plain": ["schema": ["type": "string"]]]] }
    static func error(_ description: String) -> JSON { ["description": description] + json(ref("Error")) }
    static var idParameter: JSON { ["name": "id", "in": "path", "required": true, "schema": ["type": "string"]] }
    static var authenticated: [JSON] { [["bearerAuth": [String]()]] }

    static func query(_ name: String, _ type: String, _ description: String) -> JSON {
        ["name": name, "in": "query", "required": false, "schema": ["type": type], "description": description]
    }

    static var paths: JSON {
        [
            "/api/webhook/facebook": [
                "get": [
                    "summary": "Meta's verification handshake", "security": [JSON](),
                    "parameters": [
                        query("hub.mode", "string", "subscribe"), query("hub.verify_token", "string", "WEBHOOK_VERIFY_TOKEN"),
                        query("hub.challenge", "string", "echoed back"),
                    ],
                    "responses": ["200": text("the raw hub.challenge"), "403": error("mode or token wrong")],
                ],
                "post": [
                    "summary": "Event notifications, signed with X-Hub-Signature-256; 200 only after the body is stored", "security": [JSON](),
                    "responses": [
                        "200": text("EVENT_RECEIVED"), "403": error("missing or bad signature"), "413": error("body over the limit"),
                        "503": error("storage unavailable; Meta retries"),
                    ],
                ],
            ],
            "/api/webhook/facebook/simple": [
                "get": [
                    "summary": "The same handshake (reachability test)", "security": [JSON](),
                    "responses": ["200": text("hub.challenge"), "403": error("refused")],
                ],
                "post": ["summary": "Acknowledges without storing anything", "security": [JSON](), "responses": ["200": text("EVENT_RECEIVED")]],
            ],
            "/api/conversations": [
                "get": [
                    "summary": "Conversations, newest activity first", "security": authenticated,
                    "parameters": [
                        query("limit", "integer", "1–500, default 50"), query("cursor", "string", "nextCursor of the previous page"),
                        query("pageId", "string", "only this Page"), query("unread", "boolean", "only unread"),
                        query("q", "string", "contact name or message text"),
                    ],
                    "responses": [
                        "200": ["description": "a page"]
                            + json([
                                "type": "object",
                                "properties": [
                                    "conversations": ["type": "array", "items": ref("Conversation")], "nextCursor": ["type": ["string", "null"]],
                                ],
                            ]), "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/conversations/{id}": [
                "get": [
                    "summary": "One conversation", "security": authenticated, "parameters": [idParameter],
                    "responses": [
                        "200": ["description": "found"] + json(["type": "object", "properties": ["conversation": ref("Conversation")]]),
                        "404": error("unknown id"), "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/conversations/{id}/messages": [
                "get": [
                    "summary": "Messages, oldest first within a page; before= for older", "security": authenticated,
                    "parameters": [idParameter, query("limit", "integer", "1–500"), query("before", "string", "nextCursor of the previous page")],
                    "responses": [
                        "200": ["description": "a page"]
                            + json([
                                "type": "object",
                                "properties": ["messages": ["type": "array", "items": ref("Message")], "nextCursor": ["type": ["string", "null"]]],
                            ]), "404": error("unknown conversation"), "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/conversations/{id}/read": [
                "post": [
                    "summary": "Mark the conversation read", "security": authenticated, "parameters": [idParameter],
                    "responses": [
                        "200": ["description": "the conversation"] + json(["type": "object", "properties": ["conversation": ref("Conversation")]]),
                        "404": error("unknown conversation"), "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/events": [
                "get": [
                    "summary": "Realtime events after an id (catch-up after a disconnect)", "security": authenticated,
                    "parameters": [
                        ["name": "after", "in": "query", "required": true, "schema": ["type": "integer"]], query("limit", "integer", "1–1000"),
                    ],
                    "responses": [
                        "200": ["description": "events, oldest first"] + json(["type": "object"]), "400": error("after missing"),
                        "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/status": [
                "get": [
                    "summary": "Queue depths, workers, sockets, database and Redis state", "security": authenticated,
                    "responses": ["200": ["description": "status"] + json(["type": "object"]), "401": error("no or bad token")],
                ]
            ],
            "/api/openapi.json": [
                "get": [
                    "summary": "This document", "security": [JSON](), "responses": ["200": ["description": "OpenAPI 3.1"] + json(["type": "object"])],
                ]
            ],
            "/healthz": ["get": ["summary": "The process answers", "security": [JSON](), "responses": ["200": text("ok")]]],
            "/readyz": [
                "get": [
                    "summary": "Database reachable and migrations current", "security": [JSON](),
                    "responses": ["200": text("ready"), "503": text("why not")],
                ]
            ],
            "/metrics": ["get": ["summary": "Prometheus metrics", "security": [JSON](), "responses": ["200": text("Prometheus text format")]]],
        ]
    }

    static var schemas: JSON {
        [
            "Error": [
                "type": "object",
                "properties": [
                    "error": [
                        "type": "object", "properties": ["code": ["type": "string"], "message": ["type": "string"]], "required": ["code", "message"],
                    ]
                ], "required": ["error"],
            ],
            "Contact": [
                "type": "object",
                "properties": [
                    "psid": ["type": "string"], "name": ["type": ["string", "null"]], "avatarUrl": ["type": ["string", "null"]],
                    "firstSeenAt": ["type": "string"], "unreachable": ["type": "boolean"],
                ],
            ],
            "Conversation": [
                "type": "object",
                "properties": [
                    "id": ["type": "string"], "pageId": ["type": "string"], "contact": ref("Contact"), "lastMessageAt": ["type": ["string", "null"]],
                    "lastInboundAt": ["type": ["string", "null"]], "messageCount": ["type": "integer"], "unreadCount": ["type": "integer"],
                    "window": [
                        "type": "object",
                        "properties": ["state": ["enum": ["open", "human_agent", "closed"]], "closesAt": ["type": ["string", "null"]]],
                    ],
                    "bot": [
                        "type": "object", "properties": ["state": ["enum": ["active", "paused", "off"]], "reason": ["type": ["string", "null"]]],
                    ],
                    "assigneeId": ["type": ["string", "null"]],
                ],
            ],
            "Message": [
                "type": "object",
                "properties": [
                    "id": ["type": "string"], "conversationId": ["type": "string"], "direction": ["enum": ["in", "out"]],
                    "author": ["enum": ["customer", "agent", "bot", "other_app"]], "authorId": ["type": ["string", "null"]],
                    "text": ["type": ["string", "null"]],
                    "attachments": ["type": "array"], "facebookMessageId": ["type": ["string", "null"]], "clientId": ["type": ["string", "null"]],
                    "status": ["enum": ["received", "queued", "sent", "delivered", "read", "failed"]], "error": ["type": ["object", "null"]],
                    "createdAt": ["type": "string"], "sentAt": ["type": ["string", "null"]], "deliveredAt": ["type": ["string", "null"]],
                    "readAt": ["type": ["string", "null"]],
                ],
            ],
        ]
    }

    static var document: JSON {
        [
            "openapi": "3.1.0",
            "info": [
                "title": "Switchboard API", "version": SwitchboardVersion.current,
                "description": "The REST API of Switchboard, a live Messenger inbox.",
            ],
            "security": authenticated,
            "paths": paths,
            "components": ["schemas": schemas, "securitySchemes": ["bearerAuth": ["type": "http", "scheme": "bearer"]]],
        ]
    }

    /// The document as JSON bytes.
    static let bytes: [UInt8] = Array((try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data("{}".utf8))

    /// `METHOD /path` for every operation, path parameters written `{name}`.
    static var operations: Set<String> {
        var result: Set<String> = []
        for (path, item) in paths {
            for method in (item as? JSON)?.keys ?? [:].keys { result.insert("\(method.uppercased()) \(path)") }
        }
        return result
    }
}

func + (lhs: [String: Any], rhs: [String: Any]) -> [String: Any] { lhs.merging(rhs) { _, new in new } }
