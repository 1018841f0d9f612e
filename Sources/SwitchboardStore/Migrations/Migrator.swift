import SwitchboardCore

/// Applies the schema history. Idempotent: each step runs once, in its own transaction,
/// recorded in `schema_migrations`; running it again finds nothing to do.
public struct Migrator: Sendable {
    public let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// The newest schema version this binary knows.
    public static var latestVersion: Int { Schema.latestVersion }

    /// The version the database is at (0 when it has never been migrated).
    public func currentVersion() async throws -> Int {
        try await database.transaction { db in
            try await db.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            )
            return Int(try await db.first("SELECT MAX(version) AS v FROM schema_migrations")?.int("v") ?? 0)
        }
    }

    /// Runs every step the database lacks, up to `target` (tests stop at an older version to
    /// check that a step carries existing data forward); returns the versions applied.
    @discardableResult
    public func migrate(now: Int64, upTo target: Int = Migrator.latestVersion) async throws -> [Int] {
        let current = try await currentVersion()
        guard current <= Schema.latestVersion else {
            throw SwitchboardError(
                .migrationsAhead,
                "The database schema is at version \(current), newer than this binary's \(Schema.latestVersion). Upgrade switchboard."
            )
        }
        var applied: [Int] = []
        for migration in Schema.migrations where migration.version > current && migration.version <= target {
            try await database.transaction { db in
                if db.dialect == .postgres {
                    // Serialise concurrent `migrate` runs of several nodes.
                    try await db.query("SELECT pg_advisory_xact_lock(7201944)")
                }
                // Another process may have migrated while we waited for the lock.
                let done = try await db.first("SELECT version FROM schema_migrations WHERE version = $1", .int(Int64(migration.version)))
                guard done == nil else { return }
                for statement in migration.statements + (db.dialect == .postgres ? migration.postgresStatements : migration.sqliteStatements) {
                    try await db.query(statement)
                }
                try await db.query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    .int(Int64(migration.version)),
                    .text(migration.name),
                    .int(now)
                )
            }
            applied.append(migration.version)
        }
        return applied
    }

    /// Fails with a message telling the operator to run `switchboard migrate` when the
    /// database is behind this binary (PostgreSQL is never migrated implicitly).
    public func requireCurrent() async throws {
        let current = try await currentVersion()
        if current < Schema.latestVersion {
            throw SwitchboardError(
                .migrationsPending,
                "The database schema is at version \(current) but this binary needs \(Schema.latestVersion). Run `switchboard migrate` first."
            )
        }
        if current > Schema.latestVersion {
            throw SwitchboardError(
                .migrationsAhead,
                "The database schema is at version \(current), newer than this binary's \(Schema.latestVersion). Upgrade switchboard."
            )
        }
    }
}

extension Migrator {
    /// The embedded SQLite database migrates itself; PostgreSQL must already be current.
    public func requireCurrentOrMigrateEmbedded(now: Int64) async throws {
        if database.dialect == .sqlite {
            try await migrate(now: now)
        } else {
            try await requireCurrent()
        }
    }
}
