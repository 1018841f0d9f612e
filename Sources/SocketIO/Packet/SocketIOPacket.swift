public import EngineIO
import NIOCore

/// The seven Socket.IO v5 packet types, by their wire digit.
public enum SocketIOPacketType: UInt8, Sendable, Hashable, CaseIterable, Codable {
    case connect = 0
    case disconnect = 1
    case event = 2
    case ack = 3
    case connectError = 4
    case binaryEvent = 5
    case binaryAck = 6
}

/// One Socket.IO packet: `type[attachments-][/namespace,][ackId][JSON]`.
///
/// Binary values live inline in ``data`` (as ``SocketIOValue/binary(_:)``); encoding turns
/// them into placeholders plus attachments, decoding puts them back.
public struct SocketIOPacket: Sendable, Hashable {
    public var type: SocketIOPacketType
    /// The namespace, `/` for the main one.
    public var namespace: String
    /// The acknowledgement id, when one is requested or answered.
    public var id: Int?
    public var data: SocketIOValue?

    public init(_ type: SocketIOPacketType, namespace: String = "/", id: Int? = nil, data: SocketIOValue? = nil) {
        self.type = type
        self.namespace = namespace
        self.id = id
        self.data = data
    }

    /// An EVENT with the event name first.
    public static func event(_ name: String, _ args: [SocketIOValue], namespace: String = "/", id: Int? = nil) -> Self {
        .init(.event, namespace: namespace, id: id, data: .array([.string(name)] + args))
    }

    /// The event name of an EVENT packet.
    public var eventName: String? {
        guard type == .event || type == .binaryEvent, case .array(let items) = data, case .string(let name) = items.first else {
            return nil
        }
        return name
    }

    /// The arguments of an EVENT (after the name) or ACK packet.
    public var arguments: [SocketIOValue] {
        guard case .array(let items) = data else { return [] }
        switch type {
        case .event, .binaryEvent: return Array(items.dropFirst())
        default: return items
        }
    }
}

extension SocketIOPacket {
    /// Encodes into Engine.IO frames: one text `message` frame, then one binary frame per
    /// attachment. EVENT/ACK become BINARY_EVENT/BINARY_ACK when there is binary data.
    public func encode() -> [EngineIOFrame] {
        var attachments: [ByteBuffer] = []
        let data = self.data.map { Self.extractAttachments($0, into: &attachments) }
        var type = self.type
        if !attachments.isEmpty {
            if type == .event { type = .binaryEvent }
            if type == .ack { type = .binaryAck }
        } else {
            if type == .binaryEvent { type = .event }
            if type == .binaryAck { type = .ack }
        }
        var text = "4"
        text.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "0") + type.rawValue))
        if !attachments.isEmpty { text += "\(attachments.count)-" }
        if namespace != "/" { text += namespace + "," }
        if let id { text += String(id) }
        if let data { SocketIOJSON.write(data, into: &text) }
        var frames: [EngineIOFrame] = [.text(ByteBuffer(string: text))]
        for attachment in attachments { frames.append(.binary(attachment)) }
        return frames
    }

    /// The packet as Socket.IO text (without the Engine.IO `4`), for logs and tests.
    public var encodedText: String {
        guard case .text(var buffer) = encode()[0] else { return "" }
        buffer.moveReaderIndex(forwardBy: 1)
        return String(buffer: buffer)
    }

    static func extractAttachments(_ value: SocketIOValue, into attachments: inout [ByteBuffer]) -> SocketIOValue {
        switch value {
        case .binary(let bytes):
            attachments.append(bytes)
            return .object([.init("_placeholder", .bool(true)), .init("num", .int(Int64(attachments.count - 1)))])
        case .array(let items):
            guard value.containsBinary else { return value }
            return .array(items.map { extractAttachments($0, into: &attachments) })
        case .object(let fields):
            guard value.containsBinary else { return value }
            return .object(fields.map { .init($0.key, extractAttachments($0.value, into: &attachments)) })
        default:
            return value
        }
    }
}
