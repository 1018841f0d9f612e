import Foundation
public import Logging
import SwitchboardCore
public import SwitchboardStore

/// The databases a store test runs on. SQLite always; PostgreSQL when the test script
/// provides one (`TEST_POSTGRES_URL`). With `SWITCHBOARD_TEST_REQUIRE_SERVICES=1` a
/// missing PostgreSQL fails the run instead of silently testing less.
public enum TestDatabaseKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    public static var all: [TestDatabaseKind] {
        let env = ProcessInfo.processInfo.environment
        return env["TEST_POSTGRES_URL"] != nil || env["SWITCHBOARD_TEST_REQUIRE_SERVICES"] == "1" ? [.sqlite, .postgres] : [.sqlite]
    }
}

public struct MissingTestService: Error, CustomStringConvertible {
    public var description: String
}

/// A fresh, migrated database for one test, removed afterwards.
public enum TestDatabase {
    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }()

    /// `sqliteSync`: how SQLite's durable commits wait for the disk; tests skip the
    /// `fsync` unless they are about it.
    public static func with<T: Sendable>(
        _ kind: TestDatabaseKind,
        migrate: Bool = true,
        sqliteSync: SQLiteDatabase.Durability = .normal,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        switch kind {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sbtest-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = try await SQLiteDatabase(
                path: directory.appendingPathComponent("test.sqlite").path,
                durability: sqliteSync,
                logger: logger
            )
            do {
                if migrate { try await Migrator(database: database).migrate(now: 0) }
                let result = try await body(database)
                await database.close()
                return result
            } catch {
                await database.close()
                throw error
            }
        case .postgres:
            guard let url = ProcessInfo.processInfo.environment["TEST_POSTGRES_URL"], let admin = PostgresDatabase.Endpoint(url: url) else {
                throw MissingTestService(description: "TEST_POSTGRES_URL is not set; run the tests through scripts/test")
            }
            let name = "sbtest_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
            _ = try await withPostgres(admin) { db in try await db.read { try await $0.query("CREATE DATABASE \(name)") } }
            var endpoint = admin
            endpoint.database = name
            do {
                let result = try await withPostgres(endpoint) { database in
                    if migrate { try await Migrator(database: database).migrate(now: 0) }
                    return try await body(database)
                }
                _ = try? await withPostgres(admin) { db in try await db.read { try await $0.query("DROP DATABASE \(name) WITH (FORCE)") } }
                return result
            } catch {
                _ = try? await withPostgres(admin) { db in try await db.read { try await $0.query("DROP DATABASE \(name) WITH (FORCE)") } }
                throw error
            }
        }
    }

    /// The URL of a fresh PostgreSQL database for tests that start a server on it.
    public static func withPostgres<T: Sendable>(
        _ endpoint: PostgresDatabase.Endpoint,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let database = PostgresDatabase(endpoint: endpoint, maxConnections: 8, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await database.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }
}
