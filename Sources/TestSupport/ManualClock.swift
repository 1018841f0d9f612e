import Synchronization

/// A monotonic clock that moves only when told: pacing and rate-limit tests watch what
/// sleeps (`sleeps`) and release it with `advance`, instead of sleeping or timing anything.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol {
        public var offset: Duration
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public static func + (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(by: rhs) }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var nextId = 0
        var onSleep: (@Sendable (Duration) -> Void)?
    }

    private let state = Mutex(State())
    /// Yields the deadline each time something starts sleeping.
    public let sleeps: AsyncStream<Instant>
    private let sleepsContinuation: AsyncStream<Instant>.Continuation

    public init() { (sleeps, sleepsContinuation) = AsyncStream<Instant>.makeStream() }

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Makes every sleep move the clock to its deadline at once, after telling `onSleep` how
    /// long the wait was: code that paces itself on this clock runs at full speed and takes
    /// the same steps on every run, and a test reads the waits it asked for. nil ends it.
    public func advanceOnSleep(_ onSleep: (@Sendable (Duration) -> Void)?) {
        state.withLock { $0.onSleep = onSleep }
    }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        if let onSleep = state.withLock({ $0.onSleep }) {
            let wait = now.duration(to: deadline)
            if wait > .zero {
                onSleep(wait)
                advance(by: wait)
            }
            return
        }
        let id = state.withLock { state in
            defer { state.nextId += 1 }
            return state.nextId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if deadline <= state.now { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() } else { sleepsContinuation.yield(deadline) }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for key in due.keys { state.sleepers.removeValue(forKey: key) }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
