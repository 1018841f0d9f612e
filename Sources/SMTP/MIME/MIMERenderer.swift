#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Turns a ``MailMessage`` into RFC 5322 / MIME bytes with CRLF line endings, every line
/// at most 998 octets (at most 78 where it can fold), 7-bit clean.
public struct MIMERenderer: Sendable {
    /// The rendered message and what the envelope needs.
    public struct Rendered: Sendable {
        public var bytes: [UInt8]
        public var sender: String
        public var recipients: [String]
        /// With angle brackets.
        public var messageID: String
    }

    public init() {}

    /// Renders `message`; `defaultFrom` stands in for a missing ``MailMessage/from``.
    public func render(
        _ message: MailMessage,
        defaultFrom: MailAddress? = nil,
        now: Date = Date()
    ) throws(SMTPError) -> Rendered {
        guard let from = message.from ?? defaultFrom else {
            throw SMTPError(code: .invalidMessage, message: "the message has no sender", step: .message)
        }
        guard !message.to.isEmpty else {
            throw SMTPError(code: .invalidMessage, message: "the message has no recipient", step: .message)
        }
        try MIMEHeader.validateText(message.subject, field: "subject")
        let messageID: String
        if let given = message.messageID {
            try MIMEHeader.validateMessageID(given)
            messageID = "<\(given)>"
        } else {
            messageID = "<\(Self.randomHex(16))@\(from.domain)>"
        }

        var out = [UInt8]()
        func header(_ line: String) {
            out.append(contentsOf: line.utf8)
            out.append(contentsOf: [0x0D, 0x0A])
        }
        header("Date: \(RFC5322Date.format(message.date ?? now))")
        header(MIMEHeader.addressField("From", [from]))
        header(MIMEHeader.addressField("To", message.to))
        if let replyTo = message.replyTo { header(MIMEHeader.addressField("Reply-To", [replyTo])) }
        header(MIMEHeader.unstructuredField("Subject", message.subject))
        header("Message-ID: \(messageID)")
        header("MIME-Version: 1.0")

        let encoding = message.transferEncoding
        if let html = message.html {
            let boundary = "=_sb_\(Self.randomHex(12))"
            header("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            header("")
            header("This is a multi-part message in MIME format.")
            for (type, body) in [("text/plain", message.text), ("text/html", html)] {
                header("--\(boundary)")
                Self.part(type: type, body: body, encoding: encoding, into: &out)
            }
            header("--\(boundary)--")
        } else {
            Self.part(type: "text/plain", body: message.text, encoding: encoding, into: &out)
        }
        return Rendered(
            bytes: out,
            sender: from.address,
            recipients: message.to.map(\.address),
            messageID: messageID
        )
    }

    private static func part(type: String, body: String, encoding: MIMETransferEncoding, into out: inout [UInt8]) {
        let headers = "Content-Type: \(type); charset=UTF-8\r\nContent-Transfer-Encoding: \(encoding.rawValue)\r\n\r\n"
        out.append(contentsOf: headers.utf8)
        switch encoding {
        case .quotedPrintable:
            out.append(contentsOf: QuotedPrintable.encode(body).utf8)
        case .base64:
            let encoded = Array(Base64.encode(Array(body.utf8)).utf8)
            var index = 0
            while index < encoded.count {
                let end = min(index + 76, encoded.count)
                out.append(contentsOf: encoded[index..<end])
                out.append(contentsOf: [0x0D, 0x0A])
                index = end
            }
        }
        if out.suffix(2) != [0x0D, 0x0A] { out.append(contentsOf: [0x0D, 0x0A]) }
    }

    static func randomHex(_ byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for _ in 0..<byteCount {
            let byte = UInt8.random(in: 0...255, using: &generator)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
