/// A message of the prompt the bot sends to the model, independent of any LLM library.
public struct BotPromptMessage: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable {
        case system
        case user
        case assistant
    }

    public var role: Role
    public var content: String

    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}

/// One line of the conversation as the bot sees it, oldest first.
public struct BotTranscriptEntry: Sendable, Equatable {
    public enum Speaker: Sendable, Equatable {
        case customer
        case bot
        /// A person in the dashboard.
        case agent
        /// A person answering in Meta's inbox (an echo from another app).
        case otherApp
        /// An event the model must know about ("a human agent handed the conversation back").
        case note
    }

    public var speaker: Speaker
    public var text: String

    public init(_ speaker: Speaker, _ text: String) {
        self.speaker = speaker
        self.text = text
    }
}

/// A deliberately simple, conservative token estimate: one token per 4 bytes of UTF-8,
/// rounded up, plus 4 per message for the role framing.
///
/// OpenAI's rule of thumb is ~4 characters a token for English; counting bytes instead of
/// characters over-counts accented and non-Latin text (2–4 bytes a character, closer to
/// real tokenizers there), so a budget computed with it is not exceeded in practice. No
/// tokenizer tables are shipped, and the estimate is the same for every model.
public enum TokenEstimate {
    public static let perMessageOverhead = 4

    public static func tokens(_ text: String) -> Int { (text.utf8.count + 3) / 4 }

    public static func tokens(_ message: BotPromptMessage) -> Int { tokens(message.content) + perMessageOverhead }
}

/// The prompt the bot sends and what building it cost.
public struct BotPrompt: Sendable, Equatable {
    public var messages: [BotPromptMessage]
    /// `TokenEstimate` of all messages.
    public var estimatedTokens: Int
    /// Transcript entries left out (the oldest), for the audit log.
    public var droppedEntries: Int
}

/// Builds the model's prompt: the Page's system prompt, its knowledge text, and as much of
/// the conversation as fits a token budget, newest kept.
///
/// Rules, in order: the system prompt is always whole; the knowledge text is cut (at its
/// end) so that at least a quarter of the budget stays for the conversation; transcript
/// entries are added newest first while they fit; the newest entry is always included, cut
/// from its start if it alone is too long. Customer lines are `user`, the bot's are
/// `assistant`, a human's are `assistant` marked as a human's (so the model neither repeats
/// nor contradicts them unknowingly), notes are `system`.
public struct BotPromptBuilder: Sendable, Equatable {
    public var systemPrompt: String
    public var knowledge: String?
    /// The whole prompt's budget in `TokenEstimate` tokens.
    public var tokenBudget: Int

    public init(systemPrompt: String, knowledge: String? = nil, tokenBudget: Int = 3000) {
        self.systemPrompt = systemPrompt
        self.knowledge = knowledge
        self.tokenBudget = tokenBudget
    }

    public func build(transcript: [BotTranscriptEntry]) -> BotPrompt {
        let systemOnly = BotPromptMessage(.system, systemPrompt)
        var system = systemOnly
        if let knowledge, !knowledge.isEmpty {
            let header = "\n\nKnowledge you may use (answer only from it; if it does not cover the question, offer a human):\n"
            let room = tokenBudget * 3 / 4 - TokenEstimate.tokens(systemOnly) - TokenEstimate.tokens(header)
            if room > 0 { system.content += header + Self.prefix(of: knowledge, maxTokens: room) }
        }
        var remaining = tokenBudget - TokenEstimate.tokens(system)
        var kept: [BotPromptMessage] = []
        for (position, entry) in transcript.reversed().enumerated() {
            var message = Self.message(for: entry)
            let cost = TokenEstimate.tokens(message)
            if cost > remaining {
                guard position == 0 else { break }
                message.content = Self.suffix(of: message.content, maxTokens: max(remaining - TokenEstimate.perMessageOverhead, 1))
            }
            kept.append(message)
            remaining -= TokenEstimate.tokens(message)
        }
        let messages = [system] + kept.reversed()
        return BotPrompt(
            messages: messages,
            estimatedTokens: messages.map(TokenEstimate.tokens).reduce(0, +),
            droppedEntries: transcript.count - kept.count
        )
    }

    static func message(for entry: BotTranscriptEntry) -> BotPromptMessage {
        switch entry.speaker {
        case .customer: BotPromptMessage(.user, entry.text)
        case .bot: BotPromptMessage(.assistant, entry.text)
        case .agent: BotPromptMessage(.assistant, "[written by a human agent] " + entry.text)
        case .otherApp: BotPromptMessage(.assistant, "[written by a human in Meta's inbox] " + entry.text)
        case .note: BotPromptMessage(.system, entry.text)
        }
    }

    /// The longest start of `text` within `maxTokens` (whole characters), marked as cut.
    static func prefix(of text: String, maxTokens: Int) -> String {
        guard TokenEstimate.tokens(text) > maxTokens else { return text }
        var bytes = 0
        let limit = max(maxTokens - 1, 0) * 4
        let cut = text.prefix { character in
            bytes += character.utf8.count
            return bytes <= limit
        }
        return cut + "…"
    }

    /// The longest end of `text` within `maxTokens`, marked as cut.
    static func suffix(of text: String, maxTokens: Int) -> String {
        guard TokenEstimate.tokens(text) > maxTokens else { return text }
        var bytes = 0
        let limit = max(maxTokens - 1, 0) * 4
        let cut = text.reversed().prefix { character in
            bytes += character.utf8.count
            return bytes <= limit
        }
        return "…" + String(cut.reversed())
    }
}
