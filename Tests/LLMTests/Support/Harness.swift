import AsyncHTTPClient
import LLM
import LLMEmulator
import Logging
import TestSupport

/// One LLM emulator on a free port and a client pointing at it, on a manual clock.
struct Harness: Sendable {
    static let key = LLMAPIKey("sk-test-key-4242")

    let client: LLMClient<ManualClock>
    let emulator: LLMEmulator
    let clock: ManualClock

    var deadline: Duration { client.configuration.deadline }

    static func run<T: Sendable>(
        emulator configuration: LLMEmulatorConfiguration = LLMEmulatorConfiguration(),
        logger: Logger = quietLogger(),
        configure: @Sendable (inout LLMConfiguration) -> Void = { _ in },
        _ body: @Sendable (Harness) async throws -> T
    ) async throws -> T {
        let emulator = LLMEmulator(configuration: configuration, logger: quietLogger())
        return try await LLMEmulatorServer.withRunning(emulator) { baseURL in
            var settings = LLMConfiguration(
                baseURL: baseURL,
                apiKey: key,
                model: "test-model",
                temperature: 0.2,
                maxTokens: 300,
                requestTimeout: .seconds(60),
                deadline: .seconds(30),
                retry: LLMRetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(400), maxDelay: .seconds(4))
            )
            configure(&settings)
            let clock = ManualClock()
            let client = LLMClient(httpClient: .shared, configuration: settings, clock: clock, logger: logger, jitter: { 1 })
            return try await body(Harness(client: client, emulator: emulator, clock: clock))
        }
    }

    /// Waits for the client's next retry wait and lets it pass; returns its length.
    @discardableResult
    func passNextRetryWait() async -> Duration? {
        guard let wait = await clock.nextSleep(excluding: deadline) else { return nil }
        clock.advance(by: wait)
        return wait
    }
}

/// Tests log errors only.
func quietLogger(_ label: String = "llm-test") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}

/// The error of a call expected to fail (nil when it succeeded or threw something else).
func failure<T>(_ body: () async throws -> T) async -> LLMError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error as? LLMError
    }
}

extension ManualClock {
    /// Waits until something sleeps until an instant other than `excluded` (the call's
    /// deadline), and returns how long that sleep is from now.
    func nextSleep(excluding excluded: Duration) async -> Duration? {
        for await deadline in sleeps where deadline.offset != excluded {
            return now.duration(to: deadline)
        }
        return nil
    }
}
