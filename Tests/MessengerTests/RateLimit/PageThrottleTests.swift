import Messenger
import TestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct PageThrottleTests {
    @Test func waitsOnTheClockForTheNextToken() async throws {
        let clock = ManualClock()
        let throttle = PageThrottle(clock: clock)
        try await throttle.acquire(page: "P", class: .media)
        var sleeps = clock.sleeps.makeAsyncIterator()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await throttle.acquire(page: "P", class: .media) }
            // The second audio send in the same instant sleeps for exactly one token (1/10 s).
            #expect(await sleeps.next() == ManualClock.Instant(offset: .milliseconds(100)))
            clock.advance(by: .milliseconds(100))
            try await group.waitForAll()
        }
        #expect(clock.now == ManualClock.Instant(offset: .milliseconds(100)))
    }

    @Test func pauseHoldsUntilTheClockPassesIt() async throws {
        let clock = ManualClock()
        let throttle = PageThrottle(clock: clock)
        await throttle.pause(page: "P", for: .seconds(60))
        #expect(await throttle.pausedUntil(page: "P") == ManualClock.Instant(offset: .seconds(60)))
        var sleeps = clock.sleeps.makeAsyncIterator()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await throttle.acquire(page: "P") }
            #expect(await sleeps.next() == ManualClock.Instant(offset: .seconds(60)))
            clock.advance(by: .seconds(60))
            try await group.waitForAll()
        }
        #expect(await throttle.pausedUntil(page: "P") == nil)
        try await throttle.acquire(page: "Q")
    }

    @Test func longerWaitsThanTheLimitAreReturnedNotSlept() async throws {
        let clock = ManualClock()
        let throttle = PageThrottle(clock: clock)
        await throttle.pause(page: "P", for: .seconds(60))
        // Paused: the wait is handed back, no token is taken, nothing sleeps.
        #expect(try await throttle.acquire(page: "P", class: .standard, waitingAtMost: .seconds(1)) == .seconds(60))
        clock.advance(by: .seconds(60))
        #expect(try await throttle.acquire(page: "P", class: .standard, waitingAtMost: .seconds(1)) == nil)

        // A wait within the limit is slept on the clock, then the token is taken.
        try await throttle.acquire(page: "Q", class: .media)
        var sleeps = clock.sleeps.makeAsyncIterator()
        try await withThrowingTaskGroup(of: Duration?.self) { group in
            group.addTask { try await throttle.acquire(page: "Q", class: .media, waitingAtMost: .seconds(1)) }
            #expect(await sleeps.next() == ManualClock.Instant(offset: .seconds(60) + .milliseconds(100)))
            clock.advance(by: .milliseconds(100))
            let taken = try await group.next()
            #expect(taken == .some(nil))
        }
    }

    /// Waits in place add up to the limit at most: a send that keeps losing its turn is
    /// handed its next wait instead of sleeping on (its job's lease would lapse).
    @Test func waitsInPlaceAddUpToTheLimitAtMost() async throws {
        let clock = ManualClock()
        let throttle = PageThrottle(clock: clock)
        try await throttle.acquire(page: "P", class: .media)
        var sleeps = clock.sleeps.makeAsyncIterator()
        try await withThrowingTaskGroup(of: Duration?.self) { group in
            group.addTask { try await throttle.acquire(page: "P", class: .media, waitingAtMost: .milliseconds(110)) }
            #expect(await sleeps.next() == ManualClock.Instant(offset: .milliseconds(100)))
            // While it sleeps for its token, the Page is paused a little longer: 20 ms more
            // would make 120 ms in place.
            await throttle.pause(page: "P", for: .milliseconds(120))
            clock.advance(by: .milliseconds(100))
            let handedBack = try await group.next()
            #expect(handedBack == .some(.milliseconds(20)))
        }
    }

    /// Sends handed back to wait get turns a token apart, in order; once the turns reach
    /// past the limit, a send takes the next one at once, unless a token is free.
    @Test func handedBackWaitsAreTurnsATokenApart() async throws {
        let clock = ManualClock()
        let throttle = PageThrottle(clock: clock)
        await throttle.pause(page: "P", for: .seconds(60))
        var turns: [Duration?] = []
        for _ in 0..<3 { turns.append(try await throttle.acquire(page: "P", class: .media, waitingAtMost: .seconds(1))) }
        #expect(turns == [.seconds(60), .milliseconds(60_100), .milliseconds(60_200)])
        // Another class and another Page have turns of their own.
        #expect(try await throttle.acquire(page: "P", class: .standard, waitingAtMost: .seconds(1)) == .seconds(60))
        #expect(try await throttle.acquire(page: "Q", class: .media, waitingAtMost: .seconds(1)) == nil)
        // The first turn comes: its send finds a token, and the next send still queues up
        // behind the turns promised, without waiting in place.
        clock.advance(by: .seconds(60))
        #expect(try await throttle.acquire(page: "P", class: .media, waitingAtMost: .seconds(1)) == nil)
        #expect(try await throttle.acquire(page: "P", class: .media, waitingAtMost: .milliseconds(50)) == .milliseconds(300))
    }

    @Test func usageAbove80PercentStretchesTheWaits() async throws {
        let clock = ManualClock()
        let throttle = PageThrottle(clock: clock, configuration: PageRateLimits(standardPerSecond: 10))
        let full = BusinessUseCaseUsage(entries: ["P": [.init(type: "pages", callCount: 100, totalCPUTime: 1, totalTime: 1)]])
        await throttle.record(usage: full, page: "P")
        #expect(abs(await throttle.currentRate(page: "P") - 0.5) < 1e-9)
        try await throttle.acquire(page: "P")
        // At 100 % usage a token comes every 2 s instead of every 100 ms.
        #expect(try await throttle.acquire(page: "P", class: .standard, waitingAtMost: .seconds(1)) == .seconds(2))
        let calm = BusinessUseCaseUsage(entries: ["P": [.init(type: "pages", callCount: 10, totalCPUTime: 1, totalTime: 1)]])
        await throttle.record(usage: calm, page: "P")
        #expect(await throttle.currentRate(page: "P") == 10)
    }

    @Test func cancellationEndsTheWait() async throws {
        let clock = ManualClock()
        let throttle = PageThrottle(clock: clock)
        await throttle.pause(page: "P", for: .seconds(60))
        var sleeps = clock.sleeps.makeAsyncIterator()
        let task = Task { try await throttle.acquire(page: "P") }
        _ = await sleeps.next()
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
