import Foundation
import Testing

@testable import SMTP

@Suite struct MIMERendererTests {
    static let from = try! MailAddress("noreply@switchboard.test", displayName: "Switchboard")
    static let date = Date(timeIntervalSince1970: 1_795_596_679)  // 2026-11-25 08:51:19 UTC

    static func render(_ message: MailMessage) throws -> String {
        String(decoding: try MIMERenderer().render(message, defaultFrom: from, now: date).bytes, as: UTF8.self)
    }

    static func headerBlock(_ rendered: String) -> String {
        String(rendered[..<rendered.range(of: "\r\n\r\n")!.lowerBound])
    }

    /// Decodes quoted-printable (tests only).
    static func decodeQP(_ text: String) -> String {
        var bytes: [UInt8] = []
        let input = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var i = 0
        while i < input.count {
            if input[i] == UInt8(ascii: "="), i + 2 < input.count,
                let byte = UInt8(String(decoding: input[i + 1...i + 2], as: UTF8.self), radix: 16)
            {
                bytes.append(byte)
                i += 3
            } else {
                bytes.append(input[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func lines(_ text: String) -> [Substring] {
        text.split(separator: "\r\n", omittingEmptySubsequences: false)
    }

    @Test func multipartAlternativeWithAllRequiredHeaders() throws {
        let message = MailMessage(
            to: [try MailAddress("ada@example.com")],
            subject: "Sign in to Switchboard",
            text: "Hello,\nclick: https://sb.test/auth?token=abc\n",
            html: "<p>Hello, <a href=\"https://sb.test/auth?token=abc\">sign in</a></p>",
            messageID: "fixed@switchboard.test"
        )
        let out = try Self.render(message)
        let headers = Self.headerBlock(out)
        #expect(headers.contains("Date: Wed, 25 Nov 2026 08:51:19 +0000"))
        #expect(headers.contains("From: Switchboard <noreply@switchboard.test>"))
        #expect(headers.contains("To: ada@example.com"))
        #expect(headers.contains("Subject: Sign in to Switchboard"))
        #expect(headers.contains("Message-ID: <fixed@switchboard.test>"))
        #expect(headers.contains("MIME-Version: 1.0"))
        #expect(headers.contains("Content-Type: multipart/alternative; boundary=\"=_sb_"))
        #expect(out.contains("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable"))
        #expect(out.contains("Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable"))
        #expect(out.hasSuffix("--\r\n"))
        #expect(!out.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "no bare LF")
        // The link survives quoted-printable ('=' is encoded).
        #expect(Self.decodeQP(out).contains("https://sb.test/auth?token=abc"))
        #expect(out.contains("token=3Dabc"))
    }

    @Test func textOnlyMessageIsASinglePart() throws {
        let out = try Self.render(MailMessage(to: [try MailAddress("a@b.test")], subject: "s", text: "just text"))
        #expect(!out.contains("multipart"))
        #expect(Self.headerBlock(out).contains("Content-Type: text/plain; charset=UTF-8"))
    }

    @Test func generatedMessageIDUsesTheSenderDomain() throws {
        let rendered = try MIMERenderer().render(MailMessage(to: [try MailAddress("a@b.test")], subject: "s", text: "t"), defaultFrom: Self.from)
        #expect(rendered.messageID.hasPrefix("<"))
        #expect(rendered.messageID.hasSuffix("@switchboard.test>"))
        #expect(rendered.sender == "noreply@switchboard.test")
        #expect(rendered.recipients == ["a@b.test"])
    }

    @Test func nonASCIISubjectAndNamesAreEncodedWords() throws {
        let message = MailMessage(
            from: try MailAddress("x@switchboard.test", displayName: "Zoë Señor"),
            to: [try MailAddress("a@b.test", displayName: "Ĳsbrand 日本")],
            subject: "Connexion à Switchboard — 🔑 votre lien",
            text: "t"
        )
        let headers = Self.headerBlock(try Self.render(message))
        #expect(headers.contains("Subject: =?UTF-8?B?"))
        #expect(headers.contains("From: =?UTF-8?B?"))
        #expect(headers.contains("<x@switchboard.test>"))
        #expect(headers.utf8.allSatisfy { $0 < 0x80 }, "headers are 7-bit")
        // Each encoded word is at most 75 octets and decodes back.
        var decoded = ""
        for word in headers.split(whereSeparator: { $0 == " " || $0 == "\r\n" }) where word.hasPrefix("=?UTF-8?B?") {
            #expect(word.utf8.count <= 75)
            let payload = word.dropFirst(10).dropLast(2)
            decoded += String(decoding: Data(base64Encoded: String(payload))!, as: UTF8.self)
        }
        #expect(decoded.contains("Connexion à Switchboard — 🔑 votre lien"))
        #expect(decoded.contains("Zoë Señor"))
        #expect(decoded.contains("Ĳsbrand 日本"))
    }

    @Test func longSubjectsFoldAndEncodedWordsNeverSplitACharacter() throws {
        let subject = String(repeating: "é🔑", count: 60)
        let words = MIMEHeader.encodedWords(subject)
        #expect(words.count > 1)
        var joined = Data()
        for word in words {
            #expect(word.utf8.count <= 75)
            let chunk = Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))!
            #expect(String(data: chunk, encoding: .utf8) != nil, "each word is valid UTF-8 on its own")
            joined += chunk
        }
        #expect(String(data: joined, encoding: .utf8) == subject)

        let ascii = String(repeating: "word ", count: 40) + "end"
        let out = try Self.render(MailMessage(to: [try MailAddress("a@b.test")], subject: ascii, text: "t"))
        for line in Self.lines(Self.headerBlock(out)) { #expect(line.utf8.count <= 78) }
    }

    @Test func displayNamesWithSpecialsAreQuoted() throws {
        let address = try MailAddress(parsing: "\"Doe, Jane \\\"JD\\\"\" <jane@x.test>")
        #expect(address.displayName == "Doe, Jane \"JD\"")
        #expect(MIMEHeader.mailbox(address) == "\"Doe, Jane \\\"JD\\\"\" <jane@x.test>")
        #expect(try MailAddress(parsing: "Switchboard <noreply@sb.test>") == MailAddress("noreply@sb.test", displayName: "Switchboard"))
        #expect(try MailAddress(parsing: " plain@sb.test ").address == "plain@sb.test")
        #expect(try MailAddress(parsing: "<only@sb.test>").displayName == nil)
    }

    @Test(arguments: [
        "Hello\r\nBcc: victim@evil.test", "Hello\nX-Injected: 1", "Hello\rX: 1", "nul\u{0}byte",
    ])
    func headerInjectionIsImpossible(_ subject: String) throws {
        let message = MailMessage(to: [try MailAddress("a@b.test")], subject: subject, text: "t")
        let error = #expect(throws: SMTPError.self) { try Self.render(message) }
        #expect(error?.code == .invalidMessage)
        #expect(throws: SMTPError.self) { try MailAddress("a@b.test", displayName: subject) }
    }

    @Test(arguments: [
        "a@b.test\r\nRCPT TO:<x@y.test>", "a b@c.test", "<a@b.test>", "no-at-sign", "@b.test", "a@", "a@b@c",
        "ü@b.test", "a..b@c.test", "a@b.test>",
    ])
    func invalidAddressesAreRejected(_ address: String) {
        let error = #expect(throws: SMTPError.self) { try MailAddress(address) }
        #expect(error?.code == .invalidMessage)
    }

    @Test func noRecipientIsAnError() {
        let error = #expect(throws: SMTPError.self) { try Self.render(MailMessage(to: [], subject: "s", text: "t")) }
        #expect(error?.code == .invalidMessage)
    }

    @Test func quotedPrintableKeepsLinesShortAndDotLinesIntact() {
        let text = ".starts with a dot\nbare LF\r\nCRLF\rbare CR\n" + String(repeating: "ü", count: 100) + "\ntrailing space \n="
        let encoded = QuotedPrintable.encode(text)
        for line in Self.lines(encoded) { #expect(line.utf8.count <= 76) }
        #expect(encoded.hasPrefix(".starts with a dot\r\n"))
        #expect(encoded.contains("trailing space=20\r\n"))
        #expect(encoded.hasSuffix("=3D"))
        #expect(!encoded.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(!encoded.replacingOccurrences(of: "\r\n", with: "").contains("\r"))
        let expected = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        #expect(Self.decodeQP(encoded).replacingOccurrences(of: "\r\n", with: "\n") == expected)
    }

    @Test func base64BodiesAndVeryLongLines() throws {
        let long = String(repeating: "x", count: 5000)
        let message = MailMessage(
            to: [try MailAddress("a@b.test")],
            subject: "s",
            text: long,
            html: "<p>\(long)</p>",
            transferEncoding: .base64
        )
        let out = try Self.render(message)
        #expect(out.contains("Content-Transfer-Encoding: base64"))
        for line in Self.lines(out) { #expect(line.utf8.count <= 998) }
        let qp = try Self.render(MailMessage(to: [try MailAddress("a@b.test")], subject: "s", text: long))
        for line in Self.lines(qp) { #expect(line.utf8.count <= 76 || line.hasPrefix("Content-Type: multipart")) }
    }

    @Test func base64MatchesFoundation() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
        }
    }

    @Test func dateHeaderFormat() {
        #expect(RFC5322Date.format(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(RFC5322Date.format(Date(timeIntervalSince1970: 951_825_600)) == "Tue, 29 Feb 2000 12:00:00 +0000")
        #expect(RFC5322Date.format(Self.date) == "Wed, 25 Nov 2026 08:51:19 +0000")
    }
}
