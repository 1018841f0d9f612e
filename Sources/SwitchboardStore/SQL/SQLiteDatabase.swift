public import Logging
import Metrics
import NIOCore
public import SwitchboardCore
import Synchronization

/// The embedded database: one SQLite file in WAL mode. Writes go through a single
/// connection in arrival order (SQLite has one writer anyway); reads use their own
/// connection so a long write never stalls the dashboard. Every transaction commits with
/// `synchronous=NORMAL`; a durable one then waits for the group sync of the write-ahead
/// log (``WALGroupSync``), so concurrent durable commits share one `fsync`. A third
/// connection copies the log back into the database file (``SQLiteCheckpointer``), so no
/// commit ever waits for a checkpoint.
public final class SQLiteDatabase: SQLDatabase {
    public let dialect = SQLDialect.sqlite
    private let writer: SQLiteHandle
    private let reader: SQLiteHandle
    private let writeLock = AsyncLock()
    private let readLock = AsyncLock()
    public let path: String
    /// The configured level for durable commits.
    let durability: Durability
    private let groupSync: WALGroupSync
    /// Copies the log back into the database file, off the writer.
    public let checkpointer: SQLiteCheckpointer
    /// How long the checkpointer waits between rounds: under the send benchmark's steady
    /// writes, about the time the writer takes to fill SQLite's default 1,000-page log.
    static let checkpointInterval = Duration.milliseconds(100)

    /// How hard SQLite syncs a commit to disk. `full` keeps acknowledged webhooks across a
    /// power loss; `normal` only across a process crash.
    public enum Durability: String, Sendable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    public init(path: String, durability: Durability = .full, logger: Logger) async throws {
        self.path = path
        self.durability = durability
        let groupSync = WALGroupSync(walPath: path + "-wal")
        self.groupSync = groupSync
        var opened: [SQLiteHandle] = []
        do {
            let writer = try await SQLiteHandle.open(path: path)
            opened.append(writer)
            for pragma in [
                "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=10000",
                "PRAGMA foreign_keys=ON", "PRAGMA wal_autocheckpoint=0",
            ] {
                _ = try await writer.query(pragma, [])
            }
            let reader = try await SQLiteHandle.open(path: path)
            opened.append(reader)
            _ = try await reader.query("PRAGMA busy_timeout=10000", [])
            self.checkpointer = try await SQLiteCheckpointer(path: path, writeLock: writeLock)
            self.writer = writer
            self.reader = reader
        } catch {
            // Each connection, and the group sync, has a thread of its own: end what started.
            for handle in opened { await handle.close() }
            await groupSync.shutdown()
            throw SwitchboardError(.storageUnavailable, "Cannot open the SQLite database at \(path): \(error)")
        }
        checkpointer.start(every: Self.checkpointInterval, logger: logger)
    }

    @discardableResult
    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await DatabaseMetrics.timed("read") {
            try await reader.thread.withPreference {
                try await readLock.withLock { try await body(Executor(connection: reader)) }
            }
        }
    }

    /// `planning` is PostgreSQL's: SQLite's claims name their index.
    @discardableResult
    public func transaction<T: Sendable>(
        durability: CommitDurability,
        planning: QueryPlanning,
        _ body: @Sendable (any SQLExecutor) async throws -> T
    ) async throws -> T {
        try await DatabaseMetrics.timed("transaction") {
            let end = TransactionEnd()
            let (result, commit) = try await writer.thread.withPreference {
                try await writeLock.withLock {
                    let executor = Executor(connection: writer)
                    try await executor.query("BEGIN IMMEDIATE", [])
                    do {
                        let result = try await TransactionEnd.$current.withValue(end) { try await body(executor) }
                        try await executor.query("COMMIT", [])
                        let waitsForDisk = (durability == .durable || end.requiresDurability) && self.durability == .full
                        return (result, waitsForDisk ? groupSync.noteCommit() : nil)
                    } catch {
                        _ = try? await executor.query("ROLLBACK", [])
                        end.run(committed: false)
                        throw error
                    }
                }
            }
            checkpointer.noteCommit()
            // Committed either way; what waits for the end runs once the commit is on disk.
            defer { end.run(committed: true) }
            if let commit { try await groupSync.waitUntilDurable(commit) }
            return result
        }
    }

    /// How often durable commits have synced the write-ahead log: with concurrent commits,
    /// far fewer times than there were commits.
    public var logSyncs: UInt64 { groupSync.syncs }

    /// How many times SQLite recompiled a statement the connections keep compiled. Stays 0:
    /// a statement recompiled whenever its bound values change would cost what keeping it
    /// saves (see `sb_sqlite3_enable_stable_plans`).
    public func statementRecompilations() async throws -> Int {
        try await writer.recompilations() + reader.recompilations()
    }

    @discardableResult
    public func execute(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await transaction { db in try await db.query(sql, binds) }
    }

    /// One sync of the log covers every commit before it (with `synchronous=NORMAL`
    /// configured, nothing is synced, as for durable commits).
    public func syncCommitted() async throws {
        guard durability == .full else { return }
        try await groupSync.waitUntilDurable(groupSync.noteCommit())
    }

    public var concurrentWriters: Int { 1 }

    public func close() async {
        await checkpointer.close()
        await groupSync.shutdown()
        await writer.close()
        await reader.close()
    }

    struct Executor: SQLExecutor {
        let connection: SQLiteHandle
        var dialect: SQLDialect { .sqlite }

        @discardableResult
        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            try await connection.query(sql, binds)
        }
    }
}

/// A statement the database refused, with what kind of refusal it was.
public struct SQLFailure: ConflictFailure, CustomStringConvertible {
    public enum Kind: Sendable { case uniqueViolation, busy, other }
    public var kind: Kind
    public var message: String
    /// A deadlock or serialization failure (PostgreSQL), or a busy database (SQLite).
    public var isConflict: Bool { kind == .busy }

    /// From an SQLite result code (extended codes on): a unique or primary-key conflict,
    /// a busy or locked database, or anything else.
    init(status: Int32, message: String) {
        self.message = message
        switch status {
        case 19, 1555, 2067: kind = .uniqueViolation  // SQLITE_CONSTRAINT, …_PRIMARYKEY, …_UNIQUE
        case _ where status & 0xff == 5 || status & 0xff == 6: kind = .busy  // SQLITE_BUSY, SQLITE_LOCKED
        default: kind = .other
        }
    }

    init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
