import Foundation
import SwitchboardCore
import Testing

/// `CompactJSONEncoder` must write what Foundation's `JSONEncoder` writes with
/// `[.sortedKeys, .withoutEscapingSlashes]`: stored payloads and API answers keep their bytes.
@Suite("CompactJSONEncoder")
struct CompactJSONEncoderTests {
    static func foundation(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func expectSameBytes(_ value: some Encodable, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try CompactJSONEncoder().encodeString(value) == foundation(value), sourceLocation: sourceLocation)
    }

    enum Shape: Codable {
        case circle(radius: Double)
        case named(String, sides: Int8?)
        case none
    }

    class Base: Encodable {
        var base = "b"
        private enum CodingKeys: String, CodingKey { case base }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(base, forKey: .base)
        }
    }

    final class Derived: Base {
        var extra: [UInt16] = [0, 65535]
        private enum CodingKeys: String, CodingKey { case extra }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(extra, forKey: .extra)
            try super.encode(to: container.superEncoder())
        }
    }

    struct Everything: Encodable {
        var doubles: [Double] = [1, 0.1, 1e20, 1.5e-7, 3.14159, -0.0, 123_456_789.125, 1e300, 100, 1e16, 1e15, 1.2345678901234567e19]
        var float: Float = 0.1
        var integers: [Int64] = [.min, -1, 0, .max]
        var small: [Int8] = [.min, .max]
        var unsigned: UInt64 = .max
        var text = "\u{0}\u{1}\u{8}\t\n\u{B}\u{C}\r\u{1F}\"\\/é😀\u{2028}\u{7F} ok"
        var missing: String? = nil
        var present: Int? = 5
        var optionals: [Int?] = [nil, 1]
        var keys: [String: Int] = ["b": 1, "a10": 2, "a9": 3, "B": 4, "_x": 5, "é": 6, "aa": 7]
        var intKeys: [Int: String] = [2: "two", 10: "ten"]
        var date = Date(timeIntervalSinceReferenceDate: 12.5)
        var data = Data([1, 2, 3, 250])
        var url = URL(string: "https://example.com/a%20b?q=1&r=/x")!
        var decimal = Decimal(string: "12.340")!
        var shapes: [Shape] = [.circle(radius: 2), .named("hex", sides: 6), .named("blob", sides: nil), .none]
        var nested: [[String: [Bool]]] = [["t": [true, false]], [:]]
        var empty: [String] = []
        var object = Derived()
    }

    @Test("writes Foundation's bytes for every kind of value, nesting and key order")
    func matchesFoundation() throws {
        try Self.expectSameBytes(Everything())
        try Self.expectSameBytes("top level")
        try Self.expectSameBytes(42)
        try Self.expectSameBytes([String?.none])
    }

    @Test("writes Foundation's bytes for Switchboard's payloads")
    func matchesFoundationOnPayloads() throws {
        let message = Message(
            id: "12",
            conversationId: "3",
            direction: .outbound,
            author: .bot,
            authorId: nil,
            kind: "text",
            text: "Hello \"you\" \n 👋",
            attachments: [Attachment(type: "image", url: "https://cdn.example/a.png")],
            quickReplyPayload: nil,
            postbackPayload: nil,
            replyToMid: "m_1",
            facebookMessageId: nil,
            clientId: "c-1",
            status: .failed,
            error: MessageError(code: 1200, subcode: nil, message: "Temporary send failure", fbtraceId: "Ab/9"),
            reactions: [MessageReaction(reaction: "love", emoji: "❤", at: "2026-12-06T00:00:00.000Z")],
            timestamp: "2026-12-06T00:00:00.000Z",
            createdAt: "2026-12-06T00:00:00.000Z",
            sentAt: nil,
            deliveredAt: nil,
            readAt: nil
        )
        try Self.expectSameBytes(MessageNewPayload(message: message, conversation: nil))
    }

    @Test("numbers JSON cannot hold are refused, as Foundation refuses them")
    func nonFiniteNumbersThrow() {
        #expect(throws: EncodingError.self) { try CompactJSONEncoder().encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try CompactJSONEncoder().encode(["x": Float.infinity]) }
    }

    @Test("a stored payload is written as it is; other encoders refuse it")
    func fragmentsAsTheyAre() throws {
        struct Event: Encodable {
            var name: String
            var data: JSONFragment
        }
        struct Payload: Encodable {
            var text = "café / \"quoted\" \u{1F600}"
            var at = 1.5
            var count = 3
            var psid: Int64 = 24_518_764_323_900_123
        }
        let payload = try CompactJSONEncoder().encodeString(["message": Payload()])
        let event = Event(name: "message:new", data: JSONFragment(payload))
        let written = try CompactJSONEncoder().encodeString(event)
        #expect(written == "{\"data\":\(payload),\"name\":\"message:new\"}")
        // What the fragment stands for, encoded whole, gives the same bytes.
        struct Whole: Encodable {
            var name = "message:new"
            var data = ["message": Payload()]
        }
        #expect(written == (try Self.foundation(Whole())))
        #expect(throws: EncodingError.self) { try Self.foundation(event) }
    }
}
