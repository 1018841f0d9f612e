/// Bounds the parser enforces so a hostile or broken server cannot make the client allocate
/// without limit or recurse without end.
public struct RESPParserLimits: Sendable, Hashable {
    /// Deepest nesting of aggregates (arrays, maps, sets, pushes, attributes).
    public var maximumDepth: Int
    /// Largest bulk string, bulk error or verbatim string, in bytes.
    public var maximumBulkLength: Int
    /// Most elements one aggregate may announce (a map counts its pairs).
    public var maximumAggregateCount: Int
    /// Longest header or simple line (simple strings, errors, numbers), CRLF excluded.
    public var maximumLineLength: Int

    public init(
        maximumDepth: Int = 32,
        maximumBulkLength: Int = 512 * 1024 * 1024,
        maximumAggregateCount: Int = 16 * 1024 * 1024,
        maximumLineLength: Int = 64 * 1024
    ) {
        self.maximumDepth = maximumDepth
        self.maximumBulkLength = maximumBulkLength
        self.maximumAggregateCount = maximumAggregateCount
        self.maximumLineLength = maximumLineLength
    }
}

/// Why the parser rejected its input. After one, the stream cannot be resynchronised: the
/// connection must close.
public struct RESPParserError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        case invalidTypeByte(UInt8)
        case invalidInteger
        case invalidDouble
        case invalidBoolean
        case invalidLength
        case missingCRLF
        case lineTooLong
        case bulkTooLong
        case aggregateTooLarge
        case nestingTooDeep
        case invalidVerbatimString
    }

    public var reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    public var description: String { "RESP parse error: \(reason)" }
}
