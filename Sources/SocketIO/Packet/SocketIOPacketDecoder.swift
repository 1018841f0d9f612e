public import EngineIO
import NIOCore

/// Turns Engine.IO messages into Socket.IO packets, reassembling binary attachments.
///
/// A value type fed one message at a time: a BINARY_EVENT/BINARY_ACK header makes it wait
/// for its attachments (bounded by ``maxAttachments``); anything unexpected throws, and the
/// caller closes that client.
public struct SocketIOPacketDecoder: Sendable {
    /// Most attachments one packet may announce.
    public var maxAttachments: Int
    /// Deepest JSON nesting accepted.
    public var maxDepth: Int
    private var pending: (packet: SocketIOPacket, expected: Int, attachments: [ByteBuffer])?

    public init(maxAttachments: Int = 10, maxDepth: Int = 32) {
        self.maxAttachments = maxAttachments
        self.maxDepth = maxDepth
    }

    /// Whether a binary packet is waiting for attachments.
    public var isReassembling: Bool { pending != nil }

    /// Feeds one message; returns a packet when one is complete.
    public mutating func decode(_ message: EngineIOData) throws(SocketIOError) -> SocketIOPacket? {
        switch message {
        case .text(let text):
            guard pending == nil else { throw SocketIOError(.invalidPacket, "text while waiting for attachments") }
            let (packet, attachments) = try Self.parse(text, maxAttachments: maxAttachments, maxDepth: maxDepth)
            if attachments == 0 { return packet }
            pending = (packet, attachments, [])
            return nil
        case .binary(let bytes):
            guard var current = pending else { throw SocketIOError(.unexpectedBinary, "binary frame without a binary packet") }
            current.attachments.append(bytes)
            guard current.attachments.count == current.expected else {
                pending = current
                return nil
            }
            pending = nil
            var packet = current.packet
            if let data = packet.data {
                packet.data = try Self.insertAttachments(data, current.attachments)
            }
            return packet
        }
    }

    static func insertAttachments(_ value: SocketIOValue, _ attachments: [ByteBuffer]) throws(SocketIOError) -> SocketIOValue {
        switch value {
        case .object(let fields):
            if fields.count == 2, value["_placeholder"] == .bool(true), case .int(let num) = value["num"] {
                guard num >= 0, num < attachments.count else { throw SocketIOError(.invalidPayload, "placeholder \(num) out of range") }
                return .binary(attachments[Int(num)])
            }
            var result: [SocketIOValue.Field] = []
            result.reserveCapacity(fields.count)
            for field in fields { result.append(.init(field.key, try insertAttachments(field.value, attachments))) }
            return .object(result)
        case .array(let items):
            var result: [SocketIOValue] = []
            result.reserveCapacity(items.count)
            for item in items { result.append(try insertAttachments(item, attachments)) }
            return .array(result)
        default:
            return value
        }
    }

    /// Event names a client may not send.
    static let reservedEvents: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    /// Parses the text form of one packet; returns it and how many attachments follow.
    public static func parse(
        _ text: String,
        maxAttachments: Int = 10,
        maxDepth: Int = 32
    ) throws(SocketIOError) -> (SocketIOPacket, attachments: Int) {
        let utf8 = Array(text.utf8)
        var index = 0
        guard let first = utf8.first, first >= UInt8(ascii: "0"), let type = SocketIOPacketType(rawValue: first &- UInt8(ascii: "0")) else {
            throw SocketIOError(.invalidPacket, "unknown packet type")
        }
        index = 1
        var attachments = 0
        if type == .binaryEvent || type == .binaryAck {
            let start = index
            while index < utf8.count, isDigit(utf8[index]), index - start < 6 { index += 1 }
            guard index > start, index < utf8.count, utf8[index] == UInt8(ascii: "-"),
                let count = Int(String(decoding: utf8[start..<index], as: UTF8.self))
            else {
                throw SocketIOError(.invalidPacket, "illegal attachments")
            }
            guard count <= maxAttachments else { throw SocketIOError(.tooManyAttachments, "\(count) > \(maxAttachments)") }
            attachments = count
            index += 1
        }
        var namespace = "/"
        if index < utf8.count, utf8[index] == UInt8(ascii: "/") {
            let start = index
            while index < utf8.count, utf8[index] != UInt8(ascii: ",") { index += 1 }
            namespace = String(decoding: utf8[start..<index], as: UTF8.self)
            if index < utf8.count { index += 1 }  // the comma
        }
        var id: Int?
        let idStart = index
        while index < utf8.count, isDigit(utf8[index]) {
            index += 1
            guard index - idStart <= 15 else { throw SocketIOError(.invalidPacket, "ack id too long") }
        }
        if index > idStart { id = Int(String(decoding: utf8[idStart..<index], as: UTF8.self)) }
        var data: SocketIOValue?
        if index < utf8.count {
            data = try SocketIOJSON.parse(String(decoding: utf8[index...], as: UTF8.self), maxDepth: maxDepth)
        }
        let packet = SocketIOPacket(type, namespace: namespace, id: id, data: data)
        guard isPayloadValid(packet) else { throw SocketIOError(.invalidPayload, "invalid payload for \(type)") }
        if attachments == 0, type == .binaryEvent || type == .binaryAck {
            // `50-` is legal but carries nothing binary; treat as the plain type.
            return (SocketIOPacket(type == .binaryEvent ? .event : .ack, namespace: namespace, id: id, data: data), 0)
        }
        return (packet, attachments)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func isPayloadValid(_ packet: SocketIOPacket) -> Bool {
        switch packet.type {
        case .connect:
            return packet.data == nil || packet.data!.isObject
        case .disconnect:
            return packet.data == nil
        case .connectError:
            guard let data = packet.data else { return false }
            if case .string = data { return true }
            return data.isObject
        case .event, .binaryEvent:
            guard case .array(let items) = packet.data, let first = items.first else { return false }
            switch first {
            case .string(let name): return !reservedEvents.contains(name)
            case .int, .double: return true
            default: return false
            }
        case .ack, .binaryAck:
            guard case .array = packet.data else { return false }
            return packet.id != nil
        }
    }
}
