public import NIOCore

/// The HTTP long-polling payload: packets joined by the record separator 0x1E, binary
/// packets as `b` followed by base64.
public enum EngineIOPayload {
    /// The record separator between packets.
    public static let separator: UInt8 = 0x1E

    /// Encodes queued frames into one polling response body.
    public static func encode(_ frames: some Sequence<EngineIOFrame>) -> ByteBuffer {
        var output = ByteBuffer()
        var first = true
        for frame in frames {
            if !first { output.writeInteger(separator) }
            first = false
            switch frame {
            case .text(let bytes):
                output.writeImmutableBuffer(bytes)
            case .binary(let bytes):
                output.writeInteger(UInt8(ascii: "b"))
                EngineIOBase64.encode(bytes, into: &output)
            }
        }
        return output
    }

    /// Decodes a polling request body into packets.
    ///
    /// - Throws: ``EngineIOError`` `.invalidPacket` on an empty record, bad base64, invalid
    ///   UTF-8 or an unknown type; `.payloadTooLarge` past `maxPayload` bytes.
    public static func decode(_ body: ByteBuffer, maxPayload: Int) throws(EngineIOError) -> [EngineIOPacket] {
        guard body.readableBytes <= maxPayload else {
            throw EngineIOError(.payloadTooLarge, "\(body.readableBytes) bytes > maxPayload \(maxPayload)")
        }
        guard body.readableBytes > 0 else { throw EngineIOError(.invalidPacket, "empty payload") }
        var packets: [EngineIOPacket] = []
        let view = body.readableBytesView
        var start = view.startIndex
        while true {
            let end = view[start...].firstIndex(of: separator) ?? view.endIndex
            let record = view[start..<end]
            guard let first = record.first else { throw EngineIOError(.invalidPacket, "empty record") }
            if first == UInt8(ascii: "b") {
                guard let bytes = EngineIOBase64.decode(record.dropFirst()) else {
                    throw EngineIOError(.invalidPacket, "invalid base64")
                }
                packets.append(.message(bytes))
            } else {
                packets.append(try EngineIOPacket.decode(textFrame: ByteBuffer(record)))
            }
            guard end < view.endIndex else { break }
            start = view.index(after: end)
        }
        return packets
    }
}
