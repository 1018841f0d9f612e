/// One SMTP reply (RFC 5321 §4.2): a three-digit code and one or more lines of text.
///
/// A multi-line reply (`250-…` … `250 …`) is one value; ``lines`` holds the text after
/// each code. ``enhancedStatus`` is the RFC 3463 code that opened the first line, if any.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    /// The reply code, 200 through 599.
    public var code: Int
    /// The text of each line, without the code, separator and CRLF.
    public var lines: [String]
    /// The enhanced status code (`5.7.8`) if the first line starts with one.
    public var enhancedStatus: SMTPEnhancedStatusCode?

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines.isEmpty ? [""] : lines
        self.enhancedStatus = SMTPEnhancedStatusCode(prefixOf: self.lines[0], replyCode: code)
    }

    /// 2yz: the command succeeded.
    public var isPositiveCompletion: Bool { (200..<300).contains(code) }
    /// 3yz: the server waits for more (354 after DATA, 334 during AUTH).
    public var isPositiveIntermediate: Bool { (300..<400).contains(code) }
    /// 4yz: a temporary failure; trying later may work.
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    /// 5yz: a permanent failure.
    public var isPermanentFailure: Bool { (500..<600).contains(code) }

    /// All lines joined by a space.
    public var text: String { lines.joined(separator: " ") }

    public var description: String { "\(code) \(text)" }
}

/// An RFC 3463 enhanced status code: `class.subject.detail`, such as `5.7.8`.
public struct SMTPEnhancedStatusCode: Sendable, Hashable, CustomStringConvertible {
    public var statusClass: Int
    public var subject: Int
    public var detail: Int

    public init(statusClass: Int, subject: Int, detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    /// Reads `X.Y.Z` at the start of `text`, followed by a space or the end; the class must
    /// match the reply code's first digit (RFC 3463 §2, RFC 2034 §3).
    init?(prefixOf text: String, replyCode: Int) {
        let token = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            parts[0].count == 1, (1...3).contains(parts[1].count), (1...3).contains(parts[2].count),
            parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
            let c = Int(parts[0]), let s = Int(parts[1]), let d = Int(parts[2]),
            [2, 4, 5].contains(c), c == replyCode / 100
        else { return nil }
        self.init(statusClass: c, subject: s, detail: d)
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }
}

extension Character {
    var isASCIIDigit: Bool { asciiValue.map { (0x30...0x39).contains($0) } ?? false }
}
