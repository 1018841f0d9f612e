import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardStore

/// Deletes what no one can use any more, hourly: sign-in links and sessions a day past
/// expiry, and realtime events older than `eventRetention` (a client that was away longer
/// is told to reload by `GET /api/events`).
struct PruningService: Service {
    let store: SQLStore
    let eventRetention: TimeInterval
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let removed = try await store.pruneExpired(eventsBefore: store.clock.now().addingTimeInterval(-eventRetention))
                    if removed > 0 { logger.info("pruned expired rows", metadata: ["rows": "\(removed)"]) }
                } catch {
                    logger.warning("pruning failed; will try again", metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
            }
        }
    }
}
