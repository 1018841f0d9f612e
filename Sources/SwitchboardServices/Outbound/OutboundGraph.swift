public import Messenger

/// The Graph calls the outbound path makes; `GraphClient` in production, the same client
/// against the emulator in tests.
public protocol OutboundGraph: Sendable {
    func send(pageId: String, token: PageAccessToken, request: SendRequest) async throws(GraphError) -> SendResult
    func senderAction(
        pageId: String,
        token: PageAccessToken,
        psid: String,
        action: SenderAction
    ) async throws(GraphError)
        -> BusinessUseCaseUsage?
}

extension GraphClient: OutboundGraph {}

/// Per-Page send pacing shared by every send of this process: `PageRateLimiter` (a pure
/// value) behind an actor, on the monotonic clock.
public actor PageSendPacer {
    private var limiter: PageRateLimiter<ContinuousClock>
    private let clock = ContinuousClock()

    public init(configuration: PageRateLimiter<ContinuousClock>.Configuration = .init()) {
        limiter = PageRateLimiter(configuration: configuration)
    }

    /// nil: go now (a token was taken); otherwise ask again after this long.
    public func reserve(page: String, class sendClass: PageRateLimiter<ContinuousClock>.SendClass) -> Duration? {
        switch limiter.reserve(page: page, class: sendClass, now: clock.now) {
        case .proceed: nil
        case .wait(let duration): duration
        }
    }

    /// Feeds `X-Business-Use-Case-Usage`: slows above 80 %, pauses when throttled.
    public func record(usage: BusinessUseCaseUsage?, page: String) {
        guard let usage else { return }
        limiter.record(usage: usage, page: page, now: clock.now)
    }

    /// Pauses the Page (32, 613, or 4 with a regain time).
    public func pause(page: String, for duration: Duration) {
        limiter.pause(page: page, for: duration, now: clock.now)
    }

    /// Sends per second currently allowed for the Page.
    public func currentRate(page: String) -> Double { limiter.currentRate(page: page) }
}

/// Typing indicators and read marks are sent alone and directly, never queued behind
/// messages; this keeps each conversation to one of each action per `minimumInterval`
/// (a dashboard refreshes `typing_on` every few seconds while an agent types).
public actor SenderActionThrottle {
    private let minimumInterval: Duration
    private var last: [String: ContinuousClock.Instant] = [:]
    private let clock = ContinuousClock()

    public init(minimumInterval: Duration = .seconds(2)) {
        self.minimumInterval = minimumInterval
    }

    /// True when the action may go now (and records it); false when it was sent too recently.
    public func admit(conversationId: String, action: SenderAction) -> Bool {
        let key = "\(conversationId):\(action.rawValue)"
        let now = clock.now
        if let previous = last[key], previous.duration(to: now) < minimumInterval { return false }
        last[key] = now
        if last.count > 10_000 { last = last.filter { $0.value.duration(to: now) < minimumInterval } }
        return true
    }
}
