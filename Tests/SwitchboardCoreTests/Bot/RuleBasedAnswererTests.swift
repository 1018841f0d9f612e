import SwitchboardCore
import Testing

@Suite struct RuleBasedAnswererTests {
    let answerer = RuleBasedAnswerer(faq: [
        BotFAQEntry(question: "Do you ship abroad?", keywords: ["ship", "shipping", "delivery", "abroad"], answer: "We ship to the EU in 3–5 days."),
        BotFAQEntry(question: "When are you open?", keywords: ["open", "opening hours", "hours"], answer: "Mon–Fri, 9–18."),
        BotFAQEntry(question: "Can I return?", keywords: ["return", "refund"], answer: "30 days, free."),
    ])

    @Test func askingForAPersonWinsEvenInAGreeting() {
        #expect(answerer.answer("Hi, can I talk to a real person?") == .handover(reason: "customer_asked_for_human"))
        #expect(answerer.answer("HUMAN!!!") == .handover(reason: "customer_asked_for_human"))
        #expect(answerer.answer("Ich möchte einen Mitarbeiter") == .handover(reason: "customer_asked_for_human"))
    }

    @Test func theFAQEntryWithTheMostKeywordsAnswers() {
        #expect(answerer.answer("Hello! Do you ship abroad?") == .reply("We ship to the EU in 3–5 days.", reason: "faq"))
        #expect(answerer.answer("what are your opening hours") == .reply("Mon–Fri, 9–18.", reason: "faq"))
        #expect(answerer.answer("Refund? And shipping??") == .reply("We ship to the EU in 3–5 days.", reason: "faq"))
    }

    @Test func keywordsMatchWholeWordsIgnoringCaseAndAccents() {
        #expect(answerer.answer("Shipping, délivery") == .reply("We ship to the EU in 3–5 days.", reason: "faq"))
        #expect(answerer.answer("the shipment is reopened") == .handover(reason: "no_answer"))
        #expect(answerer.answer("agents of change") == .handover(reason: "no_answer"))
    }

    @Test func aGreetingGetsTheGreeting() {
        #expect(answerer.answer("Good morning :)") == .reply("Hello! How can I help you today?", reason: "greeting"))
        #expect(answerer.answer("hey") == .reply("Hello! How can I help you today?", reason: "greeting"))
    }

    @Test func anythingElseIsHandedOver() {
        #expect(answerer.answer("My parcel arrived broken") == .handover(reason: "no_answer"))
        #expect(answerer.answer("") == .handover(reason: "no_answer"))
        #expect(answerer.answer("I said hi to them") == .handover(reason: "no_answer"))
    }

    @Test func faqEntriesBecomeKnowledgeText() {
        #expect(
            BotFAQEntry.knowledgeText(Array(answerer.faq.prefix(2)))
                == "Q: Do you ship abroad?\nA: We ship to the EU in 3–5 days.\n\nQ: When are you open?\nA: Mon–Fri, 9–18."
        )
    }
}
