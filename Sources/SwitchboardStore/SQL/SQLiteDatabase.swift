public import Logging
import Metrics
import NIOCore
import SQLiteNIO
import SwitchboardCore
import Synchronization

/// The embedded database: one SQLite file in WAL mode. Writes go through a single
/// connection in arrival order (SQLite has one writer anyway); reads use their own
/// connection so a long write never stalls the dashboard. Every transaction commits with
/// `synchronous=NORMAL`; a durable one then waits for the group sync of the write-ahead
/// log (``WALGroupSync``), so concurrent durable commits share one `fsync`.
public final class SQLiteDatabase: SQLDatabase {
    public let dialect = SQLDialect.sqlite
    private let writer: SQLiteConnection
    private let reader: SQLiteConnection
    private let writeLock = AsyncLock()
    private let readLock = AsyncLock()
    public let path: String
    /// The configured level for durable commits.
    let durability: Durability
    private let groupSync: WALGroupSync

    /// How hard SQLite syncs a commit to disk. `full` keeps acknowledged webhooks across a
    /// power loss; `normal` only across a process crash.
    public enum Durability: String, Sendable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    public init(path: String, durability: Durability = .full, logger: Logger) async throws {
        self.path = path
        self.durability = durability
        self.groupSync = WALGroupSync(walPath: path + "-wal")
        do {
            writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            for pragma in [
                "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=10000",
                "PRAGMA foreign_keys=ON",
            ] {
                _ = try await writer.query(pragma, [])
            }
            reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await reader.query("PRAGMA busy_timeout=10000", [])
        } catch {
            throw SwitchboardError(.storageUnavailable, "Cannot open the SQLite database at \(path): \(error)")
        }
    }

    @discardableResult
    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await DatabaseMetrics.timed("read") {
            try await readLock.withLock { try await body(Executor(connection: reader)) }
        }
    }

    @discardableResult
    public func transaction<T: Sendable>(
        durability: CommitDurability,
        _ body: @Sendable (any SQLExecutor) async throws -> T
    ) async throws -> T {
        try await DatabaseMetrics.timed("transaction") {
            let waitsForDisk = durability == .durable && self.durability == .full
            let (result, commit) = try await writeLock.withLock {
                let executor = Executor(connection: writer)
                try await executor.query("BEGIN IMMEDIATE", [])
                do {
                    let result = try await body(executor)
                    try await executor.query("COMMIT", [])
                    return (result, waitsForDisk ? groupSync.noteCommit() : nil)
                } catch {
                    _ = try? await executor.query("ROLLBACK", [])
                    throw error
                }
            }
            if let commit { try await groupSync.waitUntilDurable(commit) }
            return result
        }
    }

    /// How often durable commits have synced the write-ahead log: with concurrent commits,
    /// far fewer times than there were commits.
    public var logSyncs: UInt64 { groupSync.syncs }

    @discardableResult
    public func execute(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await transaction { db in try await db.query(sql, binds) }
    }

    public var concurrentWriters: Int { 1 }

    public func close() async {
        try? await writer.close()
        try? await reader.close()
    }

    struct Executor: SQLExecutor {
        let connection: SQLiteConnection
        var dialect: SQLDialect { .sqlite }

        @discardableResult
        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            let rendered = dialect.prepare(sql)
            do {
                let rows = try await connection.query(rendered, binds.map(Self.sqliteData))
                return rows.map { row in
                    SQLRow(columns: row.columns.map(\.name), values: row.columns.map { Self.value($0.data) })
                }
            } catch let error as SQLiteError {
                throw SQLFailure(sqlite: error)
            }
        }

        static func sqliteData(_ value: SQLValue) -> SQLiteData {
            switch value {
            case .null: .null
            case .int(let v): .integer(Int(v))
            case .double(let d): .float(d)
            case .text(let s): .text(s)
            case .bytes(let b): .blob(ByteBuffer(bytes: b))
            }
        }

        static func value(_ data: SQLiteData) -> SQLValue {
            switch data {
            case .null: .null
            case .integer(let v): .int(Int64(v))
            case .float(let d): .double(d)
            case .text(let s): .text(s)
            case .blob(let buffer): .bytes(Array(buffer.readableBytesView))
            }
        }
    }
}

/// A statement the database refused, with what kind of refusal it was.
public struct SQLFailure: Error, CustomStringConvertible {
    public enum Kind: Sendable { case uniqueViolation, busy, other }
    public var kind: Kind
    public var message: String

    init(sqlite error: SQLiteError) {
        message = error.message
        switch error.reason {
        case .constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed: kind = .uniqueViolation
        case .busy, .locked, .busyTimeout: kind = .busy
        default: kind = .other
        }
    }

    init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
