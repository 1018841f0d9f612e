public import AsyncHTTPClient
public import Foundation
public import Logging
@_spi(GraphEmulator) internal import Messenger
internal import Synchronization

/// A local stand-in for graph.facebook.com plus the customers who write to its Pages.
///
/// The test double of every end-to-end test and the engine of demo mode: it answers the
/// Send API, sender actions, profiles, `me` and `subscribed_apps` with Meta's shapes and
/// error bodies, enforces the messaging windows on its own `clock`, posts the echo →
/// delivery → read webhooks of each send (signed with the app secret), and lets tests inject
/// faults and read what each customer received.
///
/// Serve it with `GraphEmulatorService` or `GraphEmulatorServer.build(emulator:)`; the webhook
/// outbox runs as a service inside those.
public final class GraphEmulator: Sendable {
    public let clock: EmulatorClock
    let logger: Logger
    let poster: WebhookPoster
    let outbox: WebhookOutbox
    let state: Mutex<EmulatorState>

    public init(
        configuration: EmulatorConfiguration,
        clock: EmulatorClock = EmulatorClock(),
        httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "graph-emulator")
    ) {
        self.clock = clock
        self.logger = logger
        self.poster = WebhookPoster(httpClient: httpClient, logger: logger)
        self.outbox = WebhookOutbox()
        self.state = Mutex(EmulatorState(configuration: configuration))
    }

    public var configuration: EmulatorConfiguration { state.withLock { $0.configuration } }

    /// Receipts (echo, delivery, read) queued or being posted, not yet answered.
    public var unpostedReceipts: Int { outbox.unposted.load(ordering: .relaxed) }

    /// Where webhooks go from now on (e.g. once the receiver's port is known).
    public func setWebhookURL(_ url: String?) {
        state.withLock { $0.configuration.webhookURL = url }
    }

    /// Changes how the receipts of later sends are posted.
    public func setReceiptOrder(_ order: ReceiptOrder) {
        state.withLock { $0.configuration.receiptOrder = order }
    }

    // MARK: - Customers

    /// Adds a customer to a Page and returns a simulator that writes as them.
    @discardableResult
    public func addCustomer(
        pageId: String,
        psid: String? = nil,
        firstName: String,
        lastName: String,
        profile: EmulatedCustomer.ProfileVisibility = .visible,
        readsMessages: Bool = true,
        options: CustomerSimulator.Options = .init()
    ) -> CustomerSimulator {
        let customer = EmulatedCustomer(
            pageId: pageId,
            psid: psid ?? WebhookBuilder.psid(),
            firstName: firstName,
            lastName: lastName,
            profile: profile,
            readsMessages: readsMessages
        )
        state.withLock { $0.customers[CustomerKey(customer.pageId, customer.psid)] = customer }
        return CustomerSimulator(emulator: self, pageId: pageId, psid: customer.psid, options: options)
    }

    /// A simulator for an existing customer (nil when unknown).
    public func customer(pageId: String, psid: String, options: CustomerSimulator.Options = .init()) -> CustomerSimulator? {
        guard state.withLock({ $0.customers[CustomerKey(pageId, psid)] }) != nil else { return nil }
        return CustomerSimulator(emulator: self, pageId: pageId, psid: psid, options: options)
    }

    /// The customers of a Page, in PSID order.
    public func customers(pageId: String) -> [EmulatedCustomer] {
        state.withLock { $0.customers.values.filter { $0.pageId == pageId }.sorted { $0.psid < $1.psid } }
    }

    /// Sets when the customer last wrote (emulator clock), e.g. to open or close a window.
    public func setLastInbound(pageId: String, psid: String, at date: Date?) {
        state.withLock { $0.customers[CustomerKey(pageId, psid)]?.lastInboundAt = date }
    }

    // MARK: - What customers received

    /// Messages the customer received through the Send API, in order.
    public func received(pageId: String, psid: String) -> [ReceivedMessage] {
        state.withLock { $0.received[CustomerKey(pageId, psid)] ?? [] }
    }

    /// Sender actions the customer received, in order.
    public func senderActions(pageId: String, psid: String) -> [ReceivedSenderAction] {
        state.withLock { $0.senderActions[CustomerKey(pageId, psid)] ?? [] }
    }

    /// Number of Send API message calls seen (sender actions excluded).
    public var sendCount: Int { state.withLock { $0.sendCount } }

    /// The `subscribed_fields` of our app on a Page (empty when not subscribed).
    public func subscribedFields(pageId: String) -> [String] {
        state.withLock { $0.subscriptions[pageId] ?? [] }
    }

    // MARK: - Faults

    /// Makes the next matching Send API calls fail or misbehave.
    public func inject(_ fault: Fault) {
        state.withLock { $0.faults.append(fault) }
    }

    /// Removes every pending fault.
    public func clearFaults() {
        state.withLock { $0.faults.removeAll() }
    }

    // MARK: - Events

    /// Everything that happens from now on. Await it in tests instead of sleeping.
    public func events() -> AsyncStream<EmulatorEvent> {
        let (stream, continuation) = AsyncStream<EmulatorEvent>.makeStream(bufferingPolicy: .unbounded)
        let id = UUID()
        state.withLock { $0.subscribers[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    func emit(_ event: EmulatorEvent) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield(event) }
    }

    /// Ends every `events()` stream (on shutdown).
    func finishEvents() {
        let subscribers = state.withLock { state in
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    // MARK: - Webhooks

    func webhookTarget() -> WebhookPoster.Target? {
        state.withLock { state in
            let configuration = state.configuration
            return configuration.webhookURL.map {
                WebhookPoster.Target(
                    url: $0,
                    appSecret: configuration.appSecret,
                    maxAttempts: configuration.webhookMaxAttempts,
                    backoff: configuration.webhookRetryBackoff
                )
            }
        }
    }

    /// Posts a body now (used by customers); retries per configuration. True when a 200 came.
    func postWebhook(_ body: [UInt8], kind: String) async -> Bool {
        guard let target = webhookTarget() else {
            emit(.webhookDropped(kind: kind))
            return false
        }
        let delivered = await poster.deliver(body, to: target) { status, attempt in
            emit(.webhookPosted(kind: kind, status: status, attempt: attempt))
        }
        if !delivered { emit(.webhookDropped(kind: kind)) }
        return delivered
    }
}

struct CustomerKey: Hashable, Sendable {
    var pageId: String
    var psid: String
    init(_ pageId: String, _ psid: String) {
        self.pageId = pageId
        self.psid = psid
    }
}

struct EmulatorState: Sendable {
    var configuration: EmulatorConfiguration
    var customers: [CustomerKey: EmulatedCustomer] = [:]
    var received: [CustomerKey: [ReceivedMessage]] = [:]
    var senderActions: [CustomerKey: [ReceivedSenderAction]] = [:]
    var faults: [Fault] = []
    var sendCount = 0
    var recentCalls: [String: [Date]] = [:]
    var subscriptions: [String: [String]] = [:]
    var tokensSeenInURL = 0
    var subscribers: [UUID: AsyncStream<EmulatorEvent>.Continuation] = [:]

    init(configuration: EmulatorConfiguration) { self.configuration = configuration }

    func page(forToken token: String?) -> EmulatedPage? {
        guard let token, !token.isEmpty else { return nil }
        return configuration.pages.first { $0.token.exposedValue == token }
    }

    /// Takes the first fault matching this call, consuming one of its uses.
    mutating func takeFault(pageId: String, psid: String?, sendNumber: Int, isSenderAction: Bool) -> Fault.Effect? {
        guard
            let index = faults.firstIndex(where: {
                $0.matches(pageId: pageId, psid: psid, sendNumber: sendNumber, isSenderAction: isSenderAction)
            })
        else { return nil }
        faults[index].count -= 1
        let effect = faults[index].effect
        if faults[index].count <= 0 { faults.remove(at: index) }
        return effect
    }

    /// Records a call for the per-Page budget: the calls in the last second (this one
    /// included) and whether they exceed `callsPerSecondPerPage`.
    mutating func recordCall(pageId: String, now: Date) -> (percent: Int, exceeded: Bool) {
        var calls = recentCalls[pageId, default: []].filter { now.timeIntervalSince($0) < 1 && $0 <= now }
        calls.append(now)
        recentCalls[pageId] = calls
        let limit = max(1, configuration.callsPerSecondPerPage)
        return (min(100, calls.count * 100 / limit), calls.count > limit)
    }
}
