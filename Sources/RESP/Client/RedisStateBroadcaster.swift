import Synchronization

/// Fans state changes out to any number of `AsyncStream`s and an optional callback, emitting
/// only actual changes.
final class RedisStateBroadcaster: Sendable {
    private struct State {
        var current: RedisStateChange
        var nextID = 0
        var continuations: [Int: AsyncStream<RedisStateChange>.Continuation] = [:]
    }

    private let state: Mutex<State>
    private let callback: (@Sendable (RedisStateChange) -> Void)?

    init(initial: RedisConnectionState, callback: (@Sendable (RedisStateChange) -> Void)?) {
        self.state = Mutex(State(current: RedisStateChange(state: initial)))
        self.callback = callback
    }

    var current: RedisStateChange { state.withLock { $0.current } }

    /// Publishes `change` unless the state is already `change.state`.
    func publish(_ change: RedisStateChange) {
        let targets: [AsyncStream<RedisStateChange>.Continuation]? = state.withLock { s in
            guard s.current.state != change.state else { return nil }
            s.current = change
            return Array(s.continuations.values)
        }
        guard let targets else { return }
        for c in targets { c.yield(change) }
        callback?(change)
    }

    /// A stream that starts with the current state, then every change; ends at shutdown.
    func makeStream() -> AsyncStream<RedisStateChange> {
        let (stream, continuation) = AsyncStream<RedisStateChange>.makeStream()
        let id = state.withLock { s in
            let id = s.nextID
            s.nextID += 1
            s.continuations[id] = continuation
            continuation.yield(s.current)
            if s.current.state == .shutdown { continuation.finish() }
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.continuations.removeValue(forKey: id) }
        }
        return stream
    }

    func finish() {
        let all = state.withLock { s in
            defer { s.continuations.removeAll() }
            return Array(s.continuations.values)
        }
        for c in all { c.finish() }
    }
}
