import SwitchboardCore
import Testing

/// Workers sleep on a `WorkSignal` between jobs; it must never lose a wake-up.
@Suite("WorkSignal", .timeLimit(.minutes(1)))
struct WorkSignalTests {
    static let forever = Duration.seconds(3600)

    @Test("a notify with nobody waiting is kept for the next wait, once")
    func notifyBeforeWaitIsKept() async {
        let signal = WorkSignal()
        signal.notify()
        await signal.wait(timeout: Self.forever)
        let second = Task { await signal.wait(timeout: Self.forever) }
        signal.notify()  // wakes the second wait, whether it began yet or not
        await second.value
    }

    @Test("a notify wakes every waiter")
    func notifyWakesAll() async {
        let signal = WorkSignal()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { await signal.wait(timeout: Self.forever) } }
            // Waiters that have not begun yet find the kept notify; keep notifying until all returned.
            let woken = Task {
                while !Task.isCancelled {
                    signal.notify()
                    await Task.yield()
                }
            }
            await group.waitForAll()
            woken.cancel()
        }
    }

    @Test("a wait ends at its timeout, and when its task is cancelled")
    func timeoutAndCancellation() async {
        let signal = WorkSignal()
        await signal.wait(timeout: .milliseconds(5))
        let waiting = Task { await signal.wait(timeout: Self.forever) }
        waiting.cancel()
        await waiting.value
    }
}
