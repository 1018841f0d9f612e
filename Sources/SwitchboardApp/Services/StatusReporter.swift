import Foundation
import SwitchboardCore
import SwitchboardRedis
import SwitchboardServices

/// What `GET /api/status` and `switchboard status` report.
struct StatusReport: Encodable {
    struct Database: Encodable {
        var kind: String
        var state: String
        var schemaVersion: Int?
        var error: String?
    }

    /// `state`: `not_configured` | `connected` | `disconnected` (the dashboard's Redis
    /// line reads these names).
    struct Redis: Encodable {
        var state: RedisHealth
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
    let redis: RedisBackend?
    let role: String
    let concurrency: Int
    let demoMode: Bool
    let started = ContinuousClock.now
    let sockets: @Sendable () -> Int

    /// Redis as the link last saw it (no round trip: a status must not wait on Redis).
    func redisStatus() -> StatusReport.Redis {
        StatusReport.Redis(state: redis?.health ?? .notConfigured, url: redis?.maskedURL)
    }

    /// - Parameter counts: whether to count every table's rows (`/api/status` shows them
    ///   unless asked `?counts=false`, as monitors and benchmarks that poll do; the Status
    ///   screen, which polls, has its own numbers and skips them).
    func report(counts withCounts: Bool = true) async throws -> StatusReport {
        var database = StatusReport.Database(kind: databaseKind, state: "connected")
        var counts: StoreCounts?
        var queueStats: QueueStats?
        do {
            database.schemaVersion = try await schemaVersion()
            if withCounts { counts = try await store.counts() }
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
            redis: redisStatus(),
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
