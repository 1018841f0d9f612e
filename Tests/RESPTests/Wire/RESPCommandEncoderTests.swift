import NIOCore
import Testing

@testable import RESP

@Suite struct RESPCommandEncoderTests {
    func encode(_ args: [RedisArgument]) -> String {
        var encoder = RESPCommandEncoder(buffer: ByteBuffer())
        encoder.encode(args)
        return String(buffer: encoder.buffer)
    }

    @Test func encodesArrayOfBulkStrings() {
        #expect(encode(["SET", "key", "välue"]) == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$6\r\nvälue\r\n")
    }

    @Test func encodesNumbersAsDecimalText() {
        #expect(encode([0, -7, 1_234_567_890]) == "*3\r\n$1\r\n0\r\n$2\r\n-7\r\n$10\r\n1234567890\r\n")
        #expect(encode([RedisArgument(Int64.min)]) == "*1\r\n$20\r\n-9223372036854775808\r\n")
        #expect(encode([RedisArgument(1.5), RedisArgument(3.0), RedisArgument(Double.infinity)]) == "*3\r\n$3\r\n1.5\r\n$1\r\n3\r\n$4\r\n+inf\r\n")
        #expect(encode([.milliseconds(.seconds(2))]) == "*1\r\n$4\r\n2000\r\n")
    }

    @Test func encodesBinaryBuffersVerbatim() {
        let bytes: [UInt8] = [0, 13, 10, 255]
        var encoder = RESPCommandEncoder(buffer: ByteBuffer())
        encoder.encode([RedisArgument(ByteBuffer(bytes: bytes))])
        #expect(Array(encoder.buffer.readableBytesView) == Array("*1\r\n$4\r\n".utf8) + bytes + [13, 10])
    }

    @Test func appendsCommandsOfEveryKindOfArgument() {
        // Written in one measured piece: empty, long and non-ASCII text, buffers, every
        // digit count and sign, doubles; after what the buffer already held.
        let long = String(repeating: "x", count: 300)
        var encoder = RESPCommandEncoder(buffer: ByteBuffer(string: "held"))
        encoder.encode(["", RedisArgument(long), "ünï", RedisArgument(ByteBuffer()), 9, 10, -99, RedisArgument(Int64.max), RedisArgument(-0.25)])
        encoder.encode([])
        let expected =
            "held*9\r\n$0\r\n\r\n$300\r\n\(long)\r\n$5\r\nünï\r\n$0\r\n\r\n$1\r\n9\r\n$2\r\n10\r\n$3\r\n-99\r\n"
            + "$19\r\n9223372036854775807\r\n$5\r\n-0.25\r\n*0\r\n"
        #expect(String(buffer: encoder.buffer) == expected)
    }

    @Test func encodedCommandParsesBack() throws {
        var encoder = RESPCommandEncoder(buffer: ByteBuffer())
        encoder.encode(["XADD", "s", "*", "f", 42])
        var buffer = encoder.buffer
        var parser = RESPParser()
        let value = try parser.next(from: &buffer)
        #expect(value?.elements?.compactMap(\.string) == ["XADD", "s", "*", "f", "42"])
    }
}
