import NIOCore
import Testing

@testable import SMTP

@Suite struct SMTPDataEncoderTests {
    static func encode(_ text: String) -> String {
        String(buffer: SMTPDataEncoder.encode(Array(text.utf8)))
    }

    @Test func lineStartingWithADotIsStuffed() {
        #expect(Self.encode("a\r\n.hidden\r\n..two\r\n") == "a\r\n..hidden\r\n...two\r\n.\r\n")
        #expect(Self.encode(".first") == "..first\r\n.\r\n")
        #expect(Self.encode("a.b\r\n") == "a.b\r\n.\r\n")
    }

    @Test func aLoneDotLineCannotEndTheMessageEarly() {
        #expect(Self.encode("before\r\n.\r\nafter\r\n") == "before\r\n..\r\nafter\r\n.\r\n")
    }

    @Test func bareLFAndBareCRBecomeCRLF() {
        #expect(Self.encode("one\ntwo\rthree\r\n\nfour") == "one\r\ntwo\r\nthree\r\n\r\nfour\r\n.\r\n")
        #expect(Self.encode("x\n.y\n") == "x\r\n..y\r\n.\r\n")
    }

    @Test func emptyAndTerminatedBodies() {
        #expect(Self.encode("") == ".\r\n")
        #expect(Self.encode("done\r\n") == "done\r\n.\r\n")
    }
}
