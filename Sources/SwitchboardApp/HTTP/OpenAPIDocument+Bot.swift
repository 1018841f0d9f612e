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
