import Foundation
import SwitchboardStore
import TestSupport
import Testing

/// SQLite's durable commits wait for a shared `fsync` of the write-ahead log.
@Suite("SQLite group sync")
struct SQLiteGroupSyncTests {
    static func withDatabase(_ durability: SQLiteDatabase.Durability, _ body: (SQLiteDatabase) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sbsync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try await SQLiteDatabase(
            path: directory.appendingPathComponent("s.sqlite").path,
            durability: durability,
            logger: TestDatabase.logger
        )
        do {
            try await database.transaction { try await $0.query("CREATE TABLE t (n INTEGER NOT NULL)") }
            try await body(database)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }

    @Test("concurrent durable commits all land, sharing syncs; relaxed ones sync nothing")
    func concurrentDurableCommitsShareSyncs() async throws {
        try await Self.withDatabase(.full) { database in
            let before = database.logSyncs
            try await database.transaction(durability: .relaxed) { try await $0.query("INSERT INTO t (n) VALUES (0)") }
            #expect(database.logSyncs == before)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 1...64 {
                    group.addTask {
                        _ = try await database.transaction { db in try await db.query("INSERT INTO t (n) VALUES ($1)", .int(Int64(n))) }
                    }
                }
                try await group.waitForAll()
            }
            let syncs = database.logSyncs - before
            #expect(syncs >= 1)
            #expect(syncs <= 64)
            let count = try await database.read { try await $0.first("SELECT COUNT(*) AS c FROM t")?.int("c") }
            #expect(count == 65)
        }
    }

    @Test("syncing what is committed takes one sync over relaxed commits; with synchronous=normal, none")
    func syncCommittedCoversRelaxedCommits() async throws {
        for (level, syncs) in [(SQLiteDatabase.Durability.full, UInt64(1)), (.normal, 0)] {
            try await Self.withDatabase(level) { database in
                for n in 1...3 {
                    try await database.transaction(durability: .relaxed) { try await $0.query("INSERT INTO t (n) VALUES ($1)", .int(Int64(n))) }
                }
                let before = database.logSyncs
                try await database.syncCommitted()
                #expect(database.logSyncs - before == syncs, "\(level)")
            }
        }
    }

    @Test("with synchronous=normal configured, durable commits do not sync")
    func normalNeverSyncs() async throws {
        try await Self.withDatabase(.normal) { database in
            try await database.transaction { try await $0.query("INSERT INTO t (n) VALUES (1)") }
            #expect(database.logSyncs == 0)
        }
    }

    @Test("the writer never checkpoints; the checkpointer copies the whole log back after commits")
    func checkpointsRunOffTheWriter() async throws {
        try await Self.withDatabase(.full) { database in
            let setting = try await database.transaction { try await $0.first("PRAGMA wal_autocheckpoint")?.int("wal_autocheckpoint") }
            #expect(setting == 0)
            let rounds = database.checkpointer.rounds
            for n in 1...20 {
                try await database.transaction(durability: .relaxed) { try await $0.query("INSERT INTO t (n) VALUES ($1)", .int(Int64(n))) }
            }
            // Nobody asks: the commits alone bring a round.
            await database.checkpointer.waitForRound(after: rounds)
            let last = try #require(database.checkpointer.last)
            #expect(last.logFrames > 0)
            #expect(last.checkpointedFrames == last.logFrames)
            let count = try await database.read { try await $0.first("SELECT COUNT(*) AS c FROM t")?.int("c") }
            #expect(count == 20)
        }
    }

    @Test("a round over a long log leaves it fully copied, so the next write starts the log over")
    func longLogStartsOver() async throws {
        try await Self.withDatabase(.normal) { database in
            for n in 1...1_100 {
                try await database.transaction(durability: .relaxed) { try await $0.query("INSERT INTO t (n) VALUES ($1)", .int(Int64(n))) }
            }
            let round = try await database.checkpointer.round()
            #expect(round.checkpointedFrames == round.logFrames)
            try await database.transaction { try await $0.query("INSERT INTO t (n) VALUES (0)") }
            let after = try await database.checkpointer.checkpoint()
            #expect(after.logFrames < 50, "the log was not started over: \(after.logFrames) frames")
            let count = try await database.read { try await $0.first("SELECT COUNT(*) AS c FROM t")?.int("c") }
            #expect(count == 1_101)
        }
    }
}
