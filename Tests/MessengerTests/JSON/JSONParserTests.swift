@_spi(GraphEmulator) import Messenger
import Testing

@Suite struct JSONParserTests {
    func parse(_ text: String) -> JSONValue? { JSONValue.parse(Array(text.utf8)) }

    @Test func scalarsAndStructures() {
        #expect(
            parse(" { \"a\" : [1, -2, 3.5, true, false, null, \"x\"] } ")
                == .object([
                    "a": .array([.int(1), .int(-2), .double(3.5), .bool(true), .bool(false), .null, .string("x")])
                ])
        )
        #expect(parse("[]") == .array([]))
        #expect(parse("{}") == .object([:]))
        #expect(parse("\"\"") == .string(""))
    }

    @Test func numbers() {
        #expect(parse("9223372036854775807") == .int(Int64.max))
        #expect(parse("-9223372036854775808") == .int(Int64.min))
        #expect(parse("12345678901234567890") == .double(Double("12345678901234567890")!))
        #expect(parse("1.5e3") == .double(1500))
        #expect(parse("-0") == .int(0))
        #expect(parse("6234567890123456")?.id == "6234567890123456")
        for bad in ["01", "1.", "-", ".5", "1e", "+1", "0x10", "1e+"] { #expect(parse(bad) == nil, "\(bad)") }
    }

    @Test func stringEscapes() {
        #expect(parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{C}\n\r\t"))
        #expect(parse(#""\u00fc\u4f60\ud83d\udc4b""#) == .string("ü你👋"))
        #expect(parse(#""\ud83d""#) == .string("\u{FFFD}"))
        #expect(parse(#""\udc4bx""#) == .string("\u{FFFD}x"))
        #expect(parse(#""\ud83d\u0041""#) == .string("\u{FFFD}A"))
        #expect(parse("\"grüß 👋\"") == .string("grüß 👋"))
        for bad in [#""\x""#, #""\u12""#, #""\u12G4""#, "\"a\u{1}b\"", "\"open", #""\"#] {
            #expect(parse(bad) == nil, "\(bad)")
        }
    }

    @Test func rejectsMalformedDocuments() {
        for bad in ["", " ", "[1,]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "tru", "nul", "{} x", "[", "{", "[1]]", "'a'"] {
            #expect(parse(bad) == nil, "\(bad)")
        }
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(parse(deep) == nil)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(parse(fine) != nil)
    }

    @Test func writesCompactSortedEscaped() {
        let value = JSONValue.object([
            "b": .string("q\"\\\n\u{1}/ü"), "a": .array([.int(1), .double(2.5), .double(3), .null, .bool(true)]),
        ])
        #expect(value.jsonText == #"{"a":[1,2.5,3,null,true],"b":"q\"\\\n\u0001/ü"}"#)
        #expect(
            parse(value.jsonText)
                == .object([
                    "b": .string("q\"\\\n\u{1}/ü"), "a": .array([.int(1), .double(2.5), .int(3), .null, .bool(true)]),
                ])
        )
    }

    @Test func corpusRoundTrips() throws {
        for name in try Fixtures.allWebhookNames() {
            guard let value = JSONValue.parse(try Fixtures.webhook(name)) else { continue }
            #expect(JSONValue.parse(value.jsonBytes) == value, "\(name)")
        }
    }
}
