public import Logging
public import SwitchboardCore
import SwitchboardServices
public import SwitchboardStore

/// Runs queued jobs in the test's own task until the queue has nothing runnable: the
/// deterministic stand-in for the worker service (same handlers, no timing). `inline`
/// applies split webhooks at once, as `serve` does; without it every conversation's
/// share goes through its `inbound.apply` job (the fallback path).
public struct InboundDrain: Sendable {
    public let store: SQLStore
    public let publisher: any EventPublisher
    public let ourAppId: String?
    let handlers: [JobKind: any JobHandler]
    let logger: Logger

    public init(
        store: SQLStore,
        publisher: any EventPublisher = DiscardingEventPublisher(),
        ourAppId: String? = "app-ours",
        inline: Bool = true,
        logger: Logger = TestDatabase.logger
    ) {
        self.store = store
        self.publisher = publisher
        self.ourAppId = ourAppId
        self.logger = logger
        let apply = ApplyInboundHandler(store: store, queue: store.queue, publisher: publisher, ourAppId: ourAppId, logger: logger)
        handlers = [
            .splitWebhook: SplitWebhookHandler(store: store, logger: logger, applier: inline ? apply : nil),
            .applyInbound: apply,
        ]
    }

    /// Claims and runs jobs (in runs, as the worker does) until none is runnable; returns
    /// how many ran. Profile, send and bot jobs are completed without running (their own
    /// suites run them).
    @discardableResult
    public func run(worker: String = "test") async throws -> Int {
        try await JobWorker(
            queue: store.queue,
            handlers: handlers.merging([.fetchProfile, .sendMessage, .botAnswer].map { ($0, SkippedJob()) }) { current, _ in current },
            concurrency: 8,
            lease: .seconds(60),
            workerID: worker,
            clock: store.clock,
            logger: logger
        ).runUntilIdle()
    }
}

/// A job a test has no use for: done at once.
struct SkippedJob: JobHandler {
    func handle(_ job: Job) async throws -> JobDisposition { .finished }
}
