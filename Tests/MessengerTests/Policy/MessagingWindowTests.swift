import Foundation
import Messenger
import Testing

@Suite struct MessagingWindowTests {
    let last = Date(timeIntervalSince1970: 1_764_064_800)
    func after(days: Double = 0, hours: Double = 0, minutes: Double = 0) -> Date {
        last.addingTimeInterval(days * 86_400 + hours * 3_600 + minutes * 60)
    }

    @Test func openJustBefore24Hours() {
        let now = after(hours: 23, minutes: 59)
        #expect(MessagingWindow.decide(lastInboundAt: last, now: now, author: .human) == .allowed(.response))
        #expect(MessagingWindow.decide(lastInboundAt: last, now: now, author: .automation) == .allowed(.response))
        let state = MessagingWindow.state(lastInboundAt: last, now: now)
        #expect(state.state == .open)
        #expect(state.closesAt == after(hours: 24))
    }

    @Test func humanAgentJustAfter24Hours() {
        let now = after(hours: 24, minutes: 1)
        #expect(
            MessagingWindow.decide(lastInboundAt: last, now: now, author: .human) == .allowed(.messageTag(.humanAgent))
        )
        #expect(
            MessagingWindow.decide(lastInboundAt: last, now: now, author: .automation)
                == .refused(.automationAfterStandardWindow)
        )
        let state = MessagingWindow.state(lastInboundAt: last, now: now)
        #expect(state.state == .humanAgent)
        #expect(state.state.rawValue == "human_agent")
        #expect(state.closesAt == after(days: 7))
    }

    @Test func exactly24HoursIsNoLongerOpen() {
        #expect(MessagingWindow.state(lastInboundAt: last, now: after(hours: 24)).state == .humanAgent)
    }

    @Test func closedAfter7Days() {
        let now = after(days: 7, minutes: 1)
        #expect(MessagingWindow.decide(lastInboundAt: last, now: now, author: .human) == .refused(.closed))
        #expect(MessagingWindow.decide(lastInboundAt: last, now: now, author: .automation) == .refused(.closed))
        let state = MessagingWindow.state(lastInboundAt: last, now: now)
        #expect(state.state == .closed)
        #expect(state.closesAt == nil)
        #expect(MessagingWindow.state(lastInboundAt: last, now: after(days: 7)).state == .closed)
        #expect(MessagingWindow.state(lastInboundAt: last, now: after(days: 6, hours: 23, minutes: 59)).state == .humanAgent)
    }

    @Test func neverWrote() {
        #expect(MessagingWindow.decide(lastInboundAt: nil, now: last, author: .human) == .refused(.neverOpened))
        #expect(MessagingWindow.state(lastInboundAt: nil, now: last).state == .closed)
    }

    @Test func refusalsHaveCodesAndSentences() {
        for refusal in [MessagingWindow.Refusal.neverOpened, .automationAfterStandardWindow, .closed] {
            #expect(refusal.rawValue.hasPrefix("window."))
            #expect(refusal.reason.hasSuffix("."))
        }
        #expect(MessagingWindow.Refusal.automationAfterStandardWindow.reason.contains("24 hours"))
    }

    @Test func messagingTypeWireValues() {
        #expect(MessagingType.response.rawValue == "RESPONSE")
        #expect(MessagingType.update.rawValue == "UPDATE")
        #expect(MessagingType.messageTag(.humanAgent).rawValue == "MESSAGE_TAG")
        #expect(MessagingType.messageTag(.humanAgent).tag?.rawValue == "HUMAN_AGENT")
    }
}
