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

    /// The length of the argument's bytes as sent.
    var encodedLength: Int {
        switch storage {
        case .string(let s): s.utf8.count
        case .buffer(let b): b.readableBytes
        case .integer(let i): RESPCommandEncoder.decimalLength(i)
        case .double(let d): Self.format(d).utf8.count
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
///
/// A command is measured first and then written in one piece through a pointer: writing
/// its dozen small parts (`*`, counts, CRLFs, `$`, lengths) one by one into the buffer
/// costs a capacity and exclusivity check each, which showed as a tenth of the client's
/// time in pipelined SET/GET.
public struct RESPCommandEncoder: Sendable {
    public private(set) var buffer: ByteBuffer

    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    public mutating func encode(_ arguments: [RedisArgument]) {
        var size = Self.headerLength(arguments.count)
        for argument in arguments {
            let length = argument.encodedLength
            size += Self.headerLength(length) + length + 2
        }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var out = RawWriter(base: raw.baseAddress!)
            out.header(UInt8(ascii: "*"), arguments.count)
            for argument in arguments {
                switch argument.storage {
                case .string(let s):
                    out.header(UInt8(ascii: "$"), s.utf8.count)
                    out.bytes(of: s)
                case .buffer(let b):
                    out.header(UInt8(ascii: "$"), b.readableBytes)
                    b.withUnsafeReadableBytes { out.bytes($0) }
                case .integer(let i):
                    out.header(UInt8(ascii: "$"), Self.decimalLength(i))
                    out.decimal(i)
                case .double(let d):
                    let text = RedisArgument.format(d)
                    out.header(UInt8(ascii: "$"), text.utf8.count)
                    out.bytes(of: text)
                }
                out.crlf()
            }
            precondition(out.count == size, "RESP command measured \(size) bytes, wrote \(out.count)")
            return size
        }
    }

    /// `*n\r\n` or `$n\r\n`.
    private static func headerLength(_ n: Int) -> Int { 1 + decimalLength(Int64(n)) + 2 }

    static func decimalLength(_ value: Int64) -> Int {
        if value == .min { return 20 }
        var v = value < 0 ? -value : value
        var n = value < 0 ? 2 : 1
        while v >= 10 {
            v /= 10
            n += 1
        }
        return n
    }

    /// Writes through a pointer into room already measured.
    private struct RawWriter {
        let base: UnsafeMutableRawPointer
        var count = 0

        mutating func byte(_ b: UInt8) {
            base.storeBytes(of: b, toByteOffset: count, as: UInt8.self)
            count += 1
        }

        mutating func crlf() {
            byte(0x0D)
            byte(0x0A)
        }

        mutating func header(_ type: UInt8, _ n: Int) {
            byte(type)
            decimal(Int64(n))
            crlf()
        }

        mutating func bytes(_ source: UnsafeRawBufferPointer) {
            guard let from = source.baseAddress, !source.isEmpty else { return }
            (base + count).copyMemory(from: from, byteCount: source.count)
            count += source.count
        }

        mutating func bytes(of string: String) {
            var string = string
            string.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
        }

        mutating func decimal(_ value: Int64) {
            let length = RESPCommandEncoder.decimalLength(value)
            if value < 0 { base.storeBytes(of: UInt8(ascii: "-"), toByteOffset: count, as: UInt8.self) }
            // Digits from the last one back; the magnitude of Int64.min fits a UInt64.
            var v = value.magnitude
            var index = count + length - 1
            repeat {
                base.storeBytes(of: UInt8(truncatingIfNeeded: v % 10) + 0x30, toByteOffset: index, as: UInt8.self)
                v /= 10
                index -= 1
            } while v > 0
            count += length
        }
    }
}
