/// Which per-Page budget a send draws from (messenger-platform.md §8).
public enum PageSendClass: Sendable, Hashable {
    /// Text, links, reactions, stickers, images, files, sender actions: 300 calls/s.
    case standard
    /// Audio and video: 10 calls/s.
    case media
}

/// The per-Page limits the sender keeps, and how it reacts to Meta's usage header.
public struct PageRateLimits: Sendable, Hashable {
    /// Sends per second per Page for `.standard`.
    public var standardPerSecond: Double
    /// Sends per second per Page for `.media`.
    public var mediaPerSecond: Double
    /// How many seconds of sends may go at once after a quiet spell. Small, because Meta
    /// counts calls over a sliding second: a bucket of a whole second could put twice the
    /// rate into one such second and get the Page throttled (613) for minutes.
    public var burstSeconds: Double
    /// Usage percentage above which sends are slowed.
    public var slowDownAbovePercent: Int
    /// Usage percentage up to which the slowdown is gentle; above it, it is steep.
    public var kneePercent: Int
    /// The fraction of the normal rate at `kneePercent`.
    public var kneeFraction: Double
    /// The slowest rate, as a fraction of the normal one, reached at 100 % usage.
    public var minimumFraction: Double

    public init(
        standardPerSecond: Double = 300,
        mediaPerSecond: Double = 10,
        burstSeconds: Double = 0.1,
        slowDownAbovePercent: Int = 80,
        kneePercent: Int = 95,
        kneeFraction: Double = 0.95,
        minimumFraction: Double = 0.05
    ) {
        self.standardPerSecond = standardPerSecond
        self.mediaPerSecond = mediaPerSecond
        self.burstSeconds = burstSeconds
        self.slowDownAbovePercent = slowDownAbovePercent
        self.kneePercent = kneePercent
        self.kneeFraction = kneeFraction
        self.minimumFraction = minimumFraction
    }

    /// The most calls any sliding second may carry at a rate of `perSecond`: the knee's
    /// share of it, but at least one and always at least one call under it.
    public func callsPerSecond(_ perSecond: Double) -> Int {
        let limit = max(1, Int(perSecond))
        return max(1, min(limit - 1, Int((perSecond * kneeFraction).rounded(.down))))
    }

    /// The share of the normal rate allowed at a usage percentage. Full speed up to the
    /// threshold (80 %); then gently down to `kneeFraction` at the knee (95 %), so a Page
    /// driven at its limit settles around 95 % of it instead of swinging between full
    /// speed and a throttle; then steeply to `minimumFraction` at 100 %.
    public func fraction(atUsagePercent usage: Int) -> Double {
        let threshold = slowDownAbovePercent
        guard usage > threshold else { return 1 }
        let knee = max(threshold + 1, min(kneePercent, 99))
        if usage <= knee {
            let over = Double(usage - threshold) / Double(knee - threshold)
            return 1 - over * (1 - kneeFraction)
        }
        let over = Double(min(usage, 100) - knee) / Double(100 - knee)
        return kneeFraction - over * (kneeFraction - minimumFraction)
    }
}

/// Per-Page send pacing as a pure value: a token bucket per Page and per class
/// (text 300/s, audio/video 10/s, messenger-platform.md §8) that never lets more than 95 %
/// of the limit into any sliding second, slowed when Graph reports the
/// Page's Business Use Case usage above 80 %, and paused until
/// `estimated_time_to_regain_access` when the Page is throttled.
///
/// Generic over `Clock` so tests drive it with instants they choose; it never sleeps: the
/// caller asks `reserve`, and waits for the returned delay on its own clock.
public struct PageRateLimiter<C: Clock>: Sendable where C.Duration == Duration, C.Instant: Sendable {
    public typealias SendClass = PageSendClass
    public typealias Configuration = PageRateLimits

    /// The answer to "may this Page send now?".
    public enum Decision: Sendable, Hashable {
        /// Go; a token was taken.
        case proceed
        /// Ask again after this long; no token was taken.
        case wait(Duration)
    }

    struct Bucket: Sendable {
        var tokens: Double
        var updatedAt: C.Instant
    }

    /// A call of the last second: when it was let go, or, once it finished, when its
    /// answer came (the latest Meta can have counted it).
    struct Call: Sendable {
        var at: C.Instant
        var finished: Bool
    }

    struct PageState: Sendable {
        var buckets: [SendClass: Bucket] = [:]
        /// The calls of the last second, oldest first, per class.
        var recent: [SendClass: [Call]] = [:]
        var usagePercent: Int = 0
        var pausedUntil: C.Instant?
    }

    public let configuration: Configuration
    private var pages: [String: PageState] = [:]
    /// This process's share of every Page's limit: 1 alone, 1/N among N sending processes
    /// (each paces on its own, and Meta counts their calls together).
    public var share: Double = 1 {
        didSet { share = min(1, max(share, 0.001)) }
    }

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Takes a token for `page` if one is free at `now`, or says how long to wait.
    public mutating func reserve(page: String, class sendClass: SendClass = .standard, now: C.Instant) -> Decision {
        var state = pages[page] ?? PageState()
        defer { pages[page] = state }
        if let until = state.pausedUntil {
            if now < until { return .wait(now.duration(to: until)) }
            state.pausedUntil = nil
        }
        // Meta counts calls over a sliding second: whatever the bucket allows, no second
        // carries more than the knee's share of the limit (95 %). The rest is margin for
        // the calls' varying travel time, so pacing at the limit never earns a 613 (and the
        // minutes of pause that come with it), and the usage Meta reports stays out of the
        // steep part of the slowdown.
        var recent = state.recent[sendClass, default: []]
        Self.prune(&recent, now: now)
        defer { state.recent[sendClass] = recent }
        let limit = configuration.callsPerSecond(baseRate(sendClass))
        if recent.count >= limit {
            return .wait(now.duration(to: recent[recent.count - limit].at.advanced(by: .seconds(1))))
        }
        let rate = effectiveRate(sendClass, usagePercent: state.usagePercent)
        let capacity = max(1, rate * configuration.burstSeconds)
        var bucket = state.buckets[sendClass] ?? Bucket(tokens: capacity, updatedAt: now)
        let elapsed = max(0, seconds(bucket.updatedAt.duration(to: now)))
        bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
        bucket.updatedAt = now
        defer { state.buckets[sendClass] = bucket }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            recent.append(Call(at: now, finished: false))
            return .proceed
        }
        let missing = 1 - bucket.tokens
        return .wait(.nanoseconds(Int64((missing / rate * 1e9).rounded(.up))))
    }

    /// Says a call let go by ``reserve(page:class:now:)`` got its answer (or failed) at
    /// `now`, its request having been written `writtenAgo` before (nil: never, or not known).
    ///
    /// Meta counts a call when it arrives, after its request left this machine and before
    /// its answer. From now on the call counts in the sliding second as of the moment it was
    /// written: calls held up here before they left (a busy machine) are counted as they
    /// left, so they never bunch up into more than the limit in one of Meta's seconds, while
    /// Meta's time to answer costs nothing. Counting up to the answer instead kept each call
    /// a second plus Meta's latency, capping a Page at 95 % of its limit over (1 + latency):
    /// 209 sends/s of 300 at 300 ms a call (the send benchmark's meta-latency run, session 14).
    /// Unknown times count as of the answer, as before. The oldest call still open is the one
    /// taken: calls are not told apart, and taking an older one than this call leaves a
    /// later time on the one still open, which then counts longer, never shorter. A call
    /// never counts from before the entry it takes was let go: a later call's entry taken
    /// keeps its time, and a pacer on a test's manual clock, which stands still during the
    /// call, counts it as of its start.
    public mutating func finished(page: String, class sendClass: SendClass = .standard, now: C.Instant, writtenAgo: Duration? = nil) {
        var state = pages[page] ?? PageState()
        var recent = state.recent[sendClass, default: []]
        var at = writtenAgo.map { now.advanced(by: .zero - max(.zero, $0)) } ?? now
        if let open = recent.firstIndex(where: { !$0.finished }) {
            // Never earlier than the entry taken: if this call's own entry already left the
            // sliding second (it took that long), the one taken is a later call's, which must
            // stay counted from when it was let go.
            at = max(at, recent[open].at)
            recent.remove(at: open)
        }
        recent.insert(Call(at: at, finished: true), at: recent.firstIndex { $0.at > at } ?? recent.endIndex)
        Self.prune(&recent, now: now)
        state.recent[sendClass] = recent
        pages[page] = state
    }

    /// Drops the calls that left the sliding second before `now`.
    private static func prune(_ recent: inout [Call], now: C.Instant) {
        recent.removeFirst(recent.prefix { $0.at.advanced(by: .seconds(1)) <= now }.count)
    }

    /// Feeds the `X-Business-Use-Case-Usage` of a response: slows the Page above the
    /// threshold and pauses it when the header says access must be regained.
    public mutating func record(usage: BusinessUseCaseUsage, page: String, now: C.Instant) {
        var state = pages[page] ?? PageState()
        // The header is keyed by the Page id; if it is keyed otherwise, take the worst entry.
        let key = usage.entries[page] != nil ? page : nil
        state.usagePercent = usage.percent(for: key)
        if let after = usage.regainAccessAfter(for: key) {
            pause(&state, until: now.advanced(by: after))
        }
        pages[page] = state
    }

    /// Pauses the Page (after a 32/613, or a 4 with a regain time), never shortening a pause.
    public mutating func pause(page: String, for duration: Duration, now: C.Instant) {
        var state = pages[page] ?? PageState()
        pause(&state, until: now.advanced(by: duration))
        pages[page] = state
    }

    /// Until when the Page is paused, if it is at `now`.
    public func pausedUntil(page: String, now: C.Instant) -> C.Instant? {
        guard let until = pages[page]?.pausedUntil, now < until else { return nil }
        return until
    }

    /// Sends per second currently allowed for the Page and class.
    public func currentRate(page: String, class sendClass: SendClass = .standard) -> Double {
        effectiveRate(sendClass, usagePercent: pages[page]?.usagePercent ?? 0)
    }

    private func pause(_ state: inout PageState, until: C.Instant) {
        if let current = state.pausedUntil, current >= until { return }
        state.pausedUntil = until
    }

    private func baseRate(_ sendClass: SendClass) -> Double {
        (sendClass == .media ? configuration.mediaPerSecond : configuration.standardPerSecond) * share
    }

    private func effectiveRate(_ sendClass: SendClass, usagePercent: Int) -> Double {
        baseRate(sendClass) * configuration.fraction(atUsagePercent: usagePercent)
    }

    private func seconds(_ duration: Duration) -> Double {
        let (s, attoseconds) = duration.components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
