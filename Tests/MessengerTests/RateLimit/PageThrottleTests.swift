import Messenger
import Testing

@Suite(.timeLimit(.minutes(1))) struct PageThrottleTests {
    @Test func waitsOnTheClockForTheNextToken() async throws {
        let clock = ManualClock()
        let throttle = PageThrottle(clock: clock)
        for _ in 0..<10 { try await throttle.acquire(page: "P", class: .media) }
        var sleeps = clock.sleeps.makeAsyncIterator()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await throttle.acquire(page: "P", class: .media) }
            // The 11th audio send in the same instant sleeps for exactly one token (1/10 s).
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
