import Foundation
public import SwitchboardCore

extension SQLStore {
    /// Connects or updates a Page. A new token clears "reauthorization required".
    public func savePage(_ page: PageRecord) async throws {
        let now = self.now
        try await database.transaction { db in
            try await db.query(
                """
                INSERT INTO pages (id, name, access_token, app_secret, state, state_reason, paused_until, subscribed_at, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
                ON CONFLICT (id) DO UPDATE SET name = COALESCE(excluded.name, pages.name),
                    access_token = COALESCE(excluded.access_token, pages.access_token),
                    app_secret = COALESCE(excluded.app_secret, pages.app_secret),
                    state = excluded.state, state_reason = excluded.state_reason, paused_until = excluded.paused_until,
                    subscribed_at = COALESCE(excluded.subscribed_at, pages.subscribed_at), updated_at = excluded.updated_at
                """,
                .text(page.id),
                SQLValue(page.name),
                page.sealedAccessToken.map(SQLValue.bytes) ?? .null,
                page.sealedAppSecret.map(SQLValue.bytes) ?? .null,
                .text(page.state.rawValue),
                SQLValue(page.stateReason),
                SQLValue(page.pausedUntil?.millisecondsSince1970),
                SQLValue(page.subscribedAt?.millisecondsSince1970),
                .int(now)
            )
        }
    }

    public func page(id: String) async throws -> PageRecord? {
        try await database.read { db in
            try await db.first("SELECT * FROM pages WHERE id = $1", .text(id)).map(Self.pageRecord)
        }
    }

    public func pages() async throws -> [PageRecord] {
        try await database.read { db in try await db.query("SELECT * FROM pages ORDER BY id").map(Self.pageRecord) }
    }

    static func pageRecord(_ row: SQLRow) -> PageRecord { pageRecord(row, prefix: "") }

    /// The Page in `row`, its columns named with `prefix` (``pageColumns(_:prefix:)``, for a
    /// join whose other tables have an `id` or a `name` too).
    static func pageRecord(_ row: SQLRow, prefix: String) -> PageRecord {
        PageRecord(
            id: row.string(prefix + "id") ?? "",
            name: row.string(prefix + "name"),
            sealedAccessToken: row[prefix + "access_token"].bytes,
            sealedAppSecret: row[prefix + "app_secret"].bytes,
            state: PageRecord.State(rawValue: row.string(prefix + "state") ?? "") ?? .active,
            stateReason: row.string(prefix + "state_reason"),
            pausedUntil: row.int(prefix + "paused_until").map { Date(millisecondsSince1970: $0) },
            subscribedAt: row.int(prefix + "subscribed_at").map { Date(millisecondsSince1970: $0) }
        )
    }

    /// The select list of table alias `alias`'s Page columns as `prefix` + name.
    static func pageColumns(_ alias: String, prefix: String) -> String {
        ["id", "name", "access_token", "app_secret", "state", "state_reason", "paused_until", "subscribed_at"]
            .map { "\(alias).\($0) AS \(prefix)\($0)" }.joined(separator: ", ")
    }

    // MARK: Contacts

    /// The Page and PSID of a contact, for the profile fetch.
    public func contactKey(id: Int64) async throws -> (pageId: String, psid: String)? {
        try await database.read { db in
            try await db.first("SELECT page_id, psid FROM contacts WHERE id = $1", .int(id)).map {
                ($0.string("page_id") ?? "", $0.string("psid") ?? "")
            }
        }
    }

    /// Stores a fetched profile (or why it could not be fetched) and records a
    /// `contact:updated` event for the conversations that show it.
    public func updateContactProfile(
        id: Int64,
        name: String?,
        firstName: String?,
        lastName: String?,
        avatarURL: String?,
        error: String?
    ) async throws -> [RealtimeEvent] {
        let now = self.now
        return try await database.transaction { db in
            var events: [RealtimeEvent] = []
            if error == nil {
                // Read before the update, which comes last: the contact's row lock, which
                // the inbound apply may need too (a late first message, a profile request),
                // is then held only until the commit, not across these reads and inserts.
                let log = RealtimeLog(db: db, now: now)
                // By (page, contact), the conversations' unique key: contact_id alone has no index.
                let conversations = try await db.query(
                    "SELECT id FROM conversations WHERE page_id = (SELECT page_id FROM contacts WHERE id = $1) AND contact_id = $1",
                    .int(id)
                )
                for row in conversations {
                    guard var conversation = try await ConversationRows.load(id: row.int("id") ?? 0, in: db, now: now) else { continue }
                    conversation.contact.name = name ?? conversation.contact.name
                    conversation.contact.avatarUrl = avatarURL ?? conversation.contact.avatarUrl
                    events.append(
                        try await log.record(
                            "contact:updated",
                            conversationId: conversation.id,
                            ContactUpdatedPayload(conversationId: conversation.id, contact: conversation.contact)
                        )
                    )
                }
            }
            try await db.query(
                """
                UPDATE contacts SET name = COALESCE($2, name), first_name = COALESCE($3, first_name),
                    last_name = COALESCE($4, last_name), avatar_url = COALESCE($5, avatar_url),
                    profile_fetched_at = COALESCE($6, profile_fetched_at), profile_error = $7
                WHERE id = $1
                """,
                .int(id),
                SQLValue(name),
                SQLValue(firstName),
                SQLValue(lastName),
                SQLValue(avatarURL),
                SQLValue(error == nil ? now : nil),
                SQLValue(error)
            )
            return events
        }
    }

    // MARK: API tokens

    /// Stores a new API token by its hash (the token itself is shown once, never stored).
    public func createAPIToken(name: String, tokenHash: String) async throws -> Int64 {
        let now = self.now
        return try await database.transaction { db in
            try await db.first(
                "INSERT INTO api_tokens (name, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
                .text(name),
                .text(tokenHash),
                .int(now)
            )?.int("id") ?? 0
        }
    }

    /// The token's name when the hash belongs to a live token.
    public func apiTokenName(hash: String) async throws -> String? {
        try await database.read { db in
            try await db.first("SELECT name FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL", .text(hash))?.string("name")
        }
    }
}
