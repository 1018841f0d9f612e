import Synchronization

/// A clock that moves only when a test moves it. Each `sleep` is announced on `sleeps`, so
/// a test awaits "the client is now waiting for X" and then advances: no real waiting.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Waiter {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var waiters: [Int: Waiter] = [:]
        var nextId = 0
    }

    private let state = Mutex(State())
    /// Every deadline something started sleeping until, in order.
    let sleeps: AsyncStream<Instant>
    private let announce: AsyncStream<Instant>.Continuation

    init() { (sleeps, announce) = AsyncStream<Instant>.makeStream(bufferingPolicy: .unbounded) }

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state in
            defer { state.nextId += 1 }
            return state.nextId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let due = state.withLock { state -> Bool in
                    guard deadline > state.now else { return true }
                    state.waiters[id] = Waiter(deadline: deadline, continuation: continuation)
                    return false
                }
                if due { continuation.resume() } else { announce.yield(deadline) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time on and wakes every sleeper now due.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Waiter] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.waiters.filter { $0.value.deadline <= now }
            for id in due.keys { state.waiters.removeValue(forKey: id) }
            return Array(due.values)
        }
        for waiter in due { waiter.continuation.resume() }
    }

    /// Waits until something sleeps until an instant other than `excluded` (the call's
    /// deadline), and returns how long that sleep is from now.
    func nextSleep(excluding excluded: Duration) async -> Duration? {
        for await deadline in sleeps where deadline.offset != excluded {
            return now.duration(to: deadline)
        }
        return nil
    }
}
