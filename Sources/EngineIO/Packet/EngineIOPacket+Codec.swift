public import NIOCore

extension EngineIOPacket {
    /// Encodes the packet as one WebSocket frame.
    public func encodeFrame() -> EngineIOFrame {
        switch self.data {
        case .binary(let bytes):
            return .binary(bytes)
        case .text(let text):
            var buffer = ByteBuffer()
            buffer.reserveCapacity(text.utf8.count + 1)
            buffer.writeInteger(self.type.digit)
            buffer.writeString(text)
            return .text(buffer)
        case .none:
            var buffer = ByteBuffer()
            buffer.writeInteger(self.type.digit)
            return .text(buffer)
        }
    }

    /// Decodes a text WebSocket frame (or one text record of a polling payload).
    ///
    /// - Throws: ``EngineIOError`` `.invalidPacket` when the text is empty or does not start
    ///   with a known type digit.
    public static func decode(text: some StringProtocol) throws(EngineIOError) -> EngineIOPacket {
        let utf8 = text.utf8
        guard let first = utf8.first else { throw EngineIOError(.invalidPacket, "empty packet") }
        guard first >= UInt8(ascii: "0"), let type = EngineIOPacketType(rawValue: first &- UInt8(ascii: "0")) else {
            throw EngineIOError(.invalidPacket, "unknown packet type")
        }
        // Drop the digit by UTF-8 code unit, not by Character: a combining mark after the
        // digit would otherwise be swallowed with it (found by the fuzzer).
        let rest = utf8.dropFirst()
        return EngineIOPacket(type, rest.isEmpty ? nil : .text(String(decoding: rest, as: UTF8.self)))
    }

    /// Decodes a text frame given as bytes; invalid UTF-8 is an invalid packet.
    public static func decode(textFrame buffer: ByteBuffer) throws(EngineIOError) -> EngineIOPacket {
        guard let string = buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes),
            string.utf8.count == buffer.readableBytes, isValidUTF8(buffer)
        else {
            throw EngineIOError(.invalidPacket, "text frame is not UTF-8")
        }
        return try decode(text: string)
    }

    /// Decodes a binary WebSocket frame: always a `message` carrying the bytes.
    public static func decode(binaryFrame buffer: ByteBuffer) -> EngineIOPacket {
        .message(buffer)
    }
}

/// Strict UTF-8 validation (String(decoding:) would silently repair).
@usableFromInline
func isValidUTF8(_ buffer: ByteBuffer) -> Bool {
    buffer.withUnsafeReadableBytes { raw in
        var iterator = raw.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
