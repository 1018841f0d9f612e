/// One Page's bot settings as stored (`bot_settings.settings`, JSON) and edited in the
/// dashboard: what it knows, what it says, and the policy's knobs in human units.
///
/// Decoding is tolerant: every missing key keeps its default, so settings saved by an older
/// version stay valid, and out-of-range numbers are clamped rather than refused.
public struct BotSettings: Sendable, Equatable, Codable {
    public var systemPrompt: String
    /// Free text the model may answer from (besides the FAQ).
    public var knowledge: String?
    /// Answers of the rule-based bot, and knowledge for the model.
    public var faq: [BotFAQEntry]
    public var texts: BotTexts
    public var debounceSeconds: Double
    public var maxDebounceSeconds: Double
    public var maxAnswersWithoutResolution: Int
    /// nil: the bot comes back only when resumed by hand.
    public var quietMinutesBeforeResume: Double?
    public var disclosureGapHours: Double
    public var handoverKeywords: [String]
    /// The prompt's budget in `TokenEstimate` tokens.
    public var promptTokenBudget: Int

    public init(
        systemPrompt: String = BotSettings.defaultSystemPrompt,
        knowledge: String? = nil,
        faq: [BotFAQEntry] = [],
        texts: BotTexts = BotTexts(),
        debounceSeconds: Double = 3,
        maxDebounceSeconds: Double = 10,
        maxAnswersWithoutResolution: Int = 5,
        quietMinutesBeforeResume: Double? = 30,
        disclosureGapHours: Double = 24,
        handoverKeywords: [String] = BotPolicyConfiguration.defaultHandoverKeywords,
        promptTokenBudget: Int = 3000
    ) {
        self.systemPrompt = systemPrompt
        self.knowledge = knowledge
        self.faq = faq
        self.texts = texts
        self.debounceSeconds = min(max(debounceSeconds, 0), 60)
        self.maxDebounceSeconds = min(max(maxDebounceSeconds, self.debounceSeconds), 300)
        self.maxAnswersWithoutResolution = min(max(maxAnswersWithoutResolution, 1), 100)
        self.quietMinutesBeforeResume = quietMinutesBeforeResume.map { min(max($0, 0), 7 * 24 * 60) }
        self.disclosureGapHours = min(max(disclosureGapHours, 0), 24 * 30)
        self.handoverKeywords = handoverKeywords
        self.promptTokenBudget = min(max(promptTokenBudget, 256), 200_000)
    }

    public static let defaultSystemPrompt =
        "You are the customer-service assistant of this Facebook Page. Answer briefly and politely, in the customer's "
        + "language, only from the knowledge you are given. If you are not sure, or the customer wants a person, call "
        + "the handover tool."

    /// The policy's configuration.
    public var policy: BotPolicyConfiguration {
        BotPolicyConfiguration(
            debounce: debounceSeconds,
            maxDebounce: maxDebounceSeconds,
            maxAnswersWithoutResolution: maxAnswersWithoutResolution,
            quietPeriodBeforeResume: quietMinutesBeforeResume.map { $0 * 60 },
            disclosureGap: disclosureGapHours * 3600,
            handoverKeywords: handoverKeywords
        )
    }

    /// The model's prompt builder: the knowledge text, then the FAQ as questions and answers.
    public var promptBuilder: BotPromptBuilder {
        let parts = [knowledge, faq.isEmpty ? nil : BotFAQEntry.knowledgeText(faq)].compactMap { $0 }.filter { !$0.isEmpty }
        return BotPromptBuilder(
            systemPrompt: systemPrompt,
            knowledge: parts.isEmpty ? nil : parts.joined(separator: "\n\n"),
            tokenBudget: promptTokenBudget
        )
    }

    /// The bot without a model.
    public var ruleBasedAnswerer: RuleBasedAnswerer {
        RuleBasedAnswerer(faq: faq, handoverKeywords: handoverKeywords)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = BotSettings()
        self.init(
            systemPrompt: try container.decodeIfPresent(String.self, forKey: .systemPrompt) ?? defaults.systemPrompt,
            knowledge: try container.decodeIfPresent(String.self, forKey: .knowledge),
            faq: try container.decodeIfPresent([BotFAQEntry].self, forKey: .faq) ?? defaults.faq,
            texts: try container.decodeIfPresent(BotTexts.self, forKey: .texts) ?? defaults.texts,
            debounceSeconds: try container.decodeIfPresent(Double.self, forKey: .debounceSeconds) ?? defaults.debounceSeconds,
            maxDebounceSeconds: try container.decodeIfPresent(Double.self, forKey: .maxDebounceSeconds) ?? defaults.maxDebounceSeconds,
            maxAnswersWithoutResolution: try container.decodeIfPresent(Int.self, forKey: .maxAnswersWithoutResolution)
                ?? defaults.maxAnswersWithoutResolution,
            quietMinutesBeforeResume: container.contains(.quietMinutesBeforeResume)
                ? try container.decodeIfPresent(Double.self, forKey: .quietMinutesBeforeResume) : defaults.quietMinutesBeforeResume,
            disclosureGapHours: try container.decodeIfPresent(Double.self, forKey: .disclosureGapHours) ?? defaults.disclosureGapHours,
            handoverKeywords: try container.decodeIfPresent([String].self, forKey: .handoverKeywords) ?? defaults.handoverKeywords,
            promptTokenBudget: try container.decodeIfPresent(Int.self, forKey: .promptTokenBudget) ?? defaults.promptTokenBudget
        )
    }

    /// The demo Page's bot: a few FAQ entries so a newcomer sees it answer and hand over.
    public static let demo = BotSettings(faq: [
        BotFAQEntry(
            question: "Do you ship abroad?",
            keywords: ["ship", "shipping", "delivery", "deliver", "abroad"],
            answer: "We ship across the EU in 3–5 working days; shipping is free over €50."
        ),
        BotFAQEntry(
            question: "When are you open?",
            keywords: ["open", "opening hours", "hours"],
            answer: "Our team answers Monday to Friday, 9:00–18:00 CET."
        ),
        BotFAQEntry(
            question: "Can I return an item?",
            keywords: ["return", "refund", "exchange"],
            answer: "Yes: returns are free within 30 days; reply with your order number and we'll send a label."
        ),
        BotFAQEntry(
            question: "Where is my order?",
            keywords: ["parcel", "track", "tracking", "where is my order"],
            answer: "Orders leave within a day; the tracking link is in your confirmation e-mail. Send your order number if it's late."
        ),
        BotFAQEntry(
            question: "Is it in stock?",
            keywords: ["stock", "available", "size", "colour", "color"],
            answer: "Everything on our site is in stock unless marked otherwise; sizes can be changed until the order ships."
        ),
    ])
}
