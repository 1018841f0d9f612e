import Foundation
import SwitchboardCore
import Testing

@Suite struct BotSettingsTests {
    func decode(_ json: String) throws -> BotSettings {
        try JSONDecoder().decode(BotSettings.self, from: Data(json.utf8))
    }

    @Test func anEmptyObjectIsTheDefaults() throws {
        #expect(try decode("{}") == BotSettings())
        #expect(try decode(#"{"texts":{}}"#).texts == BotTexts())
    }

    @Test func givenKeysWinOthersKeepDefaults() throws {
        let settings = try decode(#"{"debounceSeconds":5,"texts":{"handover":"One moment, please."},"quietMinutesBeforeResume":null}"#)
        #expect(settings.debounceSeconds == 5)
        #expect(settings.texts.handover == "One moment, please.")
        #expect(settings.texts.fallback == BotTexts().fallback)
        #expect(settings.quietMinutesBeforeResume == nil)
        #expect(settings.policy.quietPeriodBeforeResume == nil)
        #expect(try decode("{}").policy.quietPeriodBeforeResume == 30 * 60)
    }

    @Test func outOfRangeValuesAreClamped() throws {
        let settings = try decode(#"{"debounceSeconds":-4,"maxDebounceSeconds":9999,"maxAnswersWithoutResolution":0,"promptTokenBudget":3}"#)
        #expect(settings.debounceSeconds == 0)
        #expect(settings.maxDebounceSeconds == 300)
        #expect(settings.maxAnswersWithoutResolution == 1)
        #expect(settings.promptTokenBudget == 256)
    }

    @Test func theyRoundTrip() throws {
        let data = try JSONEncoder().encode(BotSettings.demo)
        #expect(try JSONDecoder().decode(BotSettings.self, from: data) == BotSettings.demo)
    }

    @Test func theModelKnowsTheKnowledgeAndTheFAQ() {
        var settings = BotSettings.demo
        settings.knowledge = "We are a small shop in Vienna."
        let prompt = settings.promptBuilder.build(transcript: [BotTranscriptEntry(.customer, "hi")])
        #expect(prompt.messages[0].content.contains("We are a small shop in Vienna.\n\nQ: Do you ship abroad?"))
    }

    @Test func theDemoBotAnswersAndHandsOver() {
        let answerer = BotSettings.demo.ruleBasedAnswerer
        guard case .reply(_, "faq") = answerer.answer("Do you deliver to Spain?") else {
            Issue.record("expected an FAQ answer")
            return
        }
        #expect(answerer.answer("my order never arrived") == .handover(reason: "no_answer"))
    }
}
