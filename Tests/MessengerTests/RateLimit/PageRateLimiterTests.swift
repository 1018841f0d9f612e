import Messenger
import TestSupport
import Testing

/// Driven with instants we choose on a manual clock: no sleeping, no timing.
@Suite struct PageRateLimiterTests {
    typealias Limiter = PageRateLimiter<ManualClock>
    let t0 = ManualClock.Instant(offset: .seconds(1000))

    func usage(_ percent: Int, regainMinutes: Int = 0, id: String = "P") -> BusinessUseCaseUsage {
        BusinessUseCaseUsage(entries: [
            id: [.init(type: "pages", callCount: percent, totalCPUTime: 1, totalTime: 1, estimatedTimeToRegainAccess: regainMinutes)]
        ])
    }

    func burst(_ limiter: inout Limiter, page: String = "P", class sendClass: Limiter.SendClass = .standard, at now: ManualClock.Instant) -> Int {
        var count = 0
        while limiter.reserve(page: page, class: sendClass, now: now) == .proceed { count += 1 }
        return count
    }

    @Test func defaultBurstsAreATenthOfASecondOf300And10() {
        var limiter = Limiter()
        #expect(burst(&limiter, at: t0) == 30)
        #expect(burst(&limiter, class: .media, at: t0) == 1)
        // Pages are independent.
        #expect(burst(&limiter, page: "Q", at: t0) == 30)
    }

    /// Meta counts calls over a sliding second: no second, however it is placed, holds more
    /// than 95 % of the rate, bursts included (a margin for the calls' travel time); and that
    /// much is kept up.
    @Test func anySlidingSecondHoldsAtMost95PercentOfTheRate() {
        var limiter = Limiter()
        var sent: [ManualClock.Instant] = []
        var now = t0
        while now < t0 + .seconds(5) {
            while limiter.reserve(page: "P", now: now) == .proceed { sent.append(now) }
            now = now + .milliseconds(1)
        }
        for (index, start) in sent.enumerated() {
            let inWindow = sent[index...].prefix { $0 < start + .seconds(1) }.count
            #expect(inWindow <= 285)
        }
        #expect(sent.count >= 5 * 285 - 30)
    }

    /// A finished call whose request's writing time is unknown counts as of its answer:
    /// calls held up on their way cannot bunch into one of Meta's seconds. Unfinished ones
    /// count as of their start.
    @Test func finishedCallsCountFromTheirAnswer() {
        var limiter = Limiter(configuration: PageRateLimits(standardPerSecond: 10, burstSeconds: 1))
        #expect(burst(&limiter, at: t0) == 9, "95 % of 10, rounded down")
        for _ in 0..<8 { limiter.finished(page: "P", now: t0 + .milliseconds(600)) }
        // The one still unfinished left the second at t0 + 1 s; the eight answered at
        // t0 + 0.6 s hold the second until t0 + 1.6 s.
        #expect(limiter.reserve(page: "P", now: t0 + .seconds(1)) == .proceed)
        #expect(limiter.reserve(page: "P", now: t0 + .seconds(1)) == .wait(.milliseconds(600)))
        #expect(burst(&limiter, at: t0 + .milliseconds(1600)) == 8)
        // Another class of the same Page is counted apart.
        #expect(limiter.reserve(page: "P", class: .media, now: t0 + .milliseconds(1600)) == .proceed)
    }

    /// A call counts as of the moment its request was written, however long Meta then
    /// takes to answer.
    @Test func finishedCallsCountFromWhenTheirRequestWasWritten() {
        var limiter = Limiter(configuration: PageRateLimits(standardPerSecond: 10, burstSeconds: 1))
        #expect(burst(&limiter, at: t0) == 9)
        // Written 50 ms after they were let go (held up here), answered 550 ms later.
        for _ in 0..<8 { limiter.finished(page: "P", now: t0 + .milliseconds(600), writtenAgo: .milliseconds(550)) }
        #expect(limiter.reserve(page: "P", now: t0 + .seconds(1)) == .proceed)
        #expect(limiter.reserve(page: "P", now: t0 + .seconds(1)) == .wait(.milliseconds(50)))
        #expect(burst(&limiter, at: t0 + .milliseconds(1050)) == 8)
    }

    /// With Meta taking 300 ms to answer each call, the Page still sends at 95 % of its
    /// limit, and no sliding second of written requests holds more than that. Counting
    /// calls until their answer allowed 95 % over 1.3 s instead.
    @Test func metasLatencyCostsNoRate() {
        var limiter = Limiter()
        var written: [ManualClock.Instant] = []
        var inFlight: [ManualClock.Instant] = []  // answer times, ascending
        var now = t0
        while now < t0 + .seconds(5) {
            while let answer = inFlight.first, answer <= now {
                inFlight.removeFirst()
                limiter.finished(page: "P", now: now, writtenAgo: .milliseconds(299))
            }
            while limiter.reserve(page: "P", now: now) == .proceed {
                written.append(now + .milliseconds(1))
                inFlight.append(now + .milliseconds(300))
            }
            now = now + .milliseconds(1)
        }
        for (index, start) in written.enumerated() {
            #expect(written[index...].prefix { $0 < start + .seconds(1) }.count <= 285)
        }
        #expect(written.count >= 5 * 285 - 30)
    }

    /// When a call that took over a second finishes (its own entry gone), the entry of a
    /// later call it takes keeps counting from when that call was let go.
    @Test func aSlowCallNeverUncountsALaterOne() {
        var limiter = Limiter(configuration: PageRateLimits(standardPerSecond: 3, burstSeconds: 1))
        #expect(burst(&limiter, at: t0) == 2)
        // The second call is answered at once; the first hangs.
        limiter.finished(page: "P", now: t0 + .milliseconds(10), writtenAgo: .milliseconds(5))
        // A new call goes at t0 + 1.5 s (the first's entry left the second at t0 + 1 s).
        #expect(limiter.reserve(page: "P", now: t0 + .milliseconds(1500)) == .proceed)
        // The first answers at t0 + 1.6 s, written at t0 + 1 ms; the entry it takes is the
        // one of the call let go at t0 + 1.5 s.
        limiter.finished(page: "P", now: t0 + .milliseconds(1600), writtenAgo: .milliseconds(1599))
        #expect(limiter.reserve(page: "P", now: t0 + .milliseconds(1600)) == .proceed)
        #expect(limiter.reserve(page: "P", now: t0 + .milliseconds(1600)) != .proceed, "the later call still counts")
    }

    /// Among two sending processes, each keeps to half of every limit.
    @Test func aShareScalesEveryLimit() {
        var limiter = Limiter()
        limiter.share = 0.5
        #expect(burst(&limiter, at: t0) == 15)
        #expect(limiter.currentRate(page: "P") == 150)
        var sent = 15
        for millisecond in 1..<1000 { sent += burst(&limiter, at: t0 + .milliseconds(millisecond)) }
        #expect(sent == 142, "95 % of 150 in the sliding second")
        limiter.share = 0
        #expect(limiter.share == 0.001, "never nothing")
    }

    @Test func smallLimitsKeepAtLeastOneCallOfMargin() {
        let limits = PageRateLimits()
        #expect(limits.callsPerSecond(300) == 285)
        #expect(limits.callsPerSecond(40) == 38)
        #expect(limits.callsPerSecond(10) == 9)
        #expect(limits.callsPerSecond(2) == 1)
        #expect(limits.callsPerSecond(1) == 1)
        #expect(limits.callsPerSecond(0.5) == 1)
    }

    @Test func refillsWithTime() {
        var limiter = Limiter()
        _ = burst(&limiter, class: .media, at: t0)
        guard case .wait(let delay) = limiter.reserve(page: "P", class: .media, now: t0) else {
            Issue.record("expected a wait")
            return
        }
        #expect(delay == .milliseconds(100))
        #expect(limiter.reserve(page: "P", class: .media, now: t0 + .milliseconds(99)) != .proceed)
        #expect(limiter.reserve(page: "P", class: .media, now: t0 + .milliseconds(100)) == .proceed)
        #expect(burst(&limiter, class: .media, at: t0 + .seconds(10)) == 1)
        #expect(burst(&limiter, at: t0 + .seconds(10)) == 30)
    }

    @Test func slowsDownAbove80Percent() {
        var limiter = Limiter()
        limiter.record(usage: usage(80), page: "P", now: t0)
        #expect(limiter.currentRate(page: "P") == 300)
        limiter.record(usage: usage(90), page: "P", now: t0)
        #expect(limiter.currentRate(page: "P") < 300)
        #expect(limiter.currentRate(page: "P") > 285)
        // Gently to 95 % of the rate at 95 % usage, then steeply.
        limiter.record(usage: usage(95), page: "P", now: t0)
        #expect(abs(limiter.currentRate(page: "P") - 285) < 1e-9)
        limiter.record(usage: usage(99), page: "P", now: t0)
        #expect(limiter.currentRate(page: "P") < 100)
        limiter.record(usage: usage(100), page: "P", now: t0)
        #expect(abs(limiter.currentRate(page: "P") - 15) < 1e-9)
        #expect(abs(limiter.currentRate(page: "P", class: .media) - 0.5) < 1e-9)
        limiter.record(usage: usage(10), page: "P", now: t0)
        #expect(limiter.currentRate(page: "P") == 300)
    }

    @Test func pausesUntilAccessIsRegained() {
        var limiter = Limiter()
        limiter.record(usage: usage(100, regainMinutes: 5), page: "P", now: t0)
        #expect(limiter.reserve(page: "P", now: t0 + .seconds(1)) == .wait(.seconds(299)))
        #expect(limiter.pausedUntil(page: "P", now: t0) == t0 + .seconds(300))
        #expect(limiter.reserve(page: "Q", now: t0) == .proceed)
        limiter.record(usage: usage(10), page: "P", now: t0 + .seconds(300))
        #expect(limiter.reserve(page: "P", now: t0 + .seconds(300)) == .proceed)
        #expect(limiter.pausedUntil(page: "P", now: t0 + .seconds(300)) == nil)
    }

    @Test func explicitPauseNeverShortens() {
        var limiter = Limiter()
        limiter.pause(page: "P", for: .seconds(60), now: t0)
        limiter.pause(page: "P", for: .seconds(10), now: t0)
        #expect(limiter.pausedUntil(page: "P", now: t0) == t0 + .seconds(60))
    }

    @Test func usageKeyedByAnotherIdStillCounts() {
        var limiter = Limiter()
        limiter.record(usage: usage(100, regainMinutes: 1, id: "business-1"), page: "P", now: t0)
        #expect(limiter.pausedUntil(page: "P", now: t0) == t0 + .seconds(60))
    }
}

@Suite struct BusinessUseCaseUsageTests {
    @Test func parsesTheHeader() throws {
        let header =
            #"{"106123456789012":[{"type":"pages","call_count":28,"total_cputime":85,"total_time":20,"estimated_time_to_regain_access":0},{"type":"messenger","call_count":5,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":3}]}"#
        let usage = try #require(BusinessUseCaseUsage(header: header))
        #expect(usage.entries["106123456789012"]?.count == 2)
        #expect(usage.percent(for: "106123456789012") == 85)
        #expect(usage.regainAccessAfter(for: "106123456789012") == .seconds(180))
        #expect(usage.percent(for: "other") == 0)
        #expect(BusinessUseCaseUsage(header: usage.headerValue) == usage)
    }

    @Test func rejectsNonsense() {
        #expect(BusinessUseCaseUsage(header: nil) == nil)
        #expect(BusinessUseCaseUsage(header: "") == nil)
        #expect(BusinessUseCaseUsage(header: "[1]") == nil)
        #expect(BusinessUseCaseUsage(header: #"{"1":"x"}"#)?.percent() == 0)
    }
}
