public import NIOCore

/// One argument of a command, sent as a RESP bulk string.
///
/// Literals work directly (`"GET"`, `42`), so commands read like the Redis docs.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    enum Storage: Sendable, Hashable {
        case string(String)
        case buffer(ByteBuffer)
        case integer(Int64)
        case double(Double)
    }

    let storage: Storage

    public init(_ string: String) { storage = .string(string) }
    public init(_ buffer: ByteBuffer) { storage = .buffer(buffer) }
    public init(_ integer: some BinaryInteger) { storage = .integer(Int64(integer)) }
    public init(_ double: Double) { storage = .double(double) }
    public init(stringLiteral value: String) { storage = .string(value) }
    public init(integerLiteral value: Int) { storage = .integer(Int64(value)) }

    /// Milliseconds of a duration, rounded down, as Redis's `PX`/`BLOCK` expect.
    public static func milliseconds(_ duration: Duration) -> RedisArgument {
        RedisArgument(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// The argument as text, for logs and command names.
    public var text: String {
        switch storage {
        case .string(let s): s
        case .buffer(let b): String(buffer: b)
        case .integer(let i): String(i)
        case .double(let d): Self.format(d)
        }
    }

    static func format(_ d: Double) -> String {
        if d == .infinity { return "+inf" }
        if d == -.infinity { return "-inf" }
        if d.rounded() == d, abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }
}

/// Writes commands as RESP arrays of bulk strings, the only form Redis accepts from clients.
public struct RESPCommandEncoder: Sendable {
    public private(set) var buffer: ByteBuffer

    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    public mutating func encode(_ arguments: [RedisArgument]) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(Int64(arguments.count))
        buffer.writeInteger(UInt16(0x0D0A))
        for argument in arguments {
            switch argument.storage {
            case .string(let s):
                var s = s
                s.withUTF8 { bytes in
                    writeBulkHeader(bytes.count)
                    buffer.writeBytes(bytes)
                }
            case .buffer(let b):
                writeBulkHeader(b.readableBytes)
                buffer.writeImmutableBuffer(b)
            case .integer(let i):
                let digits = Self.decimalLength(i)
                writeBulkHeader(digits)
                writeDecimal(i)
            case .double(let d):
                let text = RedisArgument.format(d)
                writeBulkHeader(text.utf8.count)
                buffer.writeString(text)
            }
            buffer.writeInteger(UInt16(0x0D0A))
        }
    }

    private mutating func writeBulkHeader(_ length: Int) {
        buffer.writeInteger(UInt8(ascii: "$"))
        writeDecimal(Int64(length))
        buffer.writeInteger(UInt16(0x0D0A))
    }

    private static func decimalLength(_ value: Int64) -> Int {
        if value == .min { return 20 }
        var v = value < 0 ? -value : value
        var n = value < 0 ? 2 : 1
        while v >= 10 {
            v /= 10
            n += 1
        }
        return n
    }

    private mutating func writeDecimal(_ value: Int64) {
        if value == .min {
            buffer.writeString(String(value))
            return
        }
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        var v = value < 0 ? -value : value
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[19 - count] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
                count += 1
            } while v > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
        }
    }
}
