import Foundation

/// Parses `.env` files the way the Node stack's `dotenv` does, so teams keep their files:
/// `KEY=value`, `export KEY=value`, `#` comments, single- and double-quoted values (double
/// quotes understand `\n`), and inline comments after unquoted values.
enum DotEnv {
    static func parse(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            var line = rawLine.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("#") || line.isEmpty { continue }
            if line.hasPrefix("export ") { line = line.dropFirst(7) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingSpaces()
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else { continue }
            let value = line[line.index(after: equals)...].trimmingSpaces()
            result[String(key)] = unquote(Substring(value))
        }
        return result
    }

    private static func unquote(_ value: Substring) -> String {
        if let quote = value.first, quote == "\"" || quote == "'" {
            let body = value.dropFirst()
            let end = body.firstIndex(of: quote) ?? body.endIndex
            let inner = String(body[..<end])
            return quote == "\"" ? inner.replacingOccurrences(of: "\\n", with: "\n") : inner
        }
        if let hash = value.range(of: " #") {
            return String(value[..<hash.lowerBound]).trimmingSpaces()
        }
        return String(value)
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
