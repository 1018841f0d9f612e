import Foundation
import SwitchboardCore
import Testing

/// What a feed comes to before the store carries it out.
@Suite struct BotFeedPlanTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func plan(_ events: [BotEvent], state: BotConversationState = BotConversationState(), at seconds: TimeInterval = 0) -> BotFeedPlan {
        BotFeedPlan(settings: BotSettings(), state: state, events: events, actor: "webhook", conversationId: "42", now: start + seconds)
    }

    @Test func aCustomerMessageSchedulesTheDebouncedAnswerInTheConversationsBotPartition() {
        let plan = plan([.customerMessage(text: "Do you ship?", at: start)])
        #expect(plan.needsSave)
        #expect(plan.jobs == [NewJob(kind: .botAnswer, partition: "bot:42", payload: Array("42".utf8), maxAttempts: 5, runAt: start + 3)])
        #expect(plan.answer == nil && plan.notice == nil && plan.changes.isEmpty)
    }

    @Test func aDueAnswerChangesNothingSoTheVersionHolds() {
        let pending = plan([.customerMessage(text: "Do you ship?", at: start)]).state
        let due = plan([.answerDue], state: pending, at: 3)
        #expect(due.answer?.disclose == true && due.answer?.upTo == start)
        #expect(!due.needsSave)
        #expect(!plan([.ownEcho(at: start)], state: pending).needsSave)
    }

    @Test func askingForAPersonPausesWithTheNoticeAndOneChange() {
        let plan = plan([.customerMessage(text: "a human please", at: start)])
        #expect(plan.notice == BotTexts().handover)
        #expect(plan.changes == [BotStateChange(state: "paused", reason: "customer_asked_for_human", actor: "webhook")])
        #expect(plan.handovers == [.customerAskedForHuman])
        #expect(plan.jobs.isEmpty)
    }

    @Test func aModelFailureGetsTheFallbackText() {
        let pending = plan([.customerMessage(text: "Do you ship?", at: start)]).state
        let failed = plan([.answerFailed(.llmFailed)], state: pending, at: 3)
        #expect(failed.notice == BotTexts().fallback)
        #expect(failed.handovers == [.llmFailed])
    }
}
