import EngineIO
import NIOCore
import NIOWebSocket

/// Server-to-client WebSocket frames (never masked), packed for one write: small frames are
/// copied behind their headers into one buffer, so a tick's frames leave in one `write`;
/// a large payload (a shared broadcast buffer) is written as is, never copied.
struct WebSocketFrameBatch {
    /// Payloads up to this size are copied into the batch buffer.
    static let copyLimit = 1024

    private(set) var buffers: [ByteBuffer] = []
    private var current: ByteBuffer
    private let allocator: ByteBufferAllocator

    init(allocator: ByteBufferAllocator, capacity: Int) {
        self.allocator = allocator
        self.current = allocator.buffer(capacity: capacity)
    }

    /// Bytes the batch buffer should start with for these frames.
    static func estimatedSize(of frames: [EngineIOFrame]) -> Int {
        frames.reduce(0) { $0 + 10 + ($1.byteCount <= copyLimit ? $1.byteCount : 0) }
    }

    mutating func append(_ frame: EngineIOFrame) {
        switch frame {
        case .text(let payload): append(opcode: .text, payload)
        case .binary(let payload): append(opcode: .binary, payload)
        }
    }

    mutating func append(opcode: WebSocketOpcode, _ payload: ByteBuffer) {
        current.writeInteger(0x80 | UInt8(webSocketOpcode: opcode))
        let length = payload.readableBytes
        switch length {
        case ..<126:
            current.writeInteger(UInt8(length))
        case ...Int(UInt16.max):
            current.writeInteger(UInt8(126))
            current.writeInteger(UInt16(length))
        default:
            current.writeInteger(UInt8(127))
            current.writeInteger(UInt64(length))
        }
        if length <= Self.copyLimit {
            current.writeImmutableBuffer(payload)
        } else {
            buffers.append(current)
            buffers.append(payload)
            current = allocator.buffer(capacity: 16)
        }
    }

    /// A close frame with a status code.
    mutating func appendClose(_ code: WebSocketErrorCode) {
        var payload = allocator.buffer(capacity: 2)
        payload.write(webSocketErrorCode: code)
        append(opcode: .connectionClose, payload)
    }

    /// The buffers to write, in order.
    consuming func finish() -> [ByteBuffer] {
        if current.readableBytes > 0 { buffers.append(current) }
        return buffers
    }
}
