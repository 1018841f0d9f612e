extension OpenAPIDocument {
    /// Assignment and resolution (docs/accounts-realtime.md).
    static var workflowPaths: JSON {
        let conversation = json(["type": "object", "properties": ["conversation": ref("Conversation")]])
        func statusChange(_ summary: String) -> JSON {
            [
                "post": [
                    "summary": summary, "security": authenticated, "parameters": [idParameter],
                    "responses": [
                        "200": ["description": "the conversation now (unchanged when it already was so)"] + conversation,
                        "404": error("unknown conversation"), "401": error("no or bad token"),
                    ],
                ]
            ]
        }
        return [
            "/api/conversations/{id}/assignee": [
                "put": [
                    "summary": "Assign the conversation (agents: to themselves or nobody; admins: anyone active who can see the Page)",
                    "security": authenticated, "parameters": [idParameter],
                    "requestBody": ["required": true]
                        + json([
                            "type": "object", "properties": ["assigneeId": ["type": ["string", "null"], "description": "a user id; null: nobody"]],
                            "required": ["assigneeId"],
                        ]),
                    "responses": [
                        "200": ["description": "the conversation now; assigning a person pauses its bot (agent_took_over)"] + conversation,
                        "400": error("no assigneeId"), "403": error("forbidden: an agent assigning someone else"),
                        "404": error("unknown conversation"),
                        "422": error("assignee_invalid: unknown or disabled user, or one who cannot see the Page"),
                        "401": error("no or bad token"),
                    ],
                ]
            ],
            "/api/conversations/{id}/resolve": statusChange("Mark the conversation resolved (the bot's count of answers starts again)"),
            "/api/conversations/{id}/reopen": statusChange("Mark the conversation open again"),
        ]
    }
}
