import EngineIO
import NIOCore
import Testing

@Suite struct PayloadTests {
    @Test func decodesTextAndBinaryRecords() throws {
        let packets = try EngineIOPayload.decode(ByteBuffer(string: "4hello\u{1E}bAQIDBA==\u{1E}2\u{1E}6"), maxPayload: 100)
        #expect(packets == [.message("hello"), .message(ByteBuffer(bytes: [1, 2, 3, 4])), .ping, .noop])
    }

    @Test func encodesWithSeparatorAndBase64() {
        let body = EngineIOPayload.encode([
            EngineIOPacket.message("a").encodeFrame(), .binary(ByteBuffer(bytes: [1, 2, 3, 4])), EngineIOPacket.ping.encodeFrame(),
        ])
        #expect(String(buffer: body) == "4a\u{1E}bAQIDBA==\u{1E}2")
    }

    @Test(arguments: ["", "\u{1E}", "4a\u{1E}", "4a\u{1E}\u{1E}4b", "b!!!!", "bAQI", "bA===", "x", "4a\u{1E}9"])
    func malformedPayloadsAreRejected(body: String) {
        #expect(throws: EngineIOError.self) { _ = try EngineIOPayload.decode(ByteBuffer(string: body), maxPayload: 100) }
    }

    @Test func oversizedPayloadIsTooLarge() {
        #expect {
            _ = try EngineIOPayload.decode(ByteBuffer(string: String(repeating: "4", count: 101)), maxPayload: 100)
        } throws: { ($0 as? EngineIOError)?.code == .payloadTooLarge }
    }

    @Test func everyTruncationEitherDecodesOrThrows() {
        let body = Array("4hello\u{1E}bAQIDBA==\u{1E}4wörld\u{1E}3".utf8)
        for end in 0...body.count {
            _ = try? EngineIOPayload.decode(ByteBuffer(bytes: body[0..<end]), maxPayload: 1_000)
        }
    }

    @Test func base64RoundTripsEveryLength() throws {
        for length in 0..<64 {
            let bytes = ByteBuffer(bytes: (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37) })
            var encoded = ByteBuffer()
            EngineIOBase64.encode(bytes, into: &encoded)
            #expect(EngineIOBase64.decode(encoded.readableBytesView) == bytes)
        }
    }
}
