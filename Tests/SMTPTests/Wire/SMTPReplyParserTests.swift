import NIOCore
import Testing

@testable import SMTP

@Suite struct SMTPReplyParserTests {
    static func parseAll(_ chunks: [String]) throws -> [SMTPReply] {
        var parser = SMTPReplyParser()
        var replies: [SMTPReply] = []
        for chunk in chunks {
            parser.append(ByteBuffer(string: chunk))
            while let reply = try parser.next() { replies.append(reply) }
        }
        #expect(!parser.hasBufferedBytes)
        return replies
    }

    @Test func singleLine() throws {
        let replies = try Self.parseAll(["220 mx.test ESMTP ready\r\n"])
        #expect(replies == [SMTPReply(code: 220, lines: ["mx.test ESMTP ready"])])
        #expect(replies[0].enhancedStatus == nil)
    }

    @Test func multiLineEHLO() throws {
        let wire = "250-mx.test\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 1000\r\n"
        let replies = try Self.parseAll([wire])
        #expect(replies.count == 1)
        #expect(replies[0].lines == ["mx.test", "STARTTLS", "AUTH PLAIN LOGIN", "SIZE 1000"])
        let capabilities = SMTPCapabilities(ehloReply: replies[0])
        #expect(capabilities.supportsStartTLS)
        #expect(capabilities.authenticationMechanisms == ["PLAIN", "LOGIN"])
    }

    @Test func everySplitPointGivesTheSameReplies() throws {
        let wire = "250-mx.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n535 5.7.8 Authentication failed\r\n354\n"
        let expected = try Self.parseAll([wire])
        #expect(expected.count == 3)
        let bytes = Array(wire.utf8)
        for split in 0...bytes.count {
            let a = String(decoding: bytes[..<split], as: UTF8.self)
            let b = String(decoding: bytes[split...], as: UTF8.self)
            #expect(try Self.parseAll([a, b]) == expected, "split at \(split)")
        }
        // And byte by byte.
        #expect(try Self.parseAll(bytes.map { String(UnicodeScalar($0)) }) == expected)
    }

    @Test func enhancedStatusCode() throws {
        let reply = try Self.parseAll(["535 5.7.8 Authentication credentials invalid\r\n"])[0]
        #expect(reply.enhancedStatus?.description == "5.7.8")
        #expect(reply.isPermanentFailure)
        // The class must match the reply code; a version number is not a status code.
        #expect(try Self.parseAll(["250 5.7.8 odd\r\n"])[0].enhancedStatus == nil)
        #expect(try Self.parseAll(["220 mx 2.0.0\r\n"])[0].enhancedStatus == nil)
        #expect(try Self.parseAll(["250 2.1.5\r\n"])[0].enhancedStatus?.description == "2.1.5")
    }

    @Test func bareCodeLine() throws {
        #expect(try Self.parseAll(["354\r\n"]) == [SMTPReply(code: 354, lines: [""])])
    }

    @Test func waitsForTheEndOfALine() throws {
        var parser = SMTPReplyParser()
        parser.append(ByteBuffer(string: "250-first\r\n250 sec"))
        #expect(try parser.next() == nil)
        #expect(parser.hasBufferedBytes)
    }

    @Test(arguments: ["hello\r\n", "25\r\n", "250x\r\n", "650 nope\r\n", "2a0 x\r\n"])
    func malformedLines(_ wire: String) {
        #expect(throws: SMTPError.self) { try Self.parseAll([wire]) }
    }

    @Test func codeChangeInsideAMultiLineReply() {
        let error = #expect(throws: SMTPError.self) { try Self.parseAll(["250-a\r\n251 b\r\n"]) }
        #expect(error?.code == .protocolViolation)
    }

    @Test func overlongLineIsRejectedWithoutANewline() {
        var parser = SMTPReplyParser()
        parser.append(ByteBuffer(string: "250 " + String(repeating: "x", count: SMTPReplyParser.maximumLineLength + 10)))
        #expect(throws: SMTPError.self) { try parser.next() }
    }

    @Test func tooManyLines() {
        let wire = String(repeating: "250-x\r\n", count: SMTPReplyParser.maximumLineCount + 1) + "250 end\r\n"
        #expect(throws: SMTPError.self) { try Self.parseAll([wire]) }
    }

    @Test func commandsOnTheWireRedactCredentials() {
        var buffer = ByteBuffer()
        SMTPCommand.authPlain(initialResponse: SMTPSecret("AGEAYg==")).write(into: &buffer)
        #expect(String(buffer: buffer) == "AUTH PLAIN AGEAYg==\r\n")
        #expect(SMTPCommand.authPlain(initialResponse: SMTPSecret("AGEAYg==")).logDescription == "AUTH PLAIN <redacted>")
        #expect(SMTPCommand.authResponse(SMTPSecret("cHc=")).logDescription == "<redacted>")
        buffer.clear()
        SMTPCommand.mailFrom("a@b.test").write(into: &buffer)
        SMTPCommand.recipient("c@d.test").write(into: &buffer)
        #expect(String(buffer: buffer) == "MAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n")
    }
}
