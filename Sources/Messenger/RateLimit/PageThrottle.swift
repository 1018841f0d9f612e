/// `PageRateLimiter` shared by a process's senders, waiting on a clock: `acquire` returns
/// when the Page may send. Use `ContinuousClock` in production and a manual clock in tests.
public actor PageThrottle<C: Clock> where C.Duration == Duration, C.Instant: Sendable {
    private var limiter: PageRateLimiter<C>
    private let clock: C

    public init(clock: C, configuration: PageRateLimiter<C>.Configuration = .init()) {
        self.clock = clock
        self.limiter = PageRateLimiter(configuration: configuration)
    }

    /// Waits (on the clock) until the Page has a token for this class, then takes it.
    /// Throws `CancellationError` if the task is cancelled while waiting.
    public func acquire(page: String, class sendClass: PageRateLimiter<C>.SendClass = .standard) async throws {
        while true {
            switch limiter.reserve(page: page, class: sendClass, now: clock.now) {
            case .proceed: return
            case .wait(let delay): try await clock.sleep(for: delay)
            }
        }
    }

    /// Feeds a response's usage header (slows above 80 %, pauses when throttled).
    public func record(usage: BusinessUseCaseUsage, page: String) {
        limiter.record(usage: usage, page: page, now: clock.now)
    }

    /// Pauses the Page (e.g. for a `GraphFailureClass.pauseFor`).
    public func pause(page: String, for duration: Duration) {
        limiter.pause(page: page, for: duration, now: clock.now)
    }

    /// Until when the Page is paused, for the dashboard.
    public func pausedUntil(page: String) -> C.Instant? {
        limiter.pausedUntil(page: page, now: clock.now)
    }
}
