public import Hummingbird
public import Logging
import ServiceLifecycle

/// Runs a test-double server (the Graph emulator, the LLM emulator) on a free port for
/// the duration of `body`, then shuts it down gracefully, so held answers are released and
/// nothing outlives the test.
public enum EphemeralServer {
    /// `build` makes the application for port 0 and calls its argument with the bound
    /// port once listening; `body` gets that port.
    public static func run<T: Sendable, App: ApplicationProtocol>(
        logger: Logger,
        build: (_ onPort: @escaping @Sendable (Int) async -> Void) -> App,
        _ body: @Sendable (_ port: Int) async throws -> T
    ) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = build { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(services: [app], logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { continuation.finish() }
                try await group.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await tasks.waitForAll()
                throw CancellationError()
            }
            let result: Result<T, any Error>
            do {
                result = .success(try await body(port))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}
