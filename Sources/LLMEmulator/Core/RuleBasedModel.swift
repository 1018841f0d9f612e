internal import Foundation

/// The emulator's stand-in for a model: predictable answers from the last customer message,
/// enough for demos and for tests that do not script answers.
struct RuleBasedModel {
    let configuration: LLMEmulatorConfiguration

    init(_ configuration: LLMEmulatorConfiguration) { self.configuration = configuration }

    func answer(to request: RecordedChatRequest) -> ScriptedAnswer {
        if request.messages.last?.role == "tool" {
            return .text("Thanks, a colleague will be with you shortly.")
        }
        let text = request.lastUserText ?? ""
        let words = Self.words(text)
        let wantsHuman = configuration.handoverKeywords.contains { keyword in
            let phrase = Self.words(keyword)
            return !phrase.isEmpty && Self.contains(words, phrase)
        }
        if wantsHuman {
            if request.toolNames.contains(configuration.handoverToolName) {
                return .toolCall(name: configuration.handoverToolName, arguments: #"{"reason":"customer asked for a human"}"#)
            }
            return .text("I'll get a human to help you.")
        }
        if let first = words.first, ["hi", "hello", "hey", "hallo", "hola", "bonjour"].contains(first) {
            return .text("Hello! How can I help you today?")
        }
        return .text("Thanks for your message. This is an emulated answer to: \(text.prefix(200))")
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    static func contains(_ words: [String], _ phrase: [String]) -> Bool {
        guard phrase.count <= words.count else { return false }
        return (0...(words.count - phrase.count)).contains { Array(words[$0..<($0 + phrase.count)]) == phrase }
    }
}
