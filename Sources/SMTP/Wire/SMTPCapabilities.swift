/// The extensions a server announced in its EHLO reply (RFC 5321 §4.1.1.1).
struct SMTPCapabilities: Equatable, Sendable {
    /// Upper-cased keyword → its parameters.
    private(set) var keywords: [String: [String]] = [:]

    init() {}

    /// Reads an EHLO reply: the first line is the greeting, each later line one extension.
    init(ehloReply reply: SMTPReply) {
        for line in reply.lines.dropFirst() {
            // "AUTH=PLAIN LOGIN" is an old, still common spelling of "AUTH PLAIN LOGIN".
            let normalised = line.uppercased().hasPrefix("AUTH=") ? "AUTH " + line.dropFirst(5) : Substring(line)
            let words = normalised.split(separator: " ").map(String.init)
            guard let keyword = words.first?.uppercased() else { continue }
            keywords[keyword, default: []].append(contentsOf: words.dropFirst())
        }
    }

    func supports(_ keyword: String) -> Bool { keywords[keyword.uppercased()] != nil }

    var supportsStartTLS: Bool { supports("STARTTLS") }

    /// The SASL mechanisms after `AUTH`, upper-cased.
    var authenticationMechanisms: Set<String> { Set((keywords["AUTH"] ?? []).map { $0.uppercased() }) }
}
