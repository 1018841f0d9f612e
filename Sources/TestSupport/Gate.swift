import Synchronization

/// Holds the tasks that pass it until it is opened, then lets every one through (and every
/// later one at once): a test's way to keep a handler busy for exactly as long as it needs.
public final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    /// Returns once the gate is open.
    public func pass() async {
        await withCheckedContinuation { waiter in
            let through = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiting.append(waiter)
                return false
            }
            if through { waiter.resume() }
        }
    }

    /// Opens the gate for good.
    public func open() {
        let waiting = state.withLock { state in
            state.open = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for waiter in waiting { waiter.resume() }
    }
}
