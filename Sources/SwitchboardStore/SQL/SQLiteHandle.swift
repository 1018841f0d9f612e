import CSQLiteSupport
import VaporCSQLite

/// One SQLite connection that keeps its compiled statements.
///
/// SQLiteNIO compiles and frees a statement for every query. Under the bot benchmark that
/// compilation (`sqlite3_prepare_v3`) was 22 % of serve's CPU: Switchboard runs the same
/// few hundred statements all day. This binds the SQLite that SQLiteNIO builds (its C
/// module) directly and keeps each statement compiled after its first use.
///
/// Not safe for concurrent use: ``SQLiteDatabase`` runs one query at a time on each
/// handle (its read and write locks), and each query runs on the handle's own thread.
final class SQLiteHandle: @unchecked Sendable {
    private var connection: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    /// Statements kept compiled; beyond this, rarer ones (built per call) are freed after use.
    private static let keptStatements = 512
    /// Where every call on this connection runs.
    let thread: SQLiteThread

    private init(connection: OpaquePointer?, thread: SQLiteThread) {
        self.connection = connection
        self.thread = thread
    }

    /// SQLite's own one-time set-up, before the first connection opens (it is not
    /// thread-safe to let concurrent opens race to do it).
    private static let initialized: Bool = { sqlite_nio_sqlite3_initialize() == SQLITE_OK }()

    /// Opens (creating if needed) the database file at `path`.
    static func open(path: String) async throws -> SQLiteHandle {
        let thread = SQLiteThread()
        do {
            return try await thread.run { try open(path: path, on: thread) }
        } catch {
            await thread.shutdown()
            throw error
        }
    }

    private static func open(path: String, on thread: SQLiteThread) throws -> SQLiteHandle {
        _ = initialized
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE
        let status = sqlite_nio_sqlite3_open_v2(path, &connection, flags, nil)
        guard status == SQLITE_OK else {
            let message = connection.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "status \(status)"
            sqlite_nio_sqlite3_close_v2(connection)
            throw SQLFailure(status: status, message: "cannot open \(path): \(message)")
        }
        // Plans that never depend on bound values, so a kept statement is never recompiled.
        let stable = sb_sqlite3_enable_stable_plans(UnsafeMutableRawPointer(connection))
        guard stable == SQLITE_OK else {
            sqlite_nio_sqlite3_close_v2(connection)
            throw SQLFailure(status: stable, message: "cannot turn on stable query plans for \(path)")
        }
        return SQLiteHandle(connection: connection, thread: thread)
    }

    /// Runs one statement, written as Switchboard writes them (``SQLDialect/prepare(_:)``
    /// renders it for SQLite when it is first compiled), and returns every row.
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await thread.run { try self.run(sql, binds) }
    }

    /// How many times SQLite recompiled a kept statement (a changed schema, or a plan built
    /// from a bound value). Stays 0 in normal running; tests check it does.
    func recompilations() async throws -> Int {
        try await thread.run {
            self.statements.values.reduce(0) { $0 + Int(sqlite_nio_sqlite3_stmt_status($1, SQLITE_STMTSTATUS_REPREPARE, 0)) }
        }
    }

    /// Frees the statements and closes the connection.
    func close() async {
        _ = try? await thread.run {
            for statement in self.statements.values { sqlite_nio_sqlite3_finalize(statement) }
            self.statements = [:]
            sqlite_nio_sqlite3_close_v2(self.connection)
            self.connection = nil
        }
        await thread.shutdown()
    }

    private func run(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        guard let connection else { throw SQLFailure(status: SQLITE_MISUSE, message: "the connection is closed") }
        let (statement, kept) = try compiled(sql, on: connection)
        defer {
            // Done with it: reset at once, so it holds no read snapshot or lock meanwhile.
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
            if !kept { sqlite_nio_sqlite3_finalize(statement) }
        }
        for (index, value) in binds.enumerated() {
            try check(bind(value, at: Int32(index + 1), of: statement), on: connection)
        }
        let columnCount = sqlite_nio_sqlite3_column_count(statement)
        let columns = (0..<columnCount).map { String(cString: sqlite_nio_sqlite3_column_name(statement, $0)) }
        var rows: [SQLRow] = []
        while true {
            let status = sqlite_nio_sqlite3_step(statement)
            if status == SQLITE_DONE { return rows }
            guard status == SQLITE_ROW else { throw failure(status, on: connection) }
            rows.append(SQLRow(columns: columns, values: (0..<columnCount).map { value(of: statement, at: $0) }))
        }
    }

    private func compiled(_ sql: String, on connection: OpaquePointer) throws -> (OpaquePointer, kept: Bool) {
        if let statement = statements[sql] { return (statement, true) }
        let keep = statements.count < Self.keptStatements
        var statement: OpaquePointer?
        let flags = keep ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let status = sqlite_nio_sqlite3_prepare_v3(connection, SQLDialect.sqlite.prepare(sql), -1, flags, &statement, nil)
        guard status == SQLITE_OK, let statement else { throw failure(status, on: connection) }
        if keep { statements[sql] = statement }
        return (statement, keep)
    }

    private func bind(_ value: SQLValue, at index: Int32, of statement: OpaquePointer) -> Int32 {
        switch value {
        case .null:
            return sqlite_nio_sqlite3_bind_null(statement, index)
        case .int(let v):
            return sqlite_nio_sqlite3_bind_int64(statement, index, v)
        case .double(let d):
            return sqlite_nio_sqlite3_bind_double(statement, index, d)
        case .text(let s):
            return sqlite_nio_sqlite3_bind_text64(statement, index, s, UInt64(s.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
        case .bytes(let b):
            guard !b.isEmpty else { return sqlite_nio_sqlite3_bind_zeroblob(statement, index, 0) }
            return b.withUnsafeBytes { sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), Self.transient) }
        }
    }

    private func value(of statement: OpaquePointer, at column: Int32) -> SQLValue {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .int(sqlite_nio_sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT:
            return .double(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            guard let blob = sqlite_nio_sqlite3_column_blob(statement, column) else { return .bytes([]) }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            return .bytes(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default:
            return .null
        }
    }

    private func check(_ status: Int32, on connection: OpaquePointer) throws {
        guard status == SQLITE_OK else { throw failure(status, on: connection) }
    }

    private func failure(_ status: Int32, on connection: OpaquePointer) -> SQLFailure {
        SQLFailure(status: status, message: String(cString: sqlite_nio_sqlite3_errmsg(connection)))
    }

    /// SQLite copies the bound bytes (the caller's buffer does not outlive the call).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
