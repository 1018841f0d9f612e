import Foundation
import Logging
import Metrics
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStore

/// Runs `body` now and then every `interval` until graceful shutdown; a failing run is
/// logged (at `failureLevel`) and tried again at the next tick. Housekeeping such as
/// queue metrics and pruning is one of these.
struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let failureLevel: Logger.Level
    let logger: Logger
    let body: @Sendable () async throws -> Void

    func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await body()
                } catch {
                    logger.log(level: failureLevel, "\(name) failed; will try again", metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return  // cancelled by the graceful shutdown: a normal end
                }
            }
        }
    }
}

extension PeriodicService {
    /// Samples the queue's depths into gauges for `/metrics`
    /// (`switchboard_queue_jobs{state}`, `switchboard_queue_oldest_ready_seconds`, and with
    /// Redis `switchboard_queue_stream_entries{state}`: length, pending, lag, dead letters).
    static func queueMetrics(_ queue: any JobQueue, interval: Duration, logger: Logger) -> PeriodicService {
        PeriodicService(name: "queue metrics", interval: interval, failureLevel: .debug, logger: logger) {
            let stats = try await queue.stats()
            for (state, value) in [("ready", stats.ready), ("delayed", stats.delayed), ("in_flight", stats.inFlight), ("dead", stats.dead)] {
                Gauge(label: "switchboard_queue_jobs", dimensions: [("state", state)]).record(value)
            }
            Gauge(label: "switchboard_queue_oldest_ready_seconds").record(stats.oldestReadyAgeSeconds)
            if let streams = stats.streams {
                let figures = [("length", streams.length), ("pending", streams.pending), ("lag", streams.lag), ("dead_letters", streams.deadLetters)]
                for (state, value) in figures {
                    Gauge(label: "switchboard_queue_stream_entries", dimensions: [("state", state)]).record(value)
                }
            }
        }
    }

    /// Deletes what no one can use any more: sign-in links and sessions a day past expiry,
    /// and realtime events older than `eventRetention` (a client away longer is told to
    /// reload by `GET /api/events`).
    static func pruning(_ store: SQLStore, eventRetention: TimeInterval, interval: Duration, logger: Logger) -> PeriodicService {
        PeriodicService(name: "pruning", interval: interval, failureLevel: .warning, logger: logger) {
            let removed = try await store.pruneExpired(eventsBefore: store.clock.now().addingTimeInterval(-eventRetention))
            if removed > 0 { logger.info("pruned expired rows", metadata: ["rows": "\(removed)"]) }
        }
    }
}
