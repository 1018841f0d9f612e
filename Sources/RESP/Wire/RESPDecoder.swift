public import NIOCore

/// Adapts ``RESPParser`` to NIO's decoder protocol so a channel pipeline delivers whole
/// ``RESPValue``s. It holds no logic of its own.
public struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPValue

    private var parser: RESPParser

    public init(limits: RESPParserLimits = .init()) {
        self.parser = RESPParser(limits: limits)
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        try parser.next(from: &buffer)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        try parser.next(from: &buffer)
    }
}
