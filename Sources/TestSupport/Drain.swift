public import Logging
public import SwitchboardCore
import SwitchboardServices
public import SwitchboardStore

/// Runs queued jobs in the test's own task until the queue has nothing runnable: the
/// deterministic stand-in for the worker service (same handlers, no timing).
public struct InboundDrain: Sendable {
    public let store: SQLStore
    public let publisher: any EventPublisher
    public let ourAppId: String?
    let handlers: [JobKind: any JobHandler]

    public init(
        store: SQLStore,
        publisher: any EventPublisher = DiscardingEventPublisher(),
        ourAppId: String? = "app-ours",
        logger: Logger = TestDatabase.logger
    ) {
        self.store = store
        self.publisher = publisher
        self.ourAppId = ourAppId
        handlers = [
            .splitWebhook: SplitWebhookHandler(store: store, logger: logger),
            .applyInbound: ApplyInboundHandler(store: store, queue: store.queue, publisher: publisher, ourAppId: ourAppId, logger: logger),
        ]
    }

    /// Claims and runs jobs until none is runnable; returns how many ran. Profile jobs are
    /// completed without a Graph call.
    @discardableResult
    public func run(worker: String = "test") async throws -> Int {
        var count = 0
        while let job = try await store.queue.claim(limit: 1, worker: worker, lease: .seconds(60)).first {
            if let handler = handlers[job.kind] {
                try await handler.handle(job)
                if !handler.completesJob { try await store.queue.complete(job) }
            } else {
                try await store.queue.complete(job)
            }
            count += 1
        }
        return count
    }
}
