import Foundation
import SwitchboardCore
import SwitchboardServices

/// What `GET /api/status` and `switchboard status` report.
struct StatusReport: Encodable {
    struct Database: Encodable {
        var kind: String
        var state: String
        var schemaVersion: Int?
        var error: String?
    }

    struct Redis: Encodable {
        var state: String
        var url: String?
    }

    struct Workers: Encodable {
        var role: String
        var concurrency: Int
    }

    var version: String
    var mode: String
    var uptimeSeconds: Double
    var database: Database
    var redis: Redis
    var queue: QueueStats?
    var workers: Workers
    var sockets: Int
    var counts: StoreCounts?
}

/// Gathers status from the parts; a part that is down is reported, never thrown.
struct StatusReporter: Sendable {
    let store: any Store
    let queue: any JobQueue
    let databaseKind: String
    let schemaVersion: @Sendable () async throws -> Int
    let redisURL: String?
    let role: String
    let concurrency: Int
    let demoMode: Bool
    let started = ContinuousClock.now
    let sockets: @Sendable () -> Int

    /// Redis as configured (the database is not asked: a status must not wait on it).
    func redisStatus() async -> StatusReport.Redis {
        StatusReport.Redis(
            state: redisURL == nil ? "not_configured" : "unsupported_in_this_build",
            url: redisURL.map(SwitchboardConfiguration.masked)
        )
    }

    func report() async throws -> StatusReport {
        var database = StatusReport.Database(kind: databaseKind, state: "connected")
        var counts: StoreCounts?
        var queueStats: QueueStats?
        do {
            database.schemaVersion = try await schemaVersion()
            counts = try await store.counts()
            queueStats = try await queue.stats()
        } catch {
            database.state = "unavailable"
            database.error = String(describing: error)
        }
        return StatusReport(
            version: SwitchboardVersion.current,
            mode: demoMode ? "demo" : "live",
            uptimeSeconds: (ContinuousClock.now - started).seconds,
            database: database,
            redis: await redisStatus(),
            queue: queueStats,
            workers: StatusReport.Workers(role: role, concurrency: concurrency),
            sockets: sockets(),
            counts: counts
        )
    }
}

/// The version string shown in status and `--version`.
public enum SwitchboardVersion {
    public static let current = "0.1.0"
}
