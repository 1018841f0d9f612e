import Foundation
import SwitchboardCore
import Testing

/// Times as seconds after a fixed start, so every expectation reads as a timeline.
private func t(_ seconds: TimeInterval) -> Date { Date(timeIntervalSince1970: 1_800_000_000 + seconds) }
private let minute: TimeInterval = 60
private let hour: TimeInterval = 3600

@Suite struct BotPolicyTests {
    /// Runs one answer cycle: the message, the due time, the sent answer. Returns the answer action.
    @discardableResult
    func answerCycle(_ policy: inout BotPolicy, text: String = "question", at time: TimeInterval) -> BotDecision.Action {
        guard case .wait(let due) = policy.handle(.customerMessage(text: text, at: t(time)), now: t(time)).action else { return .none }
        let decision = policy.handle(.answerDue, now: due)
        if case .answer(let disclose, let upTo) = decision.action {
            _ = policy.handle(.answerSent(at: due, upTo: upTo, disclosed: disclose), now: due)
        }
        return decision.action
    }

    @Test func aMessageIsAnsweredOnceAfterTheDebounceWithDisclosureFirst() {
        var policy = BotPolicy()
        #expect(policy.handle(.customerMessage(text: "Do you ship?", at: t(0)), now: t(0)) == BotDecision(.wait(until: t(3)), reason: "debounce"))
        #expect(policy.handle(.answerDue, now: t(3)) == BotDecision(.answer(disclose: true, upTo: t(0)), reason: "answer"))
        #expect(policy.handle(.answerSent(at: t(4), upTo: t(0), disclosed: true), now: t(4)).reason == "answer_sent")
        #expect(policy.handle(.answerDue, now: t(5)) == BotDecision(.none, reason: "ignored.nothing_pending"))
        #expect(answerCycle(&policy, at: 60) == .answer(disclose: false, upTo: t(60)))
    }

    @Test func aBurstOfFiveMessagesInTwoSecondsGetsOneAnswer() {
        var policy = BotPolicy()
        var dues: [Date] = []
        for offset in [0, 0.5, 1, 1.5, 2] {
            if case .wait(let due) = policy.handle(.customerMessage(text: "part \(offset)", at: t(offset)), now: t(offset)).action {
                dues.append(due)
            }
        }
        #expect(dues == [t(3), t(3.5), t(4), t(4.5), t(5)])
        var answers = 0
        for due in dues {
            let decision = policy.handle(.answerDue, now: due)
            if case .answer(_, let upTo) = decision.action {
                answers += 1
                #expect(upTo == t(2))
                _ = policy.handle(.answerSent(at: due, upTo: upTo, disclosed: true), now: due)
            }
        }
        #expect(answers == 1)
    }

    @Test func aLongBurstIsAnsweredAtMostMaxDebounceAfterItsStart() {
        var policy = BotPolicy(configuration: BotPolicyConfiguration(debounce: 3, maxDebounce: 10))
        var last: BotDecision.Action = .none
        for second in stride(from: 0.0, through: 20, by: 2) {
            last = policy.handle(.customerMessage(text: "more", at: t(second)), now: t(second)).action
            if second == 10 { #expect(policy.handle(.answerDue, now: t(10)).action == .answer(disclose: true, upTo: t(10))) }
        }
        #expect(last == .wait(until: t(10)))
    }

    @Test func ownEchoesAreNeverAnswered() {
        var policy = BotPolicy()
        let before = policy.state
        #expect(policy.handle(.ownEcho(at: t(0)), now: t(0)) == BotDecision(.none, reason: "ignored.own_echo"))
        #expect(policy.state == before)
    }

    @Test func anAgentsReplyPausesTheBotAndCancelsThePendingAnswer() {
        var policy = BotPolicy()
        _ = policy.handle(.customerMessage(text: "hello?", at: t(0)), now: t(0))
        #expect(
            policy.handle(.agentMessage(at: t(1)), now: t(1))
                == BotDecision(.none, transition: .paused(.agentReplied), reason: "paused.agent_replied")
        )
        #expect(policy.handle(.answerDue, now: t(3)) == BotDecision(.none, reason: "ignored.paused.agent_replied"))
        #expect(policy.handle(.customerMessage(text: "thanks", at: t(60)), now: t(60)).reason == "ignored.paused.agent_replied")
    }

    @Test func afterTheHumanIsQuietTheBotComesBackWithDisclosure() {
        var policy = BotPolicy(configuration: BotPolicyConfiguration(quietPeriodBeforeResume: 30 * minute))
        answerCycle(&policy, at: 0)
        _ = policy.handle(.otherAppEcho(at: t(10)), now: t(10))
        #expect(policy.state.mode == .paused(.humanInMetaInbox))
        #expect(policy.handle(.customerMessage(text: "ok", at: t(29 * minute)), now: t(29 * minute)).action == .none)
        let back = policy.handle(.customerMessage(text: "one more thing", at: t(31 * minute)), now: t(31 * minute))
        #expect(back == BotDecision(.wait(until: t(31 * minute + 3)), transition: .resumed(trigger: "quiet_period"), reason: "debounce"))
        #expect(policy.handle(.answerDue, now: t(31 * minute + 3)).action == .answer(disclose: true, upTo: t(31 * minute)))
    }

    @Test func withoutAQuietPeriodOnlyAManualResumeBringsItBack() {
        var policy = BotPolicy(configuration: BotPolicyConfiguration(quietPeriodBeforeResume: nil))
        _ = policy.handle(.agentMessage(at: t(0)), now: t(0))
        #expect(policy.handle(.customerMessage(text: "hi", at: t(10 * hour)), now: t(10 * hour)).action == .none)
        #expect(policy.handle(.resumed, now: t(10 * hour)).transition == .resumed(trigger: "manual"))
        #expect(answerCycle(&policy, at: 10 * hour + 1) == .answer(disclose: true, upTo: t(10 * hour + 1)))
    }

    @Test func aTakeoverHoldsUntilAManualResume() {
        var policy = BotPolicy()
        answerCycle(&policy, at: 0)
        #expect(policy.handle(.agentTookOver(at: t(5)), now: t(5)).transition == .paused(.agentTookOver))
        _ = policy.handle(.agentMessage(at: t(6)), now: t(6))
        #expect(policy.state.mode == .paused(.agentTookOver))
        #expect(policy.handle(.customerMessage(text: "hi", at: t(5 * hour)), now: t(5 * hour)).reason == "ignored.paused.agent_took_over")
        #expect(policy.handle(.resumed, now: t(5 * hour)) == BotDecision(.none, transition: .resumed(trigger: "manual"), reason: "resumed.manual"))
        #expect(policy.handle(.resumed, now: t(5 * hour)).reason == "ignored.already_active")
    }

    @Test func askingForAHumanPausesWithANotice() {
        var policy = BotPolicy()
        _ = policy.handle(.customerMessage(text: "where is my order", at: t(0)), now: t(0))
        let decision = policy.handle(.customerMessage(text: "Can I talk to a real person?", at: t(1)), now: t(1))
        #expect(decision == BotDecision(.sendHandoverNotice, transition: .paused(.customerAskedForHuman), reason: "paused.customer_asked_for_human"))
        #expect(policy.handle(.answerDue, now: t(4)).action == .none)
    }

    @Test func theModelsHandoverToolPausesWithANotice() {
        var policy = BotPolicy()
        _ = policy.handle(.customerMessage(text: "it's complicated", at: t(0)), now: t(0))
        _ = policy.handle(.answerDue, now: t(3))
        #expect(
            policy.handle(.modelRequestedHandover, now: t(4))
                == BotDecision(.sendHandoverNotice, transition: .paused(.handoverTool), reason: "paused.handover_tool")
        )
    }

    @Test func aFailedModelHandsOverWithANoticeUnlessAHumanAlreadyAnswered() {
        var policy = BotPolicy()
        _ = policy.handle(.customerMessage(text: "question", at: t(0)), now: t(0))
        _ = policy.handle(.answerDue, now: t(3))
        #expect(policy.handle(.answerFailed(.llmFailed), now: t(48)).action == .sendHandoverNotice)
        #expect(policy.state.mode == .paused(.llmFailed))

        var raced = BotPolicy()
        _ = raced.handle(.customerMessage(text: "question", at: t(0)), now: t(0))
        _ = raced.handle(.answerDue, now: t(3))
        _ = raced.handle(.agentMessage(at: t(10)), now: t(10))
        #expect(raced.handle(.answerFailed(.llmFailed), now: t(48)) == BotDecision(.none, reason: "ignored.paused.agent_replied"))
    }

    @Test func aHumansReplyAfterAHandoverLetsTheQuietPeriodApply() {
        var policy = BotPolicy(configuration: BotPolicyConfiguration(quietPeriodBeforeResume: 10 * minute))
        _ = policy.handle(.customerMessage(text: "agent please", at: t(0)), now: t(0))
        #expect(policy.state.mode == .paused(.customerAskedForHuman))
        #expect(policy.handle(.customerMessage(text: "hello??", at: t(20 * minute)), now: t(20 * minute)).action == .none)
        _ = policy.handle(.agentMessage(at: t(21 * minute)), now: t(21 * minute))
        #expect(policy.state.mode == .paused(.agentReplied))
        #expect(
            policy.handle(.customerMessage(text: "thanks!", at: t(40 * minute)), now: t(40 * minute)).transition == .resumed(trigger: "quiet_period")
        )
    }

    @Test func tooManyAnswersInARowHandOver() {
        var policy = BotPolicy(configuration: BotPolicyConfiguration(maxAnswersWithoutResolution: 2))
        answerCycle(&policy, at: 0)
        answerCycle(&policy, at: 60)
        _ = policy.handle(.customerMessage(text: "still not what I need", at: t(120)), now: t(120))
        #expect(
            policy.handle(.answerDue, now: t(123))
                == BotDecision(.sendHandoverNotice, transition: .paused(.tooManyAnswers), reason: "paused.too_many_answers")
        )
    }

    @Test func aResolvedConversationStartsCountingAgain() {
        var policy = BotPolicy(configuration: BotPolicyConfiguration(maxAnswersWithoutResolution: 2))
        answerCycle(&policy, at: 0)
        answerCycle(&policy, at: 60)
        _ = policy.handle(.resolved, now: t(100))
        #expect(answerCycle(&policy, at: 120) == .answer(disclose: false, upTo: t(120)))
    }

    @Test func outsideTheWindowTheBotIsSilentAndFlagsAHuman() {
        var policy = BotPolicy()
        _ = policy.handle(.customerMessage(text: "hello", at: t(0)), now: t(0))
        // The answer comes due only after 24 h (say the worker was down).
        let late = t(24 * hour + 1)
        #expect(policy.handle(.answerDue, now: late) == BotDecision(.none, transition: .paused(.windowClosed), reason: "paused.window_closed"))
    }

    @Test func aReplayedOldMessageIsIgnored() {
        var policy = BotPolicy()
        #expect(policy.handle(.customerMessage(text: "old", at: t(0)), now: t(25 * hour)) == BotDecision(.none, reason: "ignored.outside_window"))
        #expect(policy.state.pendingSince == nil)
    }

    @Test func aMessageWrittenWhileAnsweringIsAnsweredNext() {
        var policy = BotPolicy()
        _ = policy.handle(.customerMessage(text: "first", at: t(0)), now: t(0))
        guard case .answer(_, let upTo) = policy.handle(.answerDue, now: t(3)).action else {
            Issue.record("expected an answer")
            return
        }
        #expect(policy.handle(.customerMessage(text: "second", at: t(4)), now: t(4)).action == .wait(until: t(7)))
        #expect(policy.handle(.answerSent(at: t(5), upTo: upTo, disclosed: true), now: t(5)).reason == "answer_sent.more_pending")
        #expect(policy.handle(.answerDue, now: t(7)).action == .answer(disclose: false, upTo: t(4)))
    }

    @Test func aLongSilenceBringsTheDisclosureBack() {
        var policy = BotPolicy(configuration: BotPolicyConfiguration(disclosureGap: 12 * hour))
        answerCycle(&policy, at: 0)
        #expect(answerCycle(&policy, at: 11 * hour) == .answer(disclose: false, upTo: t(11 * hour)))
        #expect(answerCycle(&policy, at: 23.5 * hour) == .answer(disclose: true, upTo: t(23.5 * hour)))
    }

    @Test func aManualPauseOutranksHumanActivity() {
        var policy = BotPolicy()
        #expect(policy.handle(.paused, now: t(0)).transition == .paused(.manual))
        _ = policy.handle(.agentTookOver(at: t(1)), now: t(1))
        _ = policy.handle(.agentMessage(at: t(2)), now: t(2))
        #expect(policy.state.mode == .paused(.manual))
    }

    @Test func theStateSurvivesStorage() throws {
        var policy = BotPolicy()
        answerCycle(&policy, at: 0)
        _ = policy.handle(.agentTookOver(at: t(9)), now: t(9))
        let data = try JSONEncoder().encode(policy.state)
        let restored = try JSONDecoder().decode(BotConversationState.self, from: data)
        #expect(restored == policy.state)
        var again = BotPolicy(state: restored)
        #expect(again.handle(.customerMessage(text: "hi", at: t(20)), now: t(20)).reason == "ignored.paused.agent_took_over")
    }
}
