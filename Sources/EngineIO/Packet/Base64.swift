public import NIOCore

/// Standard base64 (RFC 4648, padded), used for binary packets inside polling payloads.
public enum EngineIOBase64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Appends the base64 encoding of `bytes` to `output`.
    public static func encode(_ bytes: ByteBuffer, into output: inout ByteBuffer) {
        bytes.withUnsafeReadableBytes { input in
            let count = input.count
            output.reserveCapacity(output.writerIndex + ((count + 2) / 3) * 4)
            var index = 0
            while index + 3 <= count {
                let n = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
                output.writeInteger(alphabet[Int((n >> 18) & 63)])
                output.writeInteger(alphabet[Int((n >> 12) & 63)])
                output.writeInteger(alphabet[Int((n >> 6) & 63)])
                output.writeInteger(alphabet[Int(n & 63)])
                index += 3
            }
            let remaining = count - index
            if remaining == 1 {
                let n = UInt32(input[index]) << 16
                output.writeInteger(alphabet[Int((n >> 18) & 63)])
                output.writeInteger(alphabet[Int((n >> 12) & 63)])
                output.writeString("==")
            } else if remaining == 2 {
                let n = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
                output.writeInteger(alphabet[Int((n >> 18) & 63)])
                output.writeInteger(alphabet[Int((n >> 12) & 63)])
                output.writeInteger(alphabet[Int((n >> 6) & 63)])
                output.writeString("=")
            }
        }
    }

    /// Decodes base64 text; `nil` when it is not valid padded base64.
    public static func decode(_ text: some Collection<UInt8>) -> ByteBuffer? {
        let bytes = Array(text)
        guard bytes.count % 4 == 0 else { return nil }
        var output = ByteBuffer()
        output.reserveCapacity(bytes.count / 4 * 3)
        var index = 0
        while index < bytes.count {
            let isLast = index + 4 == bytes.count
            var values: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
            var padding = 0
            for offset in 0..<4 {
                let byte = bytes[index + offset]
                let value: UInt32
                if byte == UInt8(ascii: "=") {
                    guard isLast, offset >= 2 else { return nil }
                    padding += 1
                    value = 0
                } else {
                    guard padding == 0 else { return nil }
                    let decoded = reverse[Int(byte)]
                    guard decoded != 0xFF else { return nil }
                    value = UInt32(decoded)
                }
                switch offset {
                case 0: values.0 = value
                case 1: values.1 = value
                case 2: values.2 = value
                default: values.3 = value
                }
            }
            let n = values.0 << 18 | values.1 << 12 | values.2 << 6 | values.3
            output.writeInteger(UInt8((n >> 16) & 0xFF))
            if padding < 2 { output.writeInteger(UInt8((n >> 8) & 0xFF)) }
            if padding < 1 { output.writeInteger(UInt8(n & 0xFF)) }
            index += 4
        }
        return output
    }
}
