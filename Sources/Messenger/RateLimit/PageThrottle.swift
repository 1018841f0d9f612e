/// `PageRateLimiter` shared by a process's senders, waiting on an injected clock: `acquire`
/// returns when the Page may send. Production uses `ContinuousClock`; tests pass a manual
/// clock and move it themselves, so pacing is tested without sleeping or timing anything.
public actor PageThrottle<C: Clock> where C.Duration == Duration, C.Instant: Sendable {
    private var limiter: PageRateLimiter<C>
    private let clock: C
    /// Per Page and class, the first turn not yet promised to a send handed back to wait
    /// (see ``acquire(page:class:waitingAtMost:)``).
    private var nextTurn: [Turn: C.Instant] = [:]

    private struct Turn: Hashable {
        let page: String
        let sendClass: PageSendClass
    }

    public init(clock: C, configuration: PageRateLimits = .init()) {
        self.clock = clock
        self.limiter = PageRateLimiter(configuration: configuration)
    }

    /// Waits (on the clock) until the Page has a token for this class, then takes it.
    /// Throws `CancellationError` if the task is cancelled while waiting.
    public func acquire(page: String, class sendClass: PageSendClass = .standard) async throws {
        _ = try await acquire(page: page, class: sendClass, limit: nil)
    }

    /// Like `acquire(page:class:)`, but waits in place only while the waits add up to at
    /// most `limit`: a longer one (a paused Page, a heavily slowed one, or the turn of many
    /// senders of one busy Page) is returned instead, and no token is taken, so the caller
    /// can reschedule its job rather than hold a worker. Each wait alone within the limit
    /// was not enough: among hundreds of senders of one Page, a send could lose its turn
    /// again and again until its job's lease lapsed, and a second run of it began.
    /// nil means a token was taken.
    ///
    /// A wait handed back is a turn: the sends handed back one after another come back one
    /// token apart, in that order, instead of all at once to lose to each other again. Once
    /// the turns promised reach further than `limit`, a send takes the next one at once
    /// rather than first waiting in place for nothing (a token free at that moment still
    /// goes to it: the sends whose turn came find theirs so). Without turns, 256 senders of a
    /// Page that lets 40 a second go each waited their second, came back a few milliseconds
    /// later, and lost again: twice the CPU for the same sends (the send benchmark's
    /// one-Page run, session 14).
    public func acquire(page: String, class sendClass: PageSendClass, waitingAtMost limit: Duration) async throws -> Duration? {
        let turn = Turn(page: page, sendClass: sendClass)
        if let next = nextTurn[turn], clock.now.duration(to: next) > limit {
            // A token free now goes to whoever asks (a send whose turn came, most likely).
            if limiter.reserve(page: page, class: sendClass, now: clock.now) == .proceed { return nil }
            return promiseTurn(turn, notBefore: .zero)
        }
        guard let wait = try await acquire(page: page, class: sendClass, limit: limit) else { return nil }
        return promiseTurn(turn, notBefore: wait)
    }

    /// The wait until the next turn of `turn` at least `notBefore` from now, which it takes.
    private func promiseTurn(_ turn: Turn, notBefore: Duration) -> Duration {
        let now = clock.now
        let earliest = now.advanced(by: notBefore)
        let slot = nextTurn[turn].map { max($0, earliest) } ?? earliest
        let rate = max(limiter.currentRate(page: turn.page, class: turn.sendClass), 0.001)
        nextTurn[turn] = slot.advanced(by: .nanoseconds(Int64((1e9 / rate).rounded(.up))))
        return now.duration(to: slot)
    }

    private func acquire(page: String, class sendClass: PageSendClass, limit: Duration?) async throws -> Duration? {
        var waited = Duration.zero
        while true {
            switch limiter.reserve(page: page, class: sendClass, now: clock.now) {
            case .proceed: return nil
            case .wait(let delay):
                if let limit, waited + delay > limit { return delay }
                try await clock.sleep(for: delay)
                waited += delay
            }
        }
    }

    /// A call let go by `acquire` has its answer (or failed), its request written
    /// `writtenAgo` before: see ``PageRateLimiter/finished(page:class:now:writtenAgo:)``.
    public func finished(page: String, class sendClass: PageSendClass, writtenAgo: Duration?) {
        limiter.finished(page: page, class: sendClass, now: clock.now, writtenAgo: writtenAgo)
    }

    /// Feeds a response's usage header (slows above 80 %, pauses when throttled); nil (no
    /// header) changes nothing.
    public func record(usage: BusinessUseCaseUsage?, page: String) {
        guard let usage else { return }
        limiter.record(usage: usage, page: page, now: clock.now)
    }

    /// Sets this process's share of every Page's limit (1/N among N sending processes).
    public func setShare(_ share: Double) {
        limiter.share = share
    }

    /// Pauses the Page (e.g. for a `GraphFailureClass.pauseFor`).
    public func pause(page: String, for duration: Duration) {
        limiter.pause(page: page, for: duration, now: clock.now)
    }

    /// Until when the Page is paused, for the dashboard.
    public func pausedUntil(page: String) -> C.Instant? {
        limiter.pausedUntil(page: page, now: clock.now)
    }

    /// Sends per second the Page is allowed now (lower after a high usage header).
    public func currentRate(page: String, class sendClass: PageSendClass = .standard) -> Double {
        limiter.currentRate(page: page, class: sendClass)
    }
}

extension PageThrottle where C == ContinuousClock {
    /// On the monotonic clock: what a server uses.
    public init(configuration: PageRateLimits = .init()) {
        self.init(clock: ContinuousClock(), configuration: configuration)
    }
}
