import Foundation
import SwitchboardCore
import SwitchboardStore
import TestSupport
import Testing

/// SQLite's connections keep their statements compiled, which pays only if SQLite never
/// recompiles them when the bound values change.
@Suite("SQLite statements")
struct SQLiteStatementTests {
    @Test("kept statements are not recompiled when their bound values change (LIMIT, partial index, LIKE)")
    func keptStatementsStayCompiled() async throws {
        try await TestDatabase.with(.sqlite) { database in
            let sqlite = try #require(database as? SQLiteDatabase)
            let queue = EmbeddedJobQueue(database: sqlite)
            let kind = JobKind(rawValue: "test.job")
            // Migrating changed the schema under the statements it ran: they recompile once.
            try await sqlite.transaction { db in try await db.query("SELECT version FROM schema_migrations WHERE version = $1", .int(1)) }
            let before = try await sqlite.statementRecompilations()
            for round in 0..<4 {
                // Claims bind their LIMIT and compare a bound partition with the claim
                // index's condition: both made SQLite plan from the value and recompile.
                try await queue.enqueue(
                    (0..<(round + 2)).map { NewJob(kind: kind, partition: "p\($0 % 3)", payload: Array("\(round)-\($0)".utf8)) }
                )
                let runs = try await queue.claimRuns(limit: round + 1, runLength: 1 + round, worker: "w", lease: .seconds(60), kinds: .any)
                #expect(!runs.isEmpty)
                for job in runs.flatMap({ $0 }) { try await queue.complete(job) }
                _ = try await sqlite.read { db in
                    try await db.query("SELECT id FROM jobs WHERE kind LIKE $1 LIMIT $2", .text("test.\(round)%"), .int(Int64(round + 1)))
                }
            }
            #expect(try await sqlite.statementRecompilations() - before == 0)
        }
    }

    @Test("a database that cannot be opened is storage.unavailable, naming the path")
    func unopenableDatabase() async throws {
        let path = "/nonexistent-\(UUID().uuidString)/s.sqlite"
        let error = await #expect(throws: SwitchboardError.self) {
            try await SQLiteDatabase(path: path, durability: .normal, logger: TestDatabase.logger)
        }
        #expect(error?.code == .storageUnavailable)
        #expect(error?.message.contains(path) == true)
    }
}
