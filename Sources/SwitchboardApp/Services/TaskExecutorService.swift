import ServiceLifecycle

/// Runs a service with a task executor preference, so its tasks and their child tasks run
/// on `executor` (the worker on a ``BackgroundExecutor``); `nil` leaves them where they
/// would run anyway.
struct TaskExecutorService: Service {
    let service: any Service
    let executor: (any TaskExecutor)?

    init(_ service: any Service, executor: (any TaskExecutor)?) {
        self.service = service
        self.executor = executor
    }

    func run() async throws {
        try await withTaskExecutorPreference(executor) { try await service.run() }
    }
}
