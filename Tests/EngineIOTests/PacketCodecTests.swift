import EngineIO
import NIOCore
import Testing

@Suite struct PacketCodecTests {
    @Test(arguments: EngineIOPacketType.allCases)
    func everyTypeRoundTrips(type: EngineIOPacketType) throws {
        let packet = EngineIOPacket(type, .text("payload"))
        guard case .text(let frame) = packet.encodeFrame() else {
            Issue.record("expected text")
            return
        }
        #expect(String(buffer: frame) == "\(type.rawValue)payload")
        #expect(try EngineIOPacket.decode(textFrame: frame) == packet)
        #expect(try EngineIOPacket.decode(text: "\(type.rawValue)") == EngineIOPacket(type))
    }

    @Test(arguments: ["", "7", "9hello", "a", "-1", "\u{1F600}"])
    func invalidTextIsRejected(text: String) {
        #expect(throws: EngineIOError(.invalidPacket, "")) {
            _ = try EngineIOPacket.decode(text: text)
        }
    }

    @Test func invalidUTF8IsRejected() {
        let buffer = ByteBuffer(bytes: [UInt8(ascii: "4"), 0xC3, 0x28])
        #expect(throws: EngineIOError.self) { _ = try EngineIOPacket.decode(textFrame: buffer) }
    }

    @Test func combiningMarkAfterTheDigitIsKept() throws {
        #expect(try EngineIOPacket.decode(text: "4\u{301}x") == .message("\u{301}x"))
    }

    @Test func binaryFramesAreMessages() {
        let bytes = ByteBuffer(bytes: [1, 2, 3])
        #expect(EngineIOPacket.decode(binaryFrame: bytes) == .message(bytes))
        #expect(EngineIOPacket.message(bytes).encodeFrame() == .binary(bytes))
    }
}
