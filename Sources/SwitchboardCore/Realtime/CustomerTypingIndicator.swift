/// Drives Messenger's typing indicator for one conversation from the agents' typing
/// signals. Messenger shows `typing_on` for 20 s or until a message arrives; agents send
/// `typing:start` every few seconds while they type. So: on when the first agent starts,
/// refreshed before Messenger's expiry while anyone still types, off when the last stops
/// or goes quiet, and forgotten (nothing sent) when a message goes out, since Messenger
/// clears it then. A plain value: the caller owns the clock and the Send API.
public struct CustomerTypingIndicator<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration, Instant: Sendable {
    public struct Timing: Sendable, Equatable {
        /// How often `typing_on` is repeated while someone types (under Messenger's 20 s).
        public var refresh: Duration
        /// How long an agent counts as typing after their last signal.
        public var idle: Duration

        public init(refresh: Duration = .seconds(15), idle: Duration = .seconds(6)) {
            self.refresh = refresh
            self.idle = idle
        }
    }

    /// What to send to Messenger.
    public enum Action: Sendable, Equatable {
        case typingOn
        case typingOff
    }

    public let timing: Timing
    private var typers: [String: Instant] = [:]
    private var lastOn: Instant?

    public init(timing: Timing = .init()) {
        self.timing = timing
    }

    /// Whether Messenger is showing the indicator, as far as we told it.
    public var isOn: Bool { lastOn != nil }
    /// Nothing to remember: no one typing and the indicator off.
    public var isIdle: Bool { typers.isEmpty && lastOn == nil }
    /// The agents counted as typing.
    public var typing: Set<String> { Set(typers.keys) }

    /// An agent typed (or is still typing).
    public mutating func start(_ userId: String, at now: Instant) -> Action? {
        typers[userId] = now
        guard let lastOn else {
            self.lastOn = now
            return .typingOn
        }
        return refreshIfDue(now, since: lastOn)
    }

    /// An agent stopped typing.
    public mutating func stop(_ userId: String, at now: Instant) -> Action? {
        typers[userId] = nil
        return offIfNobodyTypes()
    }

    /// Time passed: quiet agents stop counting; the indicator is refreshed or turned off.
    public mutating func tick(at now: Instant) -> Action? {
        typers = typers.filter { $0.value.duration(to: now) < timing.idle }
        if let off = offIfNobodyTypes() { return off }
        guard let lastOn else { return nil }
        return refreshIfDue(now, since: lastOn)
    }

    /// A message went to the customer: Messenger hid the indicator itself.
    public mutating func messageSent() {
        typers = [:]
        lastOn = nil
    }

    private mutating func refreshIfDue(_ now: Instant, since lastOn: Instant) -> Action? {
        guard lastOn.duration(to: now) >= timing.refresh else { return nil }
        self.lastOn = now
        return .typingOn
    }

    private mutating func offIfNobodyTypes() -> Action? {
        guard typers.isEmpty, lastOn != nil else { return nil }
        lastOn = nil
        return .typingOff
    }
}
