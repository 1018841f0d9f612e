// libFuzzer entry for the Socket.IO packet decoder (with attachment reassembly) and JSON.
// Build: swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library --product FuzzSocketIO
import EngineIO
import FuzzDriver
import NIOCore
import SocketIO

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocketIO(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)

    // JSON alone: what parses must serialize to JSON that parses back to the same text.
    let text = String(decoding: bytes, as: UTF8.self)
    if let value = try? SocketIOJSON.parse(text) {
        let serialized = SocketIOJSON.serialize(value)
        let again = try? SocketIOJSON.parse(serialized)
        precondition(again.map(SocketIOJSON.serialize) == serialized, "serialized JSON did not round-trip")
    }

    // A frame sequence: chunks split at 0xFF; a chunk starting with 0xFE is binary.
    var decoder = SocketIOPacketDecoder(maxAttachments: 4, maxDepth: 16)
    for chunk in bytes.split(separator: 0xFF, omittingEmptySubsequences: false) {
        let message: EngineIOData
        if chunk.first == 0xFE {
            message = .binary(ByteBuffer(bytes: chunk.dropFirst()))
        } else {
            message = .text(String(decoding: chunk, as: UTF8.self))
        }
        do {
            if let packet = try decoder.decode(message) {
                // Whatever decodes must encode and decode to the same packet.
                var check = SocketIOPacketDecoder(maxAttachments: 64, maxDepth: 64)
                var result: SocketIOPacket?
                for frame in packet.encode() {
                    switch frame {
                    case .text(var buffer):
                        buffer.moveReaderIndex(forwardBy: 1)
                        result = try check.decode(.text(String(buffer: buffer)))
                    case .binary(let buffer):
                        result = try check.decode(.binary(buffer))
                    }
                }
                precondition(result?.encode() == packet.encode(), "packet did not round-trip")
            }
        } catch {
            decoder = SocketIOPacketDecoder(maxAttachments: 4, maxDepth: 16)
        }
    }
    return 0
}

// SwiftPM aliases `main` to `FuzzSocketIO_main`: hand the process to libFuzzer.
@_cdecl("FuzzSocketIO_main")
public func fuzzSocketIOMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in fuzzSocketIO(data, size) }
}
