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

/// Per-Page send pacing as the sender uses it: one instance per process, shared by every
/// send, so a Page's sends together keep its rate (messenger-platform.md §8).
/// `PageThrottle` is the implementation; its clock is injected, so tests drive pacing with a
/// manual clock and never sleep.
public protocol OutboundPacer: Sendable {
    /// nil: go now (a token was taken). Otherwise the wait that was longer than `limit`
    /// (no token taken): the sender reschedules its job instead of holding a worker.
    func acquire(page: String, class sendClass: PageSendClass, waitingAtMost limit: Duration) async throws -> Duration?
    /// The call `acquire` let go has its answer, or failed, its request written
    /// `writtenAgo` before (nil: never, or not known): it counts in the Page's sliding
    /// second as of then, or, unknown, as of now (Meta may have counted it this late).
    func finished(page: String, class sendClass: PageSendClass, writtenAgo: Duration?) async
    /// Feeds `X-Business-Use-Case-Usage`: slows above 80 %, pauses when throttled.
    func record(usage: BusinessUseCaseUsage?, page: String) async
    /// Pauses the Page (32, 613, or 4 with a regain time).
    func pause(page: String, for duration: Duration) async
}

extension PageThrottle: OutboundPacer {}

/// The pacer a server runs with: `PageThrottle` on the monotonic clock.
public typealias PageSendPacer = PageThrottle<ContinuousClock>

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
