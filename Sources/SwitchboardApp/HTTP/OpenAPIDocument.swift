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
    static var authenticated: [JSON] { [["bearerAuth": [String]()], ["sessionCookie": [String]()]] }

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
                        query("assignee", "string", "me, none (unassigned) or a user id"),
                        query("bot", "string", "active (the bot is handling it), paused (handed over) or off"),
                        query("needsHuman", "boolean", "the same as bot=paused"),
                        query("window", "string", "open, human_agent, closed, or closing: human_agent or under closingWithinHours left"),
                        query("closingWithinHours", "number", "0–24, default 4: what window=closing counts as closing"),
                        query("status", "string", "open or resolved"),
                        query("q", "string", "contact name or message text"),
                    ],
                    "responses": [
                        "200": ["description": "a page"]
                            + json([
                                "type": "object",
                                "properties": [
                                    "conversations": ["type": "array", "items": ref("Conversation")], "nextCursor": ["type": ["string", "null"]],
                                ],
                            ]), "400": error("invalid_argument: a filter value it does not know"), "401": error("no or bad token"),
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
                ],
                "post": [
                    "summary": "Queue a reply (sent in order by the worker); the same clientId again returns the same message",
                    "security": authenticated,
                    "parameters": [idParameter],
                    "requestBody": ["required": true] + json(ref("SendMessage")),
                    "responses": [
                        "202": ["description": "queued (or the earlier message with this clientId)"]
                            + json(["type": "object", "properties": ["message": ref("Message")]]),
                        "400": error(
                            "message_empty, message_too_long, message_invalid, attachment_invalid, quick_replies_invalid, invalid_client_id"
                        ),
                        "404": error("unknown conversation"),
                        "422": error("window_closed, window_never_opened: Messenger's windows refuse the message"),
                        "401": error("no or bad token"),
                    ],
                ],
            ],
            "/api/conversations/{id}/typing": [
                "post": [
                    "summary": "Typing indicator (typing_on / typing_off), sent directly, at most one of each per conversation every 2 s",
                    "security": authenticated,
                    "parameters": [idParameter],
                    "requestBody": ["required": true]
                        + json(["type": "object", "properties": ["state": ["enum": ["on", "off"]]], "required": ["state"]]),
                    "responses": [
                        "202": ["description": "sent, or coalesced with a recent one (sent: false)"] + json(ref("SenderAction")),
                        "404": error("unknown conversation"), "409": error("Page not connected or needs a new token"),
                        "422": error("window closed or Graph refused"), "503": error("Graph unavailable"), "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/conversations/{id}/seen": [
                "post": [
                    "summary": "Mark the customer's messages seen (mark_seen), sent directly", "security": authenticated,
                    "parameters": [idParameter],
                    "responses": [
                        "202": ["description": "sent, or coalesced with a recent one (sent: false)"] + json(ref("SenderAction")),
                        "404": error("unknown conversation"), "409": error("Page not connected or needs a new token"),
                        "422": error("window closed or Graph refused"), "503": error("Graph unavailable"), "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/pages": [
                "get": [
                    "summary": "Connected Pages and their state (never their tokens)", "security": authenticated,
                    "responses": [
                        "200": ["description": "Pages; for admins also the webhook settings to copy into Meta's App Dashboard (null for agents)"]
                            + json([
                                "type": "object",
                                "properties": [
                                    "pages": ["type": "array", "items": ref("Page")],
                                    "webhook": [
                                        "type": ["object", "null"],
                                        "properties": [
                                            "callbackUrl": ["type": "string"], "verifyToken": ["type": ["string", "null"]],
                                            "fields": ["type": "array", "items": ["type": "string"]],
                                        ],
                                    ],
                                ],
                            ]),
                        "401": error("no or bad token"),
                    ],
                ],
                "post": [
                    "summary":
                        "Connect a Page: checks the token (/me), subscribes the app (subscribed_apps), stores the token encrypted; a new token resumes a Page that needed reauthorization",
                    "security": authenticated,
                    "requestBody": ["required": true]
                        + json([
                            "type": "object",
                            "properties": [
                                "id": ["type": "string"], "name": ["type": "string"], "accessToken": ["type": "string"],
                                "appSecret": ["type": "string"],
                            ], "required": ["id", "accessToken"],
                        ]),
                    "responses": [
                        "201": ["description": "connected"] + json(["type": "object", "properties": ["page": ref("Page")]]),
                        "400": error("page_token_invalid, page_token_mismatch"), "502": error("Graph unavailable"), "401": error("no or bad token"),
                    ],
                ],
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
                        "200": ["description": "events, oldest first; reload: true when events after the id were pruned (reload the lists)"]
                            + json(["type": "object"]), "400": error("after missing"),
                        "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/status": [
                "get": [
                    "summary": "Queue depths, workers, sockets, database and Redis state", "security": authenticated,
                    "parameters": [
                        query("counts", "boolean", "false leaves out the row counts of every table, which read whole tables (default true)")
                    ],
                    "responses": ["200": ["description": "status"] + json(["type": "object"]), "401": error("no or bad token")],
                ]
            ],
            "/api/dev/redis-status": [
                "get": [
                    "summary":
                        "Redis as the seed contract reports it: status connected | disconnected | not_configured, a sentence, the URL (password masked)",
                    "security": authenticated,
                    "responses": [
                        "200": ["description": "connected, or not_configured (the embedded queue is in use)"] + json(ref("RedisStatus")),
                        "503": ["description": "disconnected: webhooks are still stored and dispatched when Redis returns"]
                            + json(ref("RedisStatus")),
                        "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/openapi.json": [
                "get": [
                    "summary": "This document", "security": [JSON](), "responses": ["200": ["description": "OpenAPI 3.1"] + json(["type": "object"])],
                ]
            ],
            "/api/auth/sign-in": [
                "post": [
                    "summary": "Mail a sign-in link (the same answer whether or not the address has an account)", "security": [JSON](),
                    "requestBody": json(["type": "object", "required": ["email"], "properties": ["email": ["type": "string"]]]),
                    "responses": [
                        "202": ["description": "accepted; devLink only in development without SMTP"]
                            + json(["type": "object", "properties": ["message": ["type": "string"], "devLink": ["type": ["string", "null"]]]]),
                        "400": error("invalid_email"), "429": error("rate_limited, with Retry-After"),
                    ],
                ]
            ],
            "/auth/verify": [
                "get": [
                    "summary": "The link's confirmation page (a button; prefetching scanners do not use the link up)", "security": [JSON](),
                    "parameters": [query("token", "string", "the link's token")],
                    "responses": ["200": ["description": "HTML"], "410": ["description": "HTML: used, expired or unknown"]],
                ],
                "post": [
                    "summary": "Use the link once: sets the sb_session cookie and redirects to /", "security": [JSON](),
                    "responses": ["303": ["description": "signed in"], "410": ["description": "HTML: used, expired or unknown"]],
                ],
            ],
            "/sign-in": ["get": ["summary": "The dashboard's sign-in page", "security": [JSON](), "responses": ["200": ["description": "HTML"]]]],
            "/": [
                "get": [
                    "summary": "The dashboard's app shell (it goes to /sign-in without a session)", "security": [JSON](),
                    "responses": ["200": ["description": "HTML"], "304": ["description": "unchanged (ETag)"]],
                ]
            ],
            "/assets/{file}": [
                "get": [
                    "summary": "The dashboard's CSS and ES modules, with an ETag and the Content-Security-Policy", "security": [JSON](),
                    "parameters": [["name": "file", "in": "path", "required": true, "schema": ["type": "string"]]],
                    "responses": [
                        "200": ["description": "the file"], "304": ["description": "unchanged (ETag)"], "404": ["description": "no such file"],
                    ],
                ]
            ],
            "/api/me": [
                "get": [
                    "summary": "The caller, and the CSRF token cookie sessions send as X-CSRF-Token",
                    "responses": [
                        "200": ["description": "the caller"]
                            + json([
                                "type": "object",
                                "properties": ["user": ref("User"), "apiToken": ["type": "string"], "csrfToken": ["type": ["string", "null"]]],
                            ]),
                        "401": error("not signed in"),
                    ],
                ]
            ],
            "/api/auth/sign-out": ["post": ["summary": "End this session", "responses": ["204": ["description": "signed out"]]]],
            "/api/auth/sign-out-everywhere": [
                "post": [
                    "summary": "End every session of the user and disconnect their sockets", "responses": ["204": ["description": "signed out"]],
                ]
            ],
            "/api/users": [
                "get": [
                    "summary": "The team (admins)",
                    "responses": [
                        "200": ["description": "users"]
                            + json(["type": "object", "properties": ["users": ["type": "array", "items": ref("User")]]]),
                        "403": error("not an admin"),
                    ],
                ],
                "post": [
                    "summary": "Invite a user by mail (admins)",
                    "requestBody": json([
                        "type": "object", "required": ["email"],
                        "properties": [
                            "email": ["type": "string"], "role": ["enum": ["admin", "agent"]], "name": ["type": "string"],
                            "pageIds": ["type": ["array", "null"], "items": ["type": "string"]],
                        ],
                    ]),
                    "responses": [
                        "201": ["description": "invited"] + json(["type": "object", "properties": ["user": ref("User")]]),
                        "409": error("user_exists"),
                    ],
                ],
            ],
            "/api/users/{id}": [
                "patch": [
                    "summary": "Change a user's name, role or Pages (admins)", "parameters": [idParameter],
                    "responses": [
                        "200": ["description": "the user"] + json(["type": "object", "properties": ["user": ref("User")]]),
                        "409": error("last_admin"),
                    ],
                ],
                "delete": [
                    "summary": "Disable a user: sessions revoked and sockets disconnected at once (admins)", "parameters": [idParameter],
                    "responses": ["204": ["description": "disabled"], "404": error("user_not_found"), "409": error("last_admin")],
                ],
            ],
            "/socket.io": [
                "get": [
                    "summary": "Socket.IO (Engine.IO v4 polling and WebSocket upgrade)", "security": [JSON](),
                    "responses": ["200": ["description": "Engine.IO payload"]],
                ],
                "post": ["summary": "Socket.IO polling: client packets", "security": [JSON](), "responses": ["200": text("ok")]],
                "put": ["summary": "Socket.IO polling (alternative method)", "security": [JSON](), "responses": ["200": text("ok")]],
                "options": ["summary": "CORS preflight", "security": [JSON](), "responses": ["204": ["description": "preflight"]]],
            ],
            "/healthz": ["get": ["summary": "The process answers", "security": [JSON](), "responses": ["200": text("ok")]]],
            "/readyz": [
                "get": [
                    "summary": "Database reachable and migrations current (degraded, still 200, while Redis is unreachable)", "security": [JSON](),
                    "responses": ["200": text("ready, or degraded: why"), "503": text("why not")],
                ]
            ],
            "/metrics": ["get": ["summary": "Prometheus metrics", "security": [JSON](), "responses": ["200": text("Prometheus text format")]]],
        ]
    }

    static var schemas: JSON {
        [
            "RedisStatus": [
                "type": "object", "required": ["status", "message", "url"],
                "properties": [
                    "status": ["type": "string", "enum": ["connected", "disconnected", "not_configured"]], "message": ["type": "string"],
                    "url": ["type": ["string", "null"]],
                ],
            ],
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
                    "status": ["enum": ["open", "resolved"], "description": "a new customer message reopens a resolved conversation"],
                ],
            ],
            "SendMessage": [
                "type": "object",
                "properties": [
                    "text": ["type": "string", "maxLength": 2000], "clientId": ["type": "string", "maxLength": 200],
                    "attachment": [
                        "type": "object", "properties": ["type": ["enum": ["image", "audio", "video", "file"]], "url": ["type": "string"]],
                    ],
                    "quickReplies": [
                        "type": "array", "maxItems": 13,
                        "items": [
                            "type": "object",
                            "properties": ["title": ["type": "string"], "payload": ["type": "string"], "imageUrl": ["type": "string"]],
                        ],
                    ],
                ],
            ],
            "User": [
                "type": "object",
                "properties": [
                    "id": ["type": "string"], "email": ["type": "string"], "name": ["type": ["string", "null"]],
                    "role": ["enum": ["admin", "agent"]],
                    "createdAt": ["type": "string"], "disabledAt": ["type": ["string", "null"]],
                    "pageIds": ["type": ["array", "null"], "items": ["type": "string"], "description": "null: every Page"],
                ],
            ],
            "SenderAction": [
                "type": "object", "properties": ["action": ["enum": ["typing_on", "typing_off", "mark_seen"]], "sent": ["type": "boolean"]],
            ],
            "Page": [
                "type": "object",
                "properties": [
                    "id": ["type": "string"], "name": ["type": ["string", "null"]],
                    "state": ["enum": ["active", "reauthorization_required", "rate_limited"]],
                    "stateReason": ["type": ["string", "null"]], "pausedUntil": ["type": ["string", "null"]],
                    "subscribedAt": ["type": ["string", "null"]], "connected": ["type": "boolean"],
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
                    "quickReplies": [
                        "type": "array", "description": "the buttons offered with an outbound message",
                        "items": ["type": "object", "properties": ["title": ["type": "string"], "payload": ["type": "string"]]],
                    ],
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
            "paths": paths + botPaths + workflowPaths + dashboardPaths,
            "components": [
                "schemas": schemas,
                "securitySchemes": [
                    "bearerAuth": ["type": "http", "scheme": "bearer"],
                    "sessionCookie": ["type": "apiKey", "in": "cookie", "name": "sb_session", "description": "plus X-CSRF-Token on changes"],
                ],
            ],
        ]
    }

    /// The document as JSON bytes.
    static let bytes: [UInt8] = Array((try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data("{}".utf8))

    /// `METHOD /path` for every operation, path parameters written `{name}`.
    static var operations: Set<String> {
        var result: Set<String> = []
        for (path, item) in paths + botPaths + workflowPaths + dashboardPaths {
            for method in (item as? JSON)?.keys ?? [:].keys { result.insert("\(method.uppercased()) \(path)") }
        }
        return result
    }
}

func + (lhs: [String: Any], rhs: [String: Any]) -> [String: Any] { lhs.merging(rhs) { _, new in new } }
