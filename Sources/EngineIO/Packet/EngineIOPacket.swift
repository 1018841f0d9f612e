public import NIOCore

/// The seven Engine.IO v4 packet types, by their wire digit.
public enum EngineIOPacketType: UInt8, Sendable, Hashable, CaseIterable {
    case open = 0
    case close = 1
    case ping = 2
    case pong = 3
    case message = 4
    case upgrade = 5
    case noop = 6

    /// The ASCII digit that starts a text-encoded packet.
    @inlinable
    public var digit: UInt8 { UInt8(ascii: "0") + self.rawValue }
}

/// The data an Engine.IO packet carries: text, or raw bytes (only `message` packets carry bytes).
public enum EngineIOData: Sendable, Hashable {
    case text(String)
    case binary(ByteBuffer)
}

/// One Engine.IO packet: a type and optional data.
///
/// On the wire a text packet is its type digit followed by its text; a binary packet is a
/// `message` whose bytes travel in a binary WebSocket frame, or as `b` + base64 in polling.
public struct EngineIOPacket: Sendable, Hashable {
    public var type: EngineIOPacketType
    public var data: EngineIOData?

    public init(_ type: EngineIOPacketType, _ data: EngineIOData? = nil) {
        self.type = type
        self.data = data
    }

    /// A `message` packet carrying text.
    public static func message(_ text: String) -> Self { .init(.message, .text(text)) }
    /// A `message` packet carrying bytes.
    public static func message(_ bytes: ByteBuffer) -> Self { .init(.message, .binary(bytes)) }
    public static let ping = Self(.ping)
    public static let pong = Self(.pong)
    public static let noop = Self(.noop)
    public static let close = Self(.close)
    public static let upgrade = Self(.upgrade)
}

/// A packet already encoded for a WebSocket frame, so one broadcast is encoded once and the
/// same buffer (copy-on-write, never copied) is queued on every recipient's session.
public enum EngineIOFrame: Sendable, Hashable {
    /// UTF-8 text including the leading type digit, e.g. `4hello`.
    case text(ByteBuffer)
    /// Raw bytes of a binary `message` packet.
    case binary(ByteBuffer)

    /// Bytes this frame occupies in a session's outbound buffer.
    @inlinable
    public var byteCount: Int {
        switch self {
        case .text(let b), .binary(let b): b.readableBytes
        }
    }
}
