import Synchronization

/// Wakes waiting workers when new work lands, so a job enqueued in this process starts
/// within microseconds instead of at the next poll. Waiters also give up after a timeout,
/// which covers work enqueued by other processes.
public final class WorkSignal: Sendable {
    private struct State {
        /// Set by a notify that found nobody waiting, so a worker that was busy claiming
        /// when the work arrived does not then sleep through it.
        var pending = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0

        /// Whether a notify came while nobody waited (and forgets it).
        mutating func takePending() -> Bool {
            defer { pending = false }
            return pending
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// Wakes every current waiter.
    public func notify() {
        let waiters = state.withLock { state in
            state.pending = state.waiters.isEmpty
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns at the next ``notify()``, after `timeout`, or on cancellation.
    public func wait(timeout: Duration) async {
        let id = state.withLock { state -> UInt64? in
            if state.takePending() { return nil }
            state.nextID &+= 1
            return state.nextID
        }
        guard let id else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state -> Bool in
                            // A notify between the check above and now found nobody waiting.
                            if state.takePending() { return true }
                            if Task.isCancelled { return true }
                            state.waiters[id] = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    self.resume(id)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func resume(_ id: UInt64) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.resume()
    }
}
