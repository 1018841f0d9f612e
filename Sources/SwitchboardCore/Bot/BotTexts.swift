/// The texts the bot sends besides its answers (configurable per Page).
public struct BotTexts: Sendable, Equatable, Codable {
    /// Put before the first answer, after a handback and after a long silence (the
    /// automated-chat disclosure Meta asks for where the law requires it).
    public var disclosure: String
    /// When handing over because the customer or the model asked for a person.
    public var handover: String
    /// When the model failed: never silence.
    public var fallback: String

    public init(
        disclosure: String = "You're chatting with our automated assistant. Ask for a person at any time.",
        handover: String = "Thanks! I'm getting a person from our team; they'll reply here soon.",
        fallback: String = "Sorry, I can't answer that right now. A person from our team will reply here soon."
    ) {
        self.disclosure = disclosure
        self.handover = handover
        self.fallback = fallback
    }

    /// The notice for a pause that notifies the customer.
    public func notice(for reason: BotPauseReason) -> String {
        reason == .llmFailed ? fallback : handover
    }
}

extension BotTexts {
    /// Missing texts keep their defaults, so a Page's stored settings may name only some.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = BotTexts()
        self.init(
            disclosure: try container.decodeIfPresent(String.self, forKey: .disclosure) ?? defaults.disclosure,
            handover: try container.decodeIfPresent(String.self, forKey: .handover) ?? defaults.handover,
            fallback: try container.decodeIfPresent(String.self, forKey: .fallback) ?? defaults.fallback
        )
    }
}
