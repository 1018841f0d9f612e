import SocketIO
import Testing

@Suite struct JSONTests {
    @Test(arguments: [
        "null", "true", "false", "0", "-12", "1.5", "\"a\\\"b\\\\c\\n\"", "[]", "{}", "[1,[2,[3]]]", "{\"b\":1,\"a\":[true,null]}",
        "9007199254740993", "\"\\u0001\"",
    ])
    func roundTrips(json: String) throws {
        #expect(SocketIOJSON.serialize(try SocketIOJSON.parse(json)) == json)
    }

    @Test func parsesEscapesAndUnicode() throws {
        #expect(try SocketIOJSON.parse("\"\\ud83d\\ude00\\u00e9\\/\"") == "😀é/")
        #expect(try SocketIOJSON.parse("\"\\ud83d\"") == "\u{FFFD}")
        #expect(try SocketIOJSON.parse(" { \"a\" : [ 1 , 2 ] } ") == ["a": [1, 2]])
        #expect(try SocketIOJSON.parse("1e3") == .double(1000))
        #expect(SocketIOJSON.serialize(.double(2)) == "2")
        #expect(SocketIOJSON.serialize(.double(.nan)) == "null")
    }

    @Test(arguments: ["", "[", "[1,]", "{\"a\"}", "{a:1}", "01", "1.", "-", "tru", "\"\\x\"", "\"\u{01}\"", "[1] 2", "\"abc", "1e", "{\"a\":1,}"])
    func rejectsInvalidJSON(json: String) {
        #expect(throws: SocketIOError.self) { _ = try SocketIOJSON.parse(json) }
    }

    @Test func limitsNesting() throws {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(throws: SocketIOError.self) { _ = try SocketIOJSON.parse(deep, maxDepth: 32) }
        _ = try SocketIOJSON.parse(deep, maxDepth: 64)
        let veryDeep = String(repeating: "[", count: 100_000)
        #expect(throws: SocketIOError.self) { _ = try SocketIOJSON.parse(veryDeep) }
    }

    struct Message: Codable, Equatable {
        var text: String
        var count: Int
    }

    @Test func codableBridge() throws {
        let value = try SocketIOValue(encoding: Message(text: "hi", count: 2))
        #expect(value["text"] == "hi")
        #expect(try value.decode(as: Message.self) == Message(text: "hi", count: 2))
        #expect(throws: SocketIOError.self) { _ = try SocketIOValue.string("x").decode(as: Message.self) }
    }
}
