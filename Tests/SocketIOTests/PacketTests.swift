import EngineIO
import NIOCore
import SocketIO
import Testing

func decodeOne(_ text: String) throws -> SocketIOPacket {
    var decoder = SocketIOPacketDecoder()
    return try #require(try decoder.decode(.text(text)))
}

@Suite struct PacketTests {
    @Test func everyPacketTypeDecodes() throws {
        #expect(try decodeOne("0") == SocketIOPacket(.connect))
        #expect(try decodeOne("0/admin,{\"token\":\"x\"}") == SocketIOPacket(.connect, namespace: "/admin", data: ["token": "x"]))
        #expect(try decodeOne("1/admin,") == SocketIOPacket(.disconnect, namespace: "/admin"))
        #expect(try decodeOne("2[\"hello\",1]") == .event("hello", [1]))
        #expect(try decodeOne("2/admin,12[\"hello\"]") == .event("hello", [], namespace: "/admin", id: 12))
        #expect(try decodeOne("312[\"ok\"]") == SocketIOPacket(.ack, id: 12, data: ["ok"]))
        #expect(try decodeOne("4{\"message\":\"no\"}") == SocketIOPacket(.connectError, data: ["message": "no"]))
        #expect(try decodeOne("4\"no\"") == SocketIOPacket(.connectError, data: "no"))
        #expect(try decodeOne("50-[\"x\"]") == .event("x", []))
    }

    @Test func binaryEventIsReassembled() throws {
        var decoder = SocketIOPacketDecoder()
        #expect(try decoder.decode(.text("52-/nsp,7[\"up\",{\"_placeholder\":true,\"num\":1},{\"a\":{\"_placeholder\":true,\"num\":0}}]")) == nil)
        #expect(decoder.isReassembling)
        #expect(try decoder.decode(.binary(ByteBuffer(bytes: [1]))) == nil)
        let packet = try #require(try decoder.decode(.binary(ByteBuffer(bytes: [2]))))
        #expect(packet.type == .binaryEvent && packet.namespace == "/nsp" && packet.id == 7)
        #expect(packet.arguments == [.binary(ByteBuffer(bytes: [2])), ["a": .binary(ByteBuffer(bytes: [1]))]])
        #expect(!decoder.isReassembling)
    }

    @Test func encodingMatchesTheReference() {
        #expect(SocketIOPacket(.connect, data: ["sid": "abc"]).encodedText == "0{\"sid\":\"abc\"}")
        #expect(SocketIOPacket.event("message-back", [1, "2", ["3": [true]]]).encodedText == "2[\"message-back\",1,\"2\",{\"3\":[true]}]")
        #expect(SocketIOPacket(.ack, namespace: "/custom", id: 456, data: [1]).encodedText == "3/custom,456[1]")
        #expect(SocketIOPacket(.disconnect, namespace: "/custom").encodedText == "1/custom,")
        let frames = SocketIOPacket(.ack, id: 789, data: [.binary(ByteBuffer(bytes: [1, 2, 3])), .binary(ByteBuffer(bytes: [4]))]).encode()
        #expect(frames.count == 3)
        #expect(frames[0] == .text(ByteBuffer(string: "462-789[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]")))
        #expect(frames[1] == .binary(ByteBuffer(bytes: [1, 2, 3])))
    }

    @Test(arguments: [
        "", "7", "x", "4abc", "42{}", "2{}", "2[]", "2[1", "2abc[\"x\"]", "2[\"connect\"]", "2[\"disconnect\"]", "2[null]",
        "3[1]", "1{}", "1[]", "0[]", "0\"x\"", "4", "5[\"x\"]", "5x-[\"x\"]", "51[\"x\"]", "2[\"a\"]x", "21234567890123456[\"a\"]",
        "52-[\"a\",{\"_placeholder\":true,\"num\":5}]",
    ])
    func malformedPacketsThrow(text: String) {
        #expect(throws: SocketIOError.self) {
            var decoder = SocketIOPacketDecoder()
            _ = try decoder.decode(.text(text))
            _ = try decoder.decode(.binary(ByteBuffer(bytes: [0])))
            _ = try decoder.decode(.binary(ByteBuffer(bytes: [0])))
        }
    }

    @Test func unexpectedFramesThrowWithStableCodes() throws {
        var decoder = SocketIOPacketDecoder(maxAttachments: 2)
        #expect { _ = try decoder.decode(.binary(ByteBuffer())) } throws: { ($0 as? SocketIOError)?.code == .unexpectedBinary }
        #expect { _ = try decoder.decode(.text("53-[\"a\"]")) } throws: { ($0 as? SocketIOError)?.code == .tooManyAttachments }
        #expect(try decoder.decode(.text("51-[\"a\",{\"_placeholder\":true,\"num\":0}]")) == nil)
        #expect { _ = try decoder.decode(.text("2[\"b\"]")) } throws: { ($0 as? SocketIOError)?.code == .invalidPacket }
        #expect { _ = try decoder.decode(.text("2{")) } throws: { ($0 as? SocketIOError)?.code == .invalidPacket }
    }

    @Test func everyTruncationEitherDecodesOrThrows() {
        let text = "52-/chat,99[\"m\",{\"_placeholder\":true,\"num\":0},{\"é\\u00e9\\ud83d\\ude00\":[1.5e3,-0,null,true]}]"
        let utf8 = Array(text.utf8)
        for end in 0...utf8.count {
            var decoder = SocketIOPacketDecoder()
            _ = try? decoder.decode(.text(String(decoding: utf8[0..<end], as: UTF8.self)))
        }
    }
}
