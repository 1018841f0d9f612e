public import Foundation
public import SwitchboardCore

/// Users, sign-in links, sessions and the audit log (docs/accounts-realtime.md). Secrets
/// are stored only as SHA-256 hashes; the caller hashes.
extension SQLStore {
    // MARK: Users

    /// Adds a user; `nil` when the address already has an account.
    public func createUser(email: String, name: String?, role: UserRole, pageIds: [String]? = nil) async throws -> User? {
        let now = self.now
        return try await database.transaction { db in
            guard try await db.first("SELECT id FROM users WHERE email = $1", .text(email)) == nil else { return nil }
            let row = try await db.first(
                "INSERT INTO users (email, name, role, created_at, page_ids) VALUES ($1, $2, $3, $4, $5) RETURNING *",
                .text(email),
                SQLValue(name),
                .text(role.rawValue),
                .int(now),
                SQLValue(try pageIds.map { try JSONText.encode($0) })
            )
            return row.map(Self.user)
        }
    }

    /// Makes `email` the first admin when there is no user at all (development sign-in);
    /// `nil` when someone already exists.
    public func createFirstAdmin(email: String) async throws -> User? {
        let now = self.now
        return try await database.transaction { db in
            try await db.first(
                """
                INSERT INTO users (email, role, created_at) SELECT $1, 'admin', $2
                WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING *
                """,
                .text(email),
                .int(now)
            ).map(Self.user)
        }
    }

    public func user(id: String) async throws -> User? {
        guard let id = Int64(id) else { return nil }
        return try await database.read { db in try await db.first("SELECT * FROM users WHERE id = $1", .int(id)).map(Self.user) }
    }

    public func user(email: String) async throws -> User? {
        try await database.read { db in try await db.first("SELECT * FROM users WHERE email = $1", .text(email)).map(Self.user) }
    }

    /// Every user, enabled first, then by address.
    public func users() async throws -> [User] {
        try await database.read { db in
            try await db.query("SELECT * FROM users ORDER BY CASE WHEN disabled_at IS NULL THEN 0 ELSE 1 END, email").map(Self.user)
        }
    }

    /// Changes what is given (`pageIds: .some(nil)` means every Page again).
    public func updateUser(id: String, name: String?? = nil, role: UserRole? = nil, pageIds: [String]?? = nil) async throws -> User? {
        guard let id = Int64(id) else { return nil }
        return try await database.transaction { db in
            guard var row = try await db.first("SELECT * FROM users WHERE id = $1", .int(id)).map(Self.user) else { return nil }
            if let name { row.name = name }
            if let role { row.role = role }
            if let pageIds { row.pageIds = pageIds }
            try await db.query(
                "UPDATE users SET name = $2, role = $3, page_ids = $4 WHERE id = $1",
                .int(id),
                SQLValue(row.name),
                .text(row.role.rawValue),
                SQLValue(try row.pageIds.map { try JSONText.encode($0) })
            )
            return row
        }
    }

    /// Disables a user and revokes every session of theirs in the same transaction;
    /// `false` when there is no such user.
    public func disableUser(id: String) async throws -> Bool {
        guard let id = Int64(id) else { return false }
        let now = self.now
        return try await database.transaction { db in
            let updated = try await db.first(
                "UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1 RETURNING id",
                .int(id),
                .int(now)
            )
            try await db.query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", .int(id), .int(now))
            return updated != nil
        }
    }

    /// Enabled admins, so the last one cannot be demoted or disabled by mistake.
    public func activeAdminCount() async throws -> Int {
        try await database.read { db in
            Int(try await db.first("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL")?.int("n") ?? 0)
        }
    }

    static func user(_ row: SQLRow) -> User {
        User(
            id: row.string("id") ?? "",
            email: row.string("email") ?? "",
            name: row.string("name"),
            role: UserRole(rawValue: row.string("role") ?? "") ?? .agent,
            createdAt: Date(millisecondsSince1970: row.int("created_at") ?? 0).iso8601,
            disabledAt: row.int("disabled_at").map { Date(millisecondsSince1970: $0).iso8601 },
            pageIds: JSONText.decode([String].self, row.string("page_ids"))
        )
    }

    // MARK: Sign-in links

    /// Records a sign-in request (every request, known address or not, so the rate limits
    /// cannot tell them apart). Rows for unknown addresses carry a hash nobody holds.
    public func recordSignInRequest(email: String, tokenHash: String, ip: String?, expiresAt: Date) async throws {
        let now = self.now
        try await database.transaction { db in
            try await db.query(
                "INSERT INTO sign_in_tokens (email, token_hash, created_at, expires_at, requested_ip) VALUES ($1, $2, $3, $4, $5)",
                .text(email),
                .text(tokenHash),
                .int(now),
                .int(expiresAt.millisecondsSince1970),
                SQLValue(ip)
            )
        }
    }

    /// The requests made since `since` for the address and from the IP, oldest first.
    public func signInRequests(email: String, ip: String?, since: Date) async throws -> SignInRequestHistory {
        let since = since.millisecondsSince1970
        return try await database.read { db in
            let byEmail = try await db.query(
                "SELECT created_at FROM sign_in_tokens WHERE email = $1 AND created_at > $2 ORDER BY created_at",
                .text(email),
                .int(since)
            )
            var byIP: [SQLRow] = []
            if let ip {
                byIP = try await db.query(
                    "SELECT created_at FROM sign_in_tokens WHERE requested_ip = $1 AND created_at > $2 ORDER BY created_at",
                    .text(ip),
                    .int(since)
                )
            }
            func dates(_ rows: [SQLRow]) -> [Date] { rows.compactMap { $0.int("created_at").map { Date(millisecondsSince1970: $0) } } }
            return SignInRequestHistory(byEmail: dates(byEmail), byIP: dates(byIP))
        }
    }

    /// The enabled user a sign-in link is for, without using it up (the confirmation
    /// page); `nil` when it is unknown, used or expired.
    public func signInLinkUser(tokenHash: String) async throws -> User? {
        let now = self.now
        return try await database.read { db in
            try await db.first(
                """
                SELECT u.* FROM sign_in_tokens t JOIN users u ON u.email = t.email
                WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > $2 AND u.disabled_at IS NULL
                """,
                .text(tokenHash),
                .int(now)
            ).map(Self.user)
        }
    }

    /// Uses a sign-in link up and opens a session in one transaction: exactly one of two
    /// concurrent uses wins. `nil` when the link is unknown, used, expired, or its user
    /// is disabled.
    public func redeemSignInLink(
        tokenHash: String,
        sessionTokenHash: String,
        sessionExpiresAt: Date,
        userAgent: String?,
        ip: String?
    ) async throws -> SessionRecord? {
        let now = self.now
        return try await database.transaction { db in
            guard
                let email = try await db.first(
                    "UPDATE sign_in_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING email",
                    .text(tokenHash),
                    .int(now)
                )?.string("email"),
                let user = try await db.first("SELECT * FROM users WHERE email = $1 AND disabled_at IS NULL", .text(email)).map(Self.user),
                let userId = Int64(user.id)
            else { return nil }
            let id = try await db.first(
                """
                INSERT INTO sessions (user_id, token_hash, created_at, expires_at, last_seen_at, user_agent, ip)
                VALUES ($1, $2, $3, $4, $3, $5, $6) RETURNING id
                """,
                .int(userId),
                .text(sessionTokenHash),
                .int(now),
                .int(sessionExpiresAt.millisecondsSince1970),
                SQLValue(userAgent.map { String($0.prefix(300)) }),
                SQLValue(ip)
            )?.int("id")
            return id.map { SessionRecord(id: $0, user: user, expiresAt: sessionExpiresAt) }
        }
    }

    // MARK: Sessions

    /// The live session with this token hash and its enabled user. Marks it seen at most
    /// once a minute, so reading a session rarely writes.
    public func session(tokenHash: String) async throws -> SessionRecord? {
        let now = self.now
        let found = try await database.read { db in
            try await db.first(
                """
                SELECT s.id AS session_id, s.expires_at AS session_expires_at, s.last_seen_at AS session_seen_at, u.*
                FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.disabled_at IS NULL
                """,
                .text(tokenHash),
                .int(now)
            )
        }
        guard let found, let id = found.int("session_id"), let expires = found.int("session_expires_at") else { return nil }
        if (found.int("session_seen_at") ?? 0) < now - 60_000 {
            try await database.transaction(durability: .relaxed) { db in
                try await db.query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1", .int(id), .int(now))
            }
        }
        return SessionRecord(id: id, user: Self.user(found), expiresAt: Date(millisecondsSince1970: expires))
    }

    /// Ends one session.
    public func revokeSession(id: Int64) async throws {
        let now = self.now
        try await database.transaction { db in
            try await db.query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", .int(id), .int(now))
        }
    }

    /// Ends every session of a user; returns how many were live.
    @discardableResult
    public func revokeSessions(userId: String) async throws -> Int {
        guard let userId = Int64(userId) else { return 0 }
        let now = self.now
        return try await database.transaction { db in
            try await db.query(
                "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id",
                .int(userId),
                .int(now)
            ).count
        }
    }

    // MARK: Audit and housekeeping

    /// Records who did what (sign-ins, invitations, role changes, revocations).
    public func audit(actor: String, action: String, subject: String?, detail: String? = nil) async throws {
        let now = self.now
        try await database.transaction(durability: .relaxed) { db in
            try await Self.audit(in: db, at: now, actor: actor, action: action, subject: subject, detail: detail)
        }
    }

    /// An audit row inside the caller's transaction, so it commits with the change it records.
    static func audit(in db: any SQLExecutor, at now: Int64, actor: String, action: String, subject: String?, detail: String?) async throws {
        try await db.query(
            "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
            .int(now),
            .text(actor),
            .text(action),
            SQLValue(subject),
            SQLValue(detail)
        )
    }

    /// The newest audit entries, newest first.
    public func auditLog(limit: Int) async throws -> [(at: Date, actor: String, action: String, subject: String?, detail: String?)] {
        try await database.read { db in
            try await db.query("SELECT * FROM audit_log ORDER BY id DESC LIMIT $1", .int(Int64(limit))).map {
                (
                    Date(millisecondsSince1970: $0.int("at") ?? 0), $0.string("actor") ?? "", $0.string("action") ?? "",
                    $0.string("subject"), $0.string("detail")
                )
            }
        }
    }

    /// Deletes what can no longer be used: sign-in requests and sessions expired for a
    /// day, and realtime events older than `eventsBefore`. Returns the rows removed.
    @discardableResult
    public func pruneExpired(eventsBefore: Date) async throws -> Int {
        let dayAgo = now - 86_400_000
        return try await database.transaction(durability: .relaxed) { db in
            let links = try await db.query("DELETE FROM sign_in_tokens WHERE expires_at < $1 RETURNING id", .int(dayAgo)).count
            let sessions = try await db.query(
                "DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1 RETURNING id",
                .int(dayAgo)
            ).count
            let events = try await db.query(
                "DELETE FROM realtime_events WHERE at < $1 RETURNING id",
                .int(eventsBefore.millisecondsSince1970)
            ).count
            return links + sessions + events
        }
    }

    /// The oldest realtime event still kept, or `nil` when the log is empty.
    public func oldestRealtimeEventId() async throws -> Int64? {
        try await database.read { db in try await db.first("SELECT MIN(id) AS id FROM realtime_events")?.int("id") }
    }
}
