import SwitchboardCore
import SwitchboardStore
import Testing

/// The embedded queue's memory of what may be claimable (SQLite), as a plain value.
@Suite("Claim hints")
struct ClaimHintsTests {
    static let answer = JobKind.botAnswer
    static let send = JobKind.sendMessage
    static let botLane = JobKindFilter.only([answer])
    static let general = JobKindFilter.except([answer])

    /// A filter settled at `now` by a claim that began before anything else happened.
    static func settled(_ filters: JobKindFilter..., now: Int64 = 0) throws -> ClaimHints {
        var hints = ClaimHints(trust: 500)
        for filter in filters {
            let asOf = try #require(hints.claimable(filter, now: now))
            hints.settle(filter, asOf: asOf, now: now)
        }
        return hints
    }

    @Test("a filter nobody has settled is worth a claim; once settled, it is not until one of its kinds is touched")
    func touchesWakeOnlyTheirFilters() throws {
        var hints = try Self.settled(Self.botLane, Self.general)
        #expect(hints.claimable(Self.botLane, now: 1) == nil)
        #expect(hints.claimable(Self.general, now: 1) == nil)
        hints.touch([Self.send])
        #expect(hints.claimable(Self.general, now: 1) != nil)
        #expect(hints.claimable(Self.botLane, now: 1) == nil, "a send is none of the bot lane's business")
        hints.touch([Self.answer])
        #expect(hints.claimable(Self.botLane, now: 1) != nil)
        #expect(hints.claimable(.any, now: 1) != nil, "never settled")
    }

    @Test("a touch made while a claim runs outlives that claim's settling")
    func touchDuringClaimIsKept() throws {
        var hints = try Self.settled(Self.general)
        hints.touch([Self.send])
        let asOf = try #require(hints.claimable(Self.general, now: 1))
        hints.touch([Self.send])  // enqueued while the claim ran, and not seen by it
        hints.settle(Self.general, asOf: asOf, now: 1)
        #expect(hints.claimable(Self.general, now: 2) != nil)
    }

    @Test("a scheduled job makes its filter worth a claim when it falls due, and once after")
    func scheduledJobsFallDue() throws {
        var hints = try Self.settled(Self.botLane, Self.general)
        hints.schedule(Self.answer, at: 300)
        hints.schedule(Self.send, at: 200)
        #expect(hints.claimable(Self.botLane, now: 299) == nil)
        let asOf = try #require(hints.claimable(Self.botLane, now: 300))
        hints.settle(Self.botLane, asOf: asOf, now: 300)
        #expect(hints.claimable(Self.botLane, now: 301) == nil, "seen by the claim at 300")
        #expect(hints.claimable(Self.general, now: 301) != nil, "the send due at 200 is still unseen")
    }

    @Test("scheduled times are bounded: the latest are forgotten, the earliest kept")
    func scheduledTimesAreBounded() throws {
        var hints = try Self.settled(Self.botLane)
        for n in 0..<(ClaimHints.maxScheduled + 10) { hints.schedule(Self.answer, at: Int64(1000 + n)) }
        #expect(hints.claimable(Self.botLane, now: 1000) != nil)
        let asOf = try #require(hints.claimable(Self.botLane, now: 1000))
        hints.settle(Self.botLane, asOf: asOf, now: Int64(1000 + ClaimHints.maxScheduled - 1))
        #expect(hints.claimable(Self.botLane, now: Int64(1000 + ClaimHints.maxScheduled + 5)) == nil, "forgotten: left to the poll")
    }

    @Test("settling is trusted for a while only; leases handed back wholesale and a full claim end it at once")
    func trustEnds() throws {
        var hints = try Self.settled(Self.general)
        #expect(hints.claimable(Self.general, now: 499) == nil)
        #expect(hints.claimable(Self.general, now: 500) != nil, "what no hint sees (a lapsed lease) is found by then")
        hints.touchAll()
        #expect(hints.claimable(Self.general, now: 1) != nil)
        hints = try Self.settled(Self.general)
        hints.unsettle(Self.general)
        #expect(hints.claimable(Self.general, now: 1) != nil)
    }
}
