import Testing

@testable import RESP

/// The pool's decisions, event by event, without connections or clocks.
@Suite struct RedisPoolStateMachineTests {
    @Test func opensMinimumAndLeasesIdleConnections() {
        var m = RedisPoolStateMachine(minimumConnections: 1, maximumConnections: 2)
        #expect(m.start() == 1)
        #expect(m.health == .connecting)
        #expect(m.connectSucceeded(10) == .none)
        #expect(m.health == .connected)
        #expect(m.acquire(1) == .lease(10))
        #expect(m.release(10, isActive: true) == .none)
        #expect(m.acquire(2) == .lease(10))
    }

    @Test func opensUpToMaximumThenQueues() {
        var m = RedisPoolStateMachine(minimumConnections: 0, maximumConnections: 2)
        #expect(m.acquire(1) == .wait(connect: true))
        #expect(m.acquire(2) == .wait(connect: true))
        #expect(m.acquire(3) == .wait(connect: false))
        #expect(m.connectSucceeded(100) == .lease(100, to: 1))
        #expect(m.connectSucceeded(101) == .lease(101, to: 2))
        #expect(m.release(100, isActive: true) == .lease(100, to: 3))
        #expect(m.openCount == 2)
    }

    @Test func timedOutWaiterIsRemoved() {
        var m = RedisPoolStateMachine(minimumConnections: 0, maximumConnections: 1)
        #expect(m.acquire(1) == .wait(connect: true))
        let removed = m.removeWaiter(1)
        #expect(removed)
        let again = m.removeWaiter(1)
        #expect(!again)
        #expect(m.connectSucceeded(5) == .none)
        #expect(m.acquire(2) == .lease(5))
    }

    @Test func connectFailureFailsWaitersAndSchedulesRetryForMinimum() {
        var m = RedisPoolStateMachine(minimumConnections: 1, maximumConnections: 4)
        _ = m.start()
        #expect(m.acquire(1) == .wait(connect: false))
        #expect(m.connectFailed() == .fail([1], retryAttempt: 0))
        #expect(m.health == .reconnecting)
        // While the retry is pending, a new waiter waits for it instead of opening another.
        #expect(m.acquire(2) == .wait(connect: false))
        var due = m.retryDue()
        #expect(due)
        #expect(m.connectFailed() == .fail([2], retryAttempt: 1))
        due = m.retryDue()
        #expect(due)
        #expect(m.connectSucceeded(7) == .none)
        #expect(m.health == .connected)
    }

    @Test func droppedIdleConnectionIsReplacedBelowMinimum() {
        var m = RedisPoolStateMachine(minimumConnections: 1, maximumConnections: 2)
        _ = m.start()
        _ = m.connectSucceeded(1)
        #expect(m.connectionClosed(1) == .connect)
        #expect(m.health == .reconnecting)
        #expect(m.connectionClosed(1) == .none)
    }

    @Test func deadLeasedConnectionIsReplacedForWaiters() {
        var m = RedisPoolStateMachine(minimumConnections: 0, maximumConnections: 1)
        #expect(m.acquire(1) == .wait(connect: true))
        #expect(m.connectSucceeded(1) == .lease(1, to: 1))
        #expect(m.acquire(2) == .wait(connect: false))
        #expect(m.release(1, isActive: false) == .connect)
        #expect(m.connectSucceeded(2) == .lease(2, to: 2))
    }

    @Test func shutdownClosesIdleFailsWaitersAndClosesLeasedOnRelease() {
        var m = RedisPoolStateMachine(minimumConnections: 0, maximumConnections: 2)
        #expect(m.acquire(1) == .wait(connect: true))
        #expect(m.acquire(2) == .wait(connect: true))
        #expect(m.connectSucceeded(1) == .lease(1, to: 1))
        #expect(m.acquire(3) == .wait(connect: false))
        let (close, fail) = m.shutdown()
        #expect(close.isEmpty)
        #expect(fail == [2, 3])
        #expect(m.release(1, isActive: true) == .close(1))
        #expect(m.connectSucceeded(2) == .close(2))
        #expect(m.acquire(4) == .fail(.clientShutdown))
        #expect(m.health == .shutdown)
    }
}
