extension OpenAPIDocument {
    /// The bot's routes (docs/bot.md), kept apart so the main table stays readable.
    static var botPaths: JSON {
        let bot: JSON = [
            "type": "object",
            "properties": [
                "enabled": ["type": "boolean"],
                "settings": ["type": "object", "description": "BotSettings (docs/bot.md); missing keys keep their defaults"],
                "model": [
                    "type": ["object", "null"],
                    "description": "null: the rule-based answerer; the key is write-only (hasAPIKey says whether one is stored)",
                    "properties": [
                        "baseURL": ["type": "string"], "model": ["type": "string"], "apiKey": ["type": "string", "writeOnly": true],
                        "hasAPIKey": ["type": "boolean", "readOnly": true],
                    ],
                ],
            ],
        ]
        let state: JSON = [
            "type": "object",
            "properties": [
                "conversationId": ["type": "string"], "state": ["type": "string", "enum": ["active", "paused"]],
                "reason": ["type": ["string", "null"]],
            ],
        ]
        let counts: JSON = ["type": "object", "additionalProperties": ["type": "integer"]]
        let stats: JSON = [
            "type": "object",
            "properties": [
                "pageId": ["type": "string"], "since": ["type": "string"],
                "replies": ["type": "integer", "description": "answers queued (notices not counted)"],
                "handovers": counts + ["description": "pauses by reason"],
                "llm": [
                    "type": "object",
                    "properties": [
                        "calls": ["type": "integer"], "p50Ms": ["type": ["integer", "null"]], "p99Ms": ["type": ["integer", "null"]],
                        "promptTokens": ["type": "integer"], "completionTokens": ["type": "integer"],
                        "failures": counts + ["description": "failed calls by code (llm.timeout, …)"],
                    ],
                ],
            ],
        ]
        return [
            "/api/pages/{id}/bot": [
                "get": [
                    "summary": "The Page's bot settings (admins)", "security": authenticated, "parameters": [idParameter],
                    "responses": [
                        "200": ["description": "settings"] + json(["type": "object", "properties": ["bot": bot]]),
                        "403": error("not an admin"), "404": error("unknown Page"), "401": error("no or bad token"),
                    ],
                ],
                "put": [
                    "summary": "Replace the Page's bot settings (admins); an absent apiKey keeps the stored one", "security": authenticated,
                    "parameters": [idParameter], "requestBody": ["required": true] + json(bot),
                    "responses": [
                        "200": ["description": "saved"] + json(["type": "object", "properties": ["bot": bot]]),
                        "400": error("bot_settings_invalid"), "403": error("not an admin"), "404": error("unknown Page"),
                        "401": error("no or bad token"),
                    ],
                ],
            ],
            "/api/pages/{id}/bot/stats": [
                "get": [
                    "summary": "The Page's bot over a period, from stored rows (agents who may see the Page)", "security": authenticated,
                    "parameters": [idParameter, query("since", "string", "ISO-8601 start; default: 24 hours ago")],
                    "responses": [
                        "200": ["description": "the figures"] + json(stats), "400": error("invalid_argument: since is not ISO-8601"),
                        "404": error("unknown Page"), "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/conversations/{id}/bot": [
                "post": [
                    "summary": "Pause or resume the bot for one conversation", "security": authenticated, "parameters": [idParameter],
                    "requestBody": ["required": true]
                        + json([
                            "type": "object", "properties": ["action": ["type": "string", "enum": ["pause", "resume"]]], "required": ["action"],
                        ]),
                    "responses": [
                        "200": ["description": "the bot's state now"] + json(["type": "object", "properties": ["bot": state]]),
                        "400": error("invalid_action"), "404": error("unknown conversation"), "409": error("bot_disabled: the Page's bot is off"),
                        "401": error("no or bad token"),
                    ],
                ]
            ],
        ]
    }
}
