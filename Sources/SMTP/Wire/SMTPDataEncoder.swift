internal import NIOCore

/// Prepares message content for the DATA phase (RFC 5321 §4.5.2, §2.3.8): every line ends
/// in CRLF (bare LF and bare CR become CRLF), a line starting with "." gets one more ".",
/// the last line is terminated, and the `.` CRLF end marker follows.
enum SMTPDataEncoder {
    static func encode(_ content: some Collection<UInt8>, into buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: content.count + content.count / 64 + 8)
        var atLineStart = true
        var index = content.startIndex
        while index != content.endIndex {
            let byte = content[index]
            content.formIndex(after: &index)
            switch byte {
            case UInt8(ascii: "\r"):
                if index != content.endIndex, content[index] == UInt8(ascii: "\n") {
                    content.formIndex(after: &index)
                }
                buffer.writeStaticString("\r\n")
                atLineStart = true
            case UInt8(ascii: "\n"):
                buffer.writeStaticString("\r\n")
                atLineStart = true
            default:
                if atLineStart, byte == UInt8(ascii: ".") {
                    buffer.writeInteger(UInt8(ascii: "."))
                }
                buffer.writeInteger(byte)
                atLineStart = false
            }
        }
        if !atLineStart { buffer.writeStaticString("\r\n") }
        buffer.writeStaticString(".\r\n")
    }

    static func encode(_ content: some Collection<UInt8>) -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(content, into: &buffer)
        return buffer
    }
}
