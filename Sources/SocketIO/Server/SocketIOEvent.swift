/// An event received from a client.
public struct SocketIOEvent: Sendable {
    /// The event name.
    public let name: String
    /// The arguments after the name, binary inline.
    public let arguments: [SocketIOValue]
    /// Present when the client asked for an acknowledgement.
    public let ack: SocketIOAck?
    /// The socket it arrived on.
    public let socket: SocketIOSocket

    /// Decodes argument `index` (default the first) into a Codable type.
    public func argument<T: Decodable>(_ index: Int = 0, as type: T.Type = T.self) throws(SocketIOError) -> T {
        guard arguments.indices.contains(index) else { throw SocketIOError(.decodingFailed, "no argument \(index)") }
        return try arguments[index].decode(as: T.self)
    }
}

/// Answers a client's acknowledgement request. Only the first answer reaches the client's
/// callback; later ones are ignored by it.
public struct SocketIOAck: Sendable {
    let socket: SocketIOSocket
    /// The ack id from the EVENT packet.
    public let id: Int

    /// Sends the acknowledgement with these arguments.
    public func send(_ arguments: SocketIOValue...) {
        send(arguments: arguments)
    }

    /// Sends the acknowledgement with these arguments.
    public func send(arguments: [SocketIOValue]) {
        socket.client.send(SocketIOPacket(.ack, namespace: socket.namespace.name, id: id, data: .array(arguments)))
    }

    /// Sends one Codable value as the acknowledgement.
    public func send<T: Encodable>(encoding value: T) throws(SocketIOError) {
        send(arguments: [try SocketIOValue(encoding: value)])
    }
}
