/// Header field construction: validation against injection, RFC 2047 encoded-words,
/// folding at 78 octets.
enum MIMEHeader {
    /// Rejects CR, LF and every other control character (tab aside) in a header value.
    static func validateText(_ text: String, field: String) throws(SMTPError) {
        for scalar in text.unicodeScalars where scalar.value < 0x20 && scalar != "\t" || scalar.value == 0x7F {
            throw SMTPError(
                code: .invalidMessage,
                message: "\(field) contains a control character (U+\(String(scalar.value, radix: 16, uppercase: true)))",
                step: .message
            )
        }
    }

    static func validateMessageID(_ id: String) throws(SMTPError) {
        let ok = id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") }
        guard ok, id.contains("@"), id.utf8.count < 900 else {
            throw SMTPError(code: .invalidMessage, message: "invalid Message-ID", step: .message)
        }
    }

    /// `Subject: …`: left as is when printable ASCII (folded at spaces), otherwise
    /// encoded-words.
    static func unstructuredField(_ name: String, _ value: String) -> String {
        let text = value.replacingTabs()
        let plain = text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } && !text.contains("=?")
        if plain, let folded = fold(prefix: "\(name): ", words: text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)) {
            return folded
        }
        return "\(name): " + encodedWords(text).joined(separator: "\r\n ")
    }

    /// `From: Name <a@b>, …`, names quoted or encoded as needed, folded between addresses.
    static func addressField(_ name: String, _ addresses: [MailAddress]) -> String {
        let rendered = addresses.map(mailbox)
        let oneLine = "\(name): " + rendered.joined(separator: ", ")
        if oneLine.utf8.count <= 78 && !oneLine.contains("\r\n") { return oneLine }
        return "\(name): " + rendered.joined(separator: ",\r\n ")
    }

    static func mailbox(_ address: MailAddress) -> String {
        guard let name = address.displayName?.replacingTabs() else { return address.address }
        let isASCII = name.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        if isASCII && !name.contains("=?") && name.utf8.count <= 60 {
            let atext = name.utf8.allSatisfy { byte in
                let c = Character(UnicodeScalar(byte))
                return c.isLetter || c.isNumber || " !#$%&'*+-/=?^_`{|}~".contains(c)
            }
            if atext { return "\(name) <\(address.address)>" }
            let escaped = name.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            return "\"\(escaped)\" <\(address.address)>"
        }
        return encodedWords(name).joined(separator: "\r\n ") + " <\(address.address)>"
    }

    /// RFC 2047 `=?UTF-8?B?…?=` words, each at most 75 octets, never splitting a character.
    static func encodedWords(_ text: String) -> [String] {
        let maxPayload = 45  // 45 octets → 60 base64 characters + 12 of "=?UTF-8?B??=" = 72
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            if !chunk.isEmpty && chunk.count + bytes.count > maxPayload {
                words.append("=?UTF-8?B?\(Base64.encode(chunk))?=")
                chunk = []
            }
            // A single grapheme longer than the payload (long emoji sequences) is split by scalar.
            if bytes.count > maxPayload {
                for scalar in String(character).unicodeScalars {
                    let scalarBytes = Array(String(scalar).utf8)
                    if chunk.count + scalarBytes.count > maxPayload {
                        words.append("=?UTF-8?B?\(Base64.encode(chunk))?=")
                        chunk = []
                    }
                    chunk += scalarBytes
                }
            } else {
                chunk += bytes
            }
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?\(Base64.encode(chunk))?=") }
        return words
    }

    /// Folds words (split at single spaces) into lines of at most 78 octets; `nil` if one
    /// word cannot fit in 998.
    private static func fold(prefix: String, words: [String]) -> String? {
        var lines: [String] = []
        var current = prefix
        var currentHasWord = false
        for word in words {
            if currentHasWord && current.utf8.count + 1 + word.utf8.count > 78 {
                lines.append(current)
                current = " " + word
            } else {
                current += (currentHasWord ? " " : "") + word
            }
            currentHasWord = true
            if current.utf8.count > 998 { return nil }
        }
        lines.append(current)
        // A continuation line of only whitespace would be dropped by readers; keep it simple.
        if lines.dropFirst().contains(where: { $0.allSatisfy { $0 == " " } }) { return nil }
        return lines.joined(separator: "\r\n")
    }
}

extension String {
    fileprivate func replacingTabs() -> String {
        String(unicodeScalars.map { $0 == "\t" ? " " : Character($0) })
    }

}
