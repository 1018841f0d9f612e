extension OpenAPIDocument {
    /// The routes the dashboard's screens added (docs/dashboard.md): retry, stats, the
    /// webhook test and the team directory.
    static var dashboardPaths: JSON {
        let check: JSON = [
            "type": "object",
            "properties": [
                "name": ["enum": ["database", "redis", "webhook", "facebook_token", "facebook_subscription"]], "ok": ["type": "boolean"],
                "detail": ["type": "string"],
            ],
        ]
        let count: JSON = ["type": "integer"]
        return [
            "/api/conversations/{id}/messages/{messageId}/retry": [
                "post": [
                    "summary":
                        "Send a failed outbound message again: a new attempt of the same message (same text, at the end of the conversation's queue); a message already queued again is returned as it is",
                    "security": authenticated,
                    "parameters": [idParameter, ["name": "messageId", "in": "path", "required": true, "schema": ["type": "string"]]],
                    "responses": [
                        "202": ["description": "queued again (or already queued)"]
                            + json(["type": "object", "properties": ["message": ref("Message")]]),
                        "404": error("conversation_not_found, message_not_found"),
                        "409": error("message_not_failed: it was sent"),
                        "422": error("window_closed, window_never_opened, window_automation_after_24h, contact_unreachable"),
                        "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/stats": [
                "get": [
                    "summary": "The Status screen's numbers for the caller's Pages; ETag, and 304 for If-None-Match with the same one",
                    "security": authenticated,
                    "parameters": [
                        query("since", "string", "ISO-8601, within 31 days; messages and first responses count from it (default: midnight UTC)")
                    ],
                    "responses": [
                        "200": ["description": "the numbers"]
                            + json([
                                "type": "object",
                                "properties": [
                                    "since": ["type": "string"],
                                    "conversations": [
                                        "type": "object",
                                        "properties": [
                                            "total": count, "open": count, "active": count, "waiting": count, "unread": count, "needsHuman": count,
                                            "unassigned": count,
                                        ],
                                    ],
                                    "messages": ["type": "object", "properties": ["in": count, "out": count, "failed": count]],
                                    "firstResponse": [
                                        "type": "object",
                                        "properties": [
                                            "medianSeconds": ["type": ["number", "null"]], "count": count,
                                            "humanMedianSeconds": ["type": ["number", "null"]], "humanCount": count,
                                        ],
                                    ],
                                    "hourly": [
                                        "type": "array",
                                        "items": ["type": "object", "properties": ["at": ["type": "string"], "in": count, "out": count]],
                                    ],
                                    "agents": ["type": "object", "properties": ["online": count, "away": count]], "sockets": count,
                                    "queue": ["type": ["object", "null"]], "redis": ["type": "object"], "database": ["type": "object"],
                                ],
                            ]),
                        "304": ["description": "unchanged since the ETag given in If-None-Match"],
                        "400": error("invalid_argument: since"), "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/pages/{id}/webhook-test": [
                "post": [
                    "summary":
                        "Test Webhook (admins): the database, Redis, a signed test event to our public URL seen applied and removed, the Page token (/me) and our app's subscription; the dashboard asks the same over its socket (webhook:test {pageId})",
                    "security": authenticated, "parameters": [idParameter],
                    "responses": [
                        "200": ["description": "one line per check; ok is true when all pass"]
                            + json([
                                "type": "object",
                                "properties": [
                                    "ok": ["type": "boolean"], "summary": ["type": "string"], "checks": ["type": "array", "items": check],
                                ],
                            ]),
                        "403": error("not an admin"), "404": error("unknown Page"), "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/teammates": [
                "get": [
                    "summary": "Active teammates (any signed-in user): whom a conversation can be assigned to", "security": authenticated,
                    "responses": [
                        "200": ["description": "teammates"]
                            + json([
                                "type": "object",
                                "properties": [
                                    "teammates": [
                                        "type": "array",
                                        "items": [
                                            "type": "object",
                                            "properties": [
                                                "id": ["type": "string"], "name": ["type": "string"], "role": ["enum": ["admin", "agent"]],
                                            ],
                                        ],
                                    ]
                                ],
                            ]),
                        "401": error("no or bad token"),
                    ],
                ]
            ],
        ]
    }
}
