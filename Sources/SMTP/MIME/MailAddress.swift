/// An e-mail address with an optional display name, validated so that it can go into a
/// header and an SMTP command without injecting anything.
///
/// The address is ASCII (no SMTPUTF8) without spaces, controls, angle brackets or quotes;
/// the display name may be any Unicode text without control characters (it is written as an
/// RFC 2047 encoded-word when not plain ASCII).
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
    /// `local@domain`.
    public let address: String
    /// The name shown to people, if any.
    public let displayName: String?

    /// Validates and wraps an address.
    public init(_ address: String, displayName: String? = nil) throws(SMTPError) {
        try Self.validate(address: address)
        if let displayName {
            try MIMEHeader.validateText(displayName, field: "display name")
        }
        self.address = address
        self.displayName = displayName.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Parses `addr@example.com`, `<addr@example.com>`, `Name <addr@example.com>` or
    /// `"Last, First" <addr@example.com>` (the `EMAIL_FROM` forms).
    public init(parsing text: String) throws(SMTPError) {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") else {
            try self.init(trimmed)
            return
        }
        let address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
        var name = String(trimmed[..<open]).trimmingWhitespace()
        if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") {
            var unescaped = ""
            var escaping = false
            for character in name.dropFirst().dropLast() {
                if escaping || character != "\\" {
                    unescaped.append(character)
                    escaping = false
                } else {
                    escaping = true
                }
            }
            name = unescaped
        }
        try self.init(address, displayName: name.isEmpty ? nil : name)
    }

    public var description: String {
        guard let displayName else { return address }
        return "\(displayName) <\(address)>"
    }

    /// The domain part, for the `Message-ID`.
    var domain: Substring { address[address.index(after: address.lastIndex(of: "@")!)...] }

    private static func validate(address: String) throws(SMTPError) {
        func invalid(_ why: String) -> SMTPError {
            SMTPError(code: .invalidMessage, message: "invalid address: \(why)", step: .message)
        }
        guard !address.isEmpty, address.utf8.count <= 254 else { throw invalid("empty or longer than 254 octets") }
        let forbidden: Set<UInt8> = Set("<>()[]\\,;:\" ".utf8)
        for byte in address.utf8 {
            guard byte > 0x20, byte < 0x7F else { throw invalid("only printable ASCII without spaces is allowed") }
            guard !forbidden.contains(byte) else {
                throw invalid("character '\(Character(UnicodeScalar(byte)))' is not allowed")
            }
        }
        guard let at = address.lastIndex(of: "@"), at != address.startIndex,
            address.index(after: at) != address.endIndex,
            address.utf8.filter({ $0 == UInt8(ascii: "@") }).count == 1
        else { throw invalid("expected local-part@domain") }
        let local = address[..<at]
        guard local.utf8.count <= 64, !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else {
            throw invalid("malformed local part")
        }
    }
}
