public import Logging
import Metrics
import NIOCore
import NIOSSL
import PostgresNIO
import SwitchboardCore

/// The scaled-out database: PostgreSQL through PostgresNIO's connection pool. Several
/// `serve` processes share it; row locks (`SKIP LOCKED`) keep their queues apart.
public final class PostgresDatabase: SQLDatabase {
    public let dialect = SQLDialect.postgres
    private let client: PostgresClient
    private let logger: Logger
    private let deadline: PostgresDeadline

    /// Connection settings parsed from a `postgres://` URL.
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String?
        public var database: String
        public var requireTLS: Bool

        /// Parses `postgresql://user:pass@host:port/db?sslmode=require`; nil when the URL
        /// has no host or no user.
        public init?(url: String) {
            guard let components = ConnectionURL(url), ["postgres", "postgresql"].contains(components.scheme),
                let host = components.host, !host.isEmpty, let user = components.user
            else { return nil }
            self.host = host
            self.port = components.port ?? 5432
            self.user = user
            self.password = components.password
            self.database = components.path.isEmpty ? user : components.path
            let sslmode = components.query["sslmode"] ?? "prefer"
            self.requireTLS = ["require", "verify-ca", "verify-full"].contains(sslmode)
        }
    }

    /// - Parameter answerWithin: how long one statement, or the wait for a connection, may
    ///   take before the caller gets `storage.unavailable` (see ``PostgresDeadline``); the
    ///   default keeps the webhook's answer inside Meta's 20 seconds. nil for migrations.
    public init(endpoint: Endpoint, maxConnections: Int = 10, answerWithin: Duration? = .seconds(15), logger: Logger) {
        var configuration = PostgresClient.Configuration(
            host: endpoint.host,
            port: endpoint.port,
            username: endpoint.user,
            password: endpoint.password,
            database: endpoint.database,
            tls: endpoint.requireTLS ? .require(.makeClientConfiguration()) : .disable
        )
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = 1
        configuration.options.connectTimeout = .seconds(5)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        deadline = PostgresDeadline(limit: answerWithin)
    }

    /// Runs the connection pool until the task is cancelled; the owner (a service group or
    /// a CLI command) keeps this running while it uses the database.
    public func run() async {
        await client.run()
    }

    @discardableResult
    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await DatabaseMetrics.timed("read") {
            try await body(ClientExecutor(client: client, logger: logger, deadline: deadline))
        }
    }

    @discardableResult
    public func transaction<T: Sendable>(
        durability: CommitDurability,
        planning: QueryPlanning,
        _ body: @Sendable (any SQLExecutor) async throws -> T
    ) async throws -> T {
        try await DatabaseMetrics.timed("transaction") {
            try await deadline.withConnection(client) { connection in
                let executor = ConnectionExecutor(connection: connection, logger: logger, deadline: deadline)
                try await executor.query("BEGIN", [])
                do {
                    if let settings = Self.localSettings(durability: durability, planning: planning) {
                        try await executor.query(settings, [])
                    }
                    let result = try await body(executor)
                    try await executor.query("COMMIT", [])
                    return result
                } catch {
                    do {
                        try await executor.query("ROLLBACK", [])
                    } catch {
                        // The connection may be lost mid-query (see PostgresDeadline): drop it.
                        try? await connection.close()
                    }
                    throw error
                }
            }
        }
    }

    /// One statement setting what a transaction changes for itself (`SET LOCAL`), or nil.
    static func localSettings(durability: CommitDurability, planning: QueryPlanning) -> String? {
        var settings: [(String, String)] = []
        if durability == .relaxed { settings.append(("synchronous_commit", "off")) }
        if planning == .indexWalks { settings += ["enable_seqscan", "enable_bitmapscan", "enable_sort"].map { ($0, "off") } }
        guard !settings.isEmpty else { return nil }
        return "SELECT " + settings.map { "set_config('\($0.0)', '\($0.1)', true)" }.joined(separator: ", ")
    }

    @discardableResult
    public func execute(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await DatabaseMetrics.timed("transaction") {
            try await ClientExecutor(client: client, logger: logger, deadline: deadline).query(sql, binds)
        }
    }

    /// A transaction with an id commits with a WAL flush (`synchronous_commit` is on
    /// outside relaxed transactions), and a flush covers every commit before it.
    public func syncCommitted() async throws {
        try await execute("SELECT txid_current()", [])
    }

    public var concurrentWriters: Int { 4 }

    public func close() async {}

    private static func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                if state == "23505" { throw SQLFailure(kind: .uniqueViolation, message: error.serverInfo?[.message] ?? state) }
                if state == "40001" || state == "40P01" { throw SQLFailure(kind: .busy, message: error.serverInfo?[.message] ?? state) }
                // Connection exceptions (08) and operator intervention (57: shutdown, terminated).
                if state.hasPrefix("08") || state.hasPrefix("57") {
                    throw SwitchboardError(.storageUnavailable, "PostgreSQL is unavailable: \(state): \(error.serverInfo?[.message] ?? "")")
                }
                throw SQLFailure(kind: .other, message: "\(state): \(error.serverInfo?[.message] ?? "")")
            }
            throw SwitchboardError(.storageUnavailable, "PostgreSQL is unavailable: \(error.code)")
        }
    }

    static func makeQuery(_ sql: String, _ binds: [SQLValue]) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .null: bindings.appendNull()
            case .int(let v): bindings.append(v)
            case .double(let d): bindings.append(d)
            case .text(let s): bindings.append(s)
            case .bytes(let b): bindings.append(ByteBuffer(bytes: b))
            }
        }
        return PostgresQuery(unsafeSQL: SQLDialect.postgres.prepare(sql), binds: bindings)
    }

    static func collect(_ sequence: PostgresRowSequence) async throws -> [SQLRow] {
        var rows: [SQLRow] = []
        for try await row in sequence {
            var columns: [String] = []
            var values: [SQLValue] = []
            columns.reserveCapacity(row.count)
            values.reserveCapacity(row.count)
            for cell in row {
                columns.append(cell.columnName)
                values.append(try value(of: cell))
            }
            rows.append(SQLRow(columns: columns, values: values))
        }
        return rows
    }

    private static func value(of cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .int(try cell.decode(Int64.self))
        case .bool: return .int(try cell.decode(Bool.self) ? 1 : 0)
        case .float4, .float8: return .double(try cell.decode(Double.self))
        case .bytea: return .bytes(Array(try cell.decode(ByteBuffer.self).readableBytesView))
        case .numeric: return .double(Double(try cell.decode(String.self)) ?? 0)
        default: return .text(try cell.decode(String.self))
        }
    }

    /// Each statement on whichever pooled connection is free.
    struct ClientExecutor: SQLExecutor {
        let client: PostgresClient
        let logger: Logger
        let deadline: PostgresDeadline
        var dialect: SQLDialect { .postgres }

        @discardableResult
        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            try await deadline.withConnection(client) { connection in
                try await ConnectionExecutor(connection: connection, logger: logger, deadline: deadline).query(sql, binds)
            }
        }
    }

    /// Every statement on one leased connection (a transaction).
    struct ConnectionExecutor: SQLExecutor, @unchecked Sendable {
        let connection: PostgresConnection
        let logger: Logger
        let deadline: PostgresDeadline
        var dialect: SQLDialect { .postgres }

        @discardableResult
        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            let query = PostgresDatabase.makeQuery(sql, binds)
            return try await PostgresDatabase.mapErrors {
                try await deadline.run(on: connection) { [connection, logger] in
                    try await PostgresDatabase.collect(connection.query(query, logger: logger))
                }
            }
        }
    }
}
