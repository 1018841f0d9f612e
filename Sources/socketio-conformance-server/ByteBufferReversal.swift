import NIOCore

enum ByteBufferReversal {
    static func reversed(_ bytes: ByteBuffer) -> ByteBuffer {
        ByteBuffer(bytes: Array(bytes.readableBytesView.reversed()))
    }
}
