internal import Foundation
public import LLM
public import SwitchboardCore

/// Turns the policy's `.answer` into what to send: the model's answer when a model is
/// configured, the rule-based answerer's otherwise, and maps every other outcome (the
/// `handover` tool, a failed or empty answer, no rule matching) to the policy event that
/// pauses the bot, so the customer always gets either an answer or the notice.
public struct BotResponder: Sendable {
    /// Where answers come from.
    public enum Source: Sendable {
        case rules(RuleBasedAnswerer)
        case model(any BotLanguageModel, BotPromptBuilder)
    }

    /// What came of one `.answer`.
    public enum Outcome: Sendable, Equatable {
        /// Send this text (the disclosure already in front when asked), as the bot;
        /// `reason` (`model`, `faq`, `greeting`) is for the audit log.
        case reply(String, disclosed: Bool, reason: String)
        /// Do not answer; feed `event` to the policy, which pauses and sends the notice.
        case handOver(BotEvent, reason: String)
    }

    /// Messenger's limit for a text message.
    public static let maxMessageLength = 2000
    /// The tool the model calls to hand over.
    public static let handoverTool = ToolDefinition(
        name: "handover",
        description:
            "Hand the conversation to a human agent. Call it when the customer asks for a person, is upset, "
            + "or when the knowledge does not answer the question.",
        parameters: ["type": "object", "properties": ["reason": ["type": "string", "description": "why, in a few words"]]]
    )

    public var source: Source
    public var texts: BotTexts

    public init(source: Source, texts: BotTexts = BotTexts()) {
        self.source = source
        self.texts = texts
    }

    /// Answers the conversation (`transcript`, oldest first, its newest customer messages
    /// last). `onTyping` runs when the model starts writing (show `typing_on` then).
    public func respond(
        to transcript: [BotTranscriptEntry],
        disclose: Bool,
        onTyping: @escaping @Sendable () async -> Void
    ) async -> Outcome {
        switch source {
        case .rules(let answerer):
            let question = transcript.reversed().prefix { $0.speaker == .customer }.reversed().map(\.text).joined(separator: "\n")
            switch answerer.answer(question) {
            case .reply(let text, let reason):
                return reply(text, disclose: disclose, reason: reason)
            case .handover(let reason):
                return .handOver(.answerFailed(BotPauseReason(rawValue: reason) ?? .noAnswer), reason: "rules.\(reason)")
            }
        case .model(let model, let builder):
            let prompt = builder.build(transcript: transcript)
            let completion: ChatCompletion
            do {
                completion = try await model.answer(prompt.messages, tools: [Self.handoverTool], onFirstToken: onTyping)
            } catch {
                return .handOver(.answerFailed(.llmFailed), reason: error.code.rawValue)
            }
            if completion.toolCall(named: Self.handoverTool.name) != nil {
                return .handOver(.modelRequestedHandover, reason: "model.handover_tool")
            }
            guard let text = completion.content?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                return .handOver(.answerFailed(.llmFailed), reason: "llm.empty_answer")
            }
            return reply(text, disclose: disclose, reason: "model")
        }
    }

    private func reply(_ text: String, disclose: Bool, reason: String) -> Outcome {
        let full = disclose ? texts.disclosure + "\n\n" + text : text
        return .reply(Self.fit(full), disclosed: disclose, reason: reason)
    }

    /// Cuts text over Messenger's limit at the last sentence or word end that fits.
    static func fit(_ text: String) -> String {
        guard text.count > maxMessageLength else { return text }
        let head = text.prefix(maxMessageLength - 1)
        let cut = head.lastIndex { ".!?".contains($0) }.map { head[...$0] } ?? head.lastIndex(of: " ").map { head[..<$0] } ?? head
        return cut + (cut.last.map { ".!?".contains($0) } == true ? "" : "…")
    }
}
