/// A question the Page answers the same way every time.
public struct BotFAQEntry: Sendable, Equatable, Codable {
    /// The question as people ask it; shown to the model as knowledge.
    public var question: String
    /// Phrases that point at this entry (whole words, any case or accents).
    public var keywords: [String]
    public var answer: String

    public init(question: String, keywords: [String], answer: String) {
        self.question = question
        self.keywords = keywords
        self.answer = answer
    }

    /// The entries as knowledge text for the model's prompt.
    public static func knowledgeText(_ entries: [BotFAQEntry]) -> String {
        entries.map { "Q: \($0.question)\nA: \($0.answer)" }.joined(separator: "\n\n")
    }
}

/// What the rule-based answerer says, and why (for the audit log).
public enum RuleBasedAnswer: Sendable, Equatable {
    /// Send this text. `reason` is `faq` or `greeting`.
    case reply(String, reason: String)
    /// Hand over to a human. `reason` is `customer_asked_for_human` or `no_answer`.
    case handover(reason: String)
}

/// The bot without an LLM (the embedded default and demo mode): keyword FAQ, a greeting,
/// and "I'll get a human" for everything else, so the whole flow is visible with no key.
///
/// Order: a request for a person wins (even inside a greeting); then the FAQ entry with the
/// most matching keywords (the first listed on a tie); then a greeting, if the message
/// starts with one; otherwise a handover, because a wrong automatic answer costs more than
/// a short wait for a person.
public struct RuleBasedAnswerer: Sendable, Equatable {
    public var faq: [BotFAQEntry]
    public var greetingReply: String
    private let handover: KeywordMatcher
    private let greetings: KeywordMatcher

    public static let defaultGreetings = [
        "hi", "hello", "hey", "good morning", "good afternoon", "good evening", "hallo", "hola", "bonjour", "ciao", "salut",
    ]

    public init(
        faq: [BotFAQEntry],
        greetingReply: String = "Hello! How can I help you today?",
        handoverKeywords: [String] = BotPolicyConfiguration.defaultHandoverKeywords,
        greetings: [String] = RuleBasedAnswerer.defaultGreetings
    ) {
        self.faq = faq
        self.greetingReply = greetingReply
        self.handover = KeywordMatcher(handoverKeywords)
        self.greetings = KeywordMatcher(greetings)
    }

    public func answer(_ text: String) -> RuleBasedAnswer {
        if handover.matches(text) { return .handover(reason: "customer_asked_for_human") }
        var best: (entry: BotFAQEntry, score: Int)?
        for entry in faq {
            let score = KeywordMatcher(entry.keywords).matchCount(in: text)
            if score > 0, score > (best?.score ?? 0) { best = (entry, score) }
        }
        if let best { return .reply(best.entry.answer, reason: "faq") }
        let opening = KeywordMatcher.words(text).prefix(2).joined(separator: " ")
        if greetings.matches(opening) { return .reply(greetingReply, reason: "greeting") }
        return .handover(reason: "no_answer")
    }
}
