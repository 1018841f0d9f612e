import SwitchboardCore
import Testing

/// Time on a hand-moved clock.
struct TestInstant: InstantProtocol {
    var offset: Duration
    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
    static func at(_ seconds: Double) -> TestInstant { TestInstant(offset: .milliseconds(Int64(seconds * 1000))) }
}

@Suite("Customer typing indicator")
struct CustomerTypingIndicatorTests {
    typealias Indicator = CustomerTypingIndicator<TestInstant>

    @Test("on with the first typist, off with the last, nothing in between")
    func onAndOff() {
        var indicator = Indicator()
        #expect(indicator.start("ann", at: .at(0)) == .typingOn)
        #expect(indicator.start("bob", at: .at(1)) == nil)
        #expect(indicator.start("ann", at: .at(3)) == nil, "signals within the refresh interval send nothing")
        #expect(indicator.stop("ann", at: .at(4)) == nil, "Bob still types")
        #expect(indicator.stop("bob", at: .at(5)) == .typingOff)
        #expect(indicator.isIdle)
        #expect(indicator.stop("bob", at: .at(6)) == nil, "already off")
    }

    @Test("refreshed before Messenger's 20 s expiry while someone types")
    func refresh() {
        var indicator = Indicator()
        _ = indicator.start("ann", at: .at(0))
        for second in stride(from: 3.0, through: 12.0, by: 3) {
            #expect(indicator.start("ann", at: .at(second)) == nil)
            #expect(indicator.tick(at: .at(second + 0.5)) == nil)
        }
        #expect(indicator.start("ann", at: .at(15)) == .typingOn)
        #expect(indicator.start("ann", at: .at(18)) == nil)
        #expect(indicator.tick(at: .at(24)) == .typingOff, "quiet for the idle time")
    }

    @Test("a typist who goes quiet stops counting after the idle time")
    func idle() {
        var indicator = Indicator(timing: .init(refresh: .seconds(15), idle: .seconds(6)))
        _ = indicator.start("ann", at: .at(0))
        _ = indicator.start("bob", at: .at(4))
        #expect(indicator.tick(at: .at(5.9)) == nil)
        #expect(indicator.tick(at: .at(6)) == nil, "Ann is quiet but Bob types")
        #expect(indicator.typing == ["bob"])
        #expect(indicator.tick(at: .at(10)) == .typingOff)
        #expect(indicator.tick(at: .at(11)) == nil)
    }

    @Test("a sent message clears the indicator without a typing_off; the next keystroke turns it on again")
    func messageSent() {
        var indicator = Indicator()
        _ = indicator.start("ann", at: .at(0))
        indicator.messageSent()
        #expect(!indicator.isOn)
        #expect(indicator.tick(at: .at(1)) == nil)
        #expect(indicator.stop("ann", at: .at(1)) == nil)
        #expect(indicator.start("ann", at: .at(2)) == .typingOn)
    }
}
