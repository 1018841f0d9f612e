public import NIOCore

/// The bytes a connection received and has not parsed yet, with the parser: a read's bytes
/// go in with ``append(_:)``, whole values come out of ``next()``.
///
/// It lets the channel handler parse replies itself rather than behind a decoder stage:
/// each reply then reaches the request it answers without being boxed for and passed
/// along the channel pipeline (an allocation and a handler call less per reply).
public struct RESPReader: Sendable {
    private var parser: RESPParser
    private var unread: ByteBuffer?

    public init(limits: RESPParserLimits = .init()) {
        self.parser = RESPParser(limits: limits)
    }

    /// True while bytes of an incomplete value are held.
    public var isMidValue: Bool { parser.isMidValue || (unread?.readableBytes ?? 0) > 0 }

    /// Adds the bytes of one read.
    public mutating func append(_ bytes: ByteBuffer) {
        guard var unread = self.unread.take() else {
            self.unread = bytes
            return
        }
        var bytes = bytes
        unread.writeBuffer(&bytes)
        self.unread = unread
    }

    /// The next complete value, or nil until more bytes arrive. After an error the stream
    /// cannot be resynchronised: the connection must close.
    public mutating func next() throws(RESPParserError) -> RESPValue? {
        guard var buffer = unread.take() else { return nil }
        let value = try parser.next(from: &buffer)
        if buffer.readableBytes > 0 {
            // Waiting for more: keep only what is unparsed (values already parsed share the
            // old storage, so this copies just the tail instead of growing behind them).
            if value == nil { buffer.discardReadBytes() }
            unread = buffer
        }
        return value
    }
}
