internal import Foundation

/// Matches keyword phrases against a message the way a person would read it: case, accents
/// and punctuation do not matter, and a phrase matches whole words only ("agent" is not in
/// "agents" or "reagent"; "real person" needs both words, in order).
public struct KeywordMatcher: Sendable, Equatable {
    private let phrases: [[String]]

    public init(_ phrases: [String]) {
        self.phrases = phrases.map(Self.words).filter { !$0.isEmpty }
    }

    /// How many of the phrases occur in `text`.
    public func matchCount(in text: String) -> Int {
        let words = Self.words(text)
        return phrases.filter { Self.occurs($0, in: words) }.count
    }

    /// Whether any phrase occurs in `text`.
    public func matches(_ text: String) -> Bool { matchCount(in: text) > 0 }

    /// Lower-cased, accent-free words.
    static func words(_ text: String) -> [String] {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            .split { !$0.isLetter && !$0.isNumber }
            .map(String.init)
    }

    private static func occurs(_ phrase: [String], in words: [String]) -> Bool {
        guard phrase.count <= words.count else { return false }
        return (0...(words.count - phrase.count)).contains { start in
            words[start..<(start + phrase.count)].elementsEqual(phrase)
        }
    }
}
