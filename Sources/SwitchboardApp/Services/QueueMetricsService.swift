import Logging
import Metrics
import ServiceLifecycle
import SwitchboardCore

/// Samples the queue's depths into gauges every few seconds for `/metrics`
/// (`switchboard_queue_jobs{state}`, `switchboard_queue_oldest_ready_seconds`).
struct QueueMetricsService: Service {
    let queue: any JobQueue
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let stats = try await queue.stats()
                    for (state, value) in [("ready", stats.ready), ("delayed", stats.delayed), ("in_flight", stats.inFlight), ("dead", stats.dead)] {
                        Gauge(label: "switchboard_queue_jobs", dimensions: [("state", state)]).record(value)
                    }
                    Gauge(label: "switchboard_queue_oldest_ready_seconds").record(stats.oldestReadyAgeSeconds)
                } catch {
                    logger.debug("queue metrics unavailable", metadata: ["error": "\(error)"])
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
