public import NIOCore

/// An incremental RESP2/RESP3 parser: a value-type state machine fed with whatever bytes have
/// arrived.
///
/// ``next(from:)`` returns a value once it is complete and nil when it needs more bytes. A
/// scalar (line or bulk) is consumed only when all of it is there, so a split read never
/// loses bytes; aggregates are built on an explicit stack, so a large array that arrives over
/// many reads is not re-parsed from its start, and nesting never recurses.
public struct RESPParser: Sendable {
    public let limits: RESPParserLimits

    private enum AggregateKind: Sendable {
        case array, set, push, map, attribute
    }

    private struct Frame: Sendable {
        var kind: AggregateKind
        var remaining: Int
        var elements: [RESPValue]
    }

    private enum Token {
        case value(RESPValue)
        case aggregate(AggregateKind, count: Int)
    }

    private var stack: [Frame] = []

    public init(limits: RESPParserLimits = .init()) {
        self.limits = limits
    }

    /// True while a partly received aggregate is held.
    public var isMidValue: Bool { !stack.isEmpty }

    /// Parses the next complete value from `buffer`, consuming its bytes, or returns nil
    /// (consuming whatever complete scalars it could) when more bytes are needed.
    public mutating func next(from buffer: inout ByteBuffer) throws(RESPParserError) -> RESPValue? {
        outer: while true {
            guard let token = try readToken(from: &buffer) else { return nil }
            var value: RESPValue
            switch token {
            case .value(let v):
                value = v
            case .aggregate(let kind, let count):
                if count < 0 {
                    value = .null
                } else if count == 0 {
                    if kind == .attribute { continue outer }
                    value = Self.build(kind, [])
                } else {
                    guard stack.count < limits.maximumDepth else { throw RESPParserError(.nestingTooDeep) }
                    let slots = kind == .map || kind == .attribute ? count * 2 : count
                    var elements: [RESPValue] = []
                    elements.reserveCapacity(min(slots, 1024))
                    stack.append(Frame(kind: kind, remaining: slots, elements: elements))
                    continue outer
                }
            }
            // A value is complete: fold it into the enclosing aggregates.
            while !stack.isEmpty {
                let top = stack.count - 1
                stack[top].elements.append(value)
                stack[top].remaining -= 1
                if stack[top].remaining > 0 { continue outer }
                let frame = stack.removeLast()
                if frame.kind == .attribute { continue outer }  // attributes annotate the next value; drop them
                value = Self.build(frame.kind, frame.elements)
            }
            return value
        }
    }

    private static func build(_ kind: AggregateKind, _ elements: [RESPValue]) -> RESPValue {
        switch kind {
        case .array: return .array(elements)
        case .set: return .set(elements)
        case .push: return .push(elements)
        case .map, .attribute:
            var entries: [RESPMapEntry] = []
            entries.reserveCapacity(elements.count / 2)
            var i = 0
            while i + 1 < elements.count {
                entries.append(RESPMapEntry(key: elements[i], value: elements[i + 1]))
                i += 2
            }
            return .map(entries)
        }
    }

    /// Reads one scalar or aggregate header, all or nothing.
    private func readToken(from buffer: inout ByteBuffer) throws(RESPParserError) -> Token? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        let lineStart = buffer.readerIndex + 1
        guard let lineEnd = try findCRLF(in: buffer, from: lineStart) else { return nil }
        let lineLength = lineEnd - lineStart
        let afterLine = lineEnd + 2

        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let line = buffer.getSlice(at: lineStart, length: lineLength)!
            buffer.moveReaderIndex(to: afterLine)
            return .value(type == UInt8(ascii: "+") ? .simpleString(line) : .simpleError(line))

        case UInt8(ascii: ":"):
            let n = try Self.parseInteger(buffer, at: lineStart, length: lineLength)
            buffer.moveReaderIndex(to: afterLine)
            return .value(.integer(n))

        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            let length = try Self.parseInteger(buffer, at: lineStart, length: lineLength)
            if length == -1 && type == UInt8(ascii: "$") {
                buffer.moveReaderIndex(to: afterLine)
                return .value(.null)
            }
            guard length >= 0 else { throw RESPParserError(.invalidLength) }
            guard length <= limits.maximumBulkLength else { throw RESPParserError(.bulkTooLong) }
            let n = Int(length)
            guard buffer.writerIndex - afterLine >= n + 2 else { return nil }
            guard buffer.getInteger(at: afterLine + n, as: UInt16.self) == 0x0D0A else {
                throw RESPParserError(.missingCRLF)
            }
            let body = buffer.getSlice(at: afterLine, length: n)!
            buffer.moveReaderIndex(to: afterLine + n + 2)
            switch type {
            case UInt8(ascii: "$"): return .value(.bulkString(body))
            case UInt8(ascii: "!"): return .value(.bulkError(body))
            default:
                guard n >= 4, body.getInteger(at: body.readerIndex + 3, as: UInt8.self) == UInt8(ascii: ":") else {
                    throw RESPParserError(.invalidVerbatimString)
                }
                let format = body.getString(at: body.readerIndex, length: 3) ?? ""
                return .value(.verbatimString(format: format, body.getSlice(at: body.readerIndex + 4, length: n - 4)!))
            }

        case UInt8(ascii: "_"):
            guard lineLength == 0 else { throw RESPParserError(.missingCRLF) }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.null)

        case UInt8(ascii: "#"):
            guard lineLength == 1, let c = buffer.getInteger(at: lineStart, as: UInt8.self),
                c == UInt8(ascii: "t") || c == UInt8(ascii: "f")
            else { throw RESPParserError(.invalidBoolean) }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.boolean(c == UInt8(ascii: "t")))

        case UInt8(ascii: ","):
            let text = buffer.getString(at: lineStart, length: lineLength) ?? ""
            let d: Double
            switch text {
            case "inf", "+inf": d = .infinity
            case "-inf": d = -.infinity
            case "nan", "-nan": d = .nan
            default:
                guard !text.isEmpty, text.utf8.allSatisfy(Self.isDoubleByte), let parsed = Double(text) else {
                    throw RESPParserError(.invalidDouble)
                }
                d = parsed
            }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.double(d))

        case UInt8(ascii: "("):
            let text = buffer.getString(at: lineStart, length: lineLength) ?? ""
            var digits = Substring(text)
            if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw RESPParserError(.invalidInteger)
            }
            buffer.moveReaderIndex(to: afterLine)
            return .value(.bigNumber(text))

        case UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "|"):
            let count = try Self.parseInteger(buffer, at: lineStart, length: lineLength)
            let kind: AggregateKind =
                switch type {
                case UInt8(ascii: "*"): .array
                case UInt8(ascii: "%"): .map
                case UInt8(ascii: "~"): .set
                case UInt8(ascii: ">"): .push
                default: .attribute
                }
            if count == -1 && kind == .array {
                buffer.moveReaderIndex(to: afterLine)
                return .aggregate(.array, count: -1)
            }
            guard count >= 0 else { throw RESPParserError(.invalidLength) }
            guard count <= limits.maximumAggregateCount else { throw RESPParserError(.aggregateTooLarge) }
            buffer.moveReaderIndex(to: afterLine)
            return .aggregate(kind, count: Int(count))

        default:
            throw RESPParserError(.invalidTypeByte(type))
        }
    }

    private static func isDoubleByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
            || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
    }

    /// Index of the `\r` of the first CRLF at or after `start`, nil if not yet received.
    private func findCRLF(in buffer: ByteBuffer, from start: Int) throws(RESPParserError) -> Int? {
        let available = buffer.writerIndex - start
        let searchable = min(available, limits.maximumLineLength + 2)
        if searchable >= 2 {
            let found: Int? = buffer.withUnsafeReadableBytes { raw in
                let base = start - buffer.readerIndex
                var i = base
                let end = base + searchable - 1
                while i < end {
                    if raw[i] == 0x0D {
                        return raw[i + 1] == 0x0A ? i - base : -1
                    }
                    i += 1
                }
                return nil
            }
            if let found {
                guard found >= 0 else { throw RESPParserError(.missingCRLF) }
                return start + found
            }
        }
        if available >= limits.maximumLineLength + 2 { throw RESPParserError(.lineTooLong) }
        return nil
    }

    /// Parses a signed decimal integer that must fill the line exactly.
    private static func parseInteger(_ buffer: ByteBuffer, at index: Int, length: Int) throws(RESPParserError) -> Int64 {
        guard length > 0, length <= 20 else { throw RESPParserError(.invalidInteger) }
        var negative = false
        var i = index
        let end = index + length
        if let first = buffer.getInteger(at: i, as: UInt8.self), first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            i += 1
            guard i < end else { throw RESPParserError(.invalidInteger) }
        }
        var value: Int64 = 0
        while i < end {
            let b = buffer.getInteger(at: i, as: UInt8.self)!
            guard b >= 0x30 && b <= 0x39 else { throw RESPParserError(.invalidInteger) }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) =
                negative ? m.subtractingReportingOverflow(Int64(b - 0x30)) : m.addingReportingOverflow(Int64(b - 0x30))
            guard !o1, !o2 else { throw RESPParserError(.invalidInteger) }
            value = s
            i += 1
        }
        return value
    }
}
