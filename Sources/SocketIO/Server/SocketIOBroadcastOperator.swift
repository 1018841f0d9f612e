/// A broadcast being targeted: `io.to("room").except("other").emit(...)`. A value; each
/// modifier returns a new one.
public struct SocketIOBroadcastOperator: Sendable {
    public let namespace: SocketIONamespace
    public var options: SocketIOBroadcastOptions

    init(namespace: SocketIONamespace, options: SocketIOBroadcastOptions = .init()) {
        self.namespace = namespace
        self.options = options
    }

    /// Adds target rooms.
    public func to(_ rooms: String...) -> Self { to(rooms) }

    /// Adds target rooms.
    public func to(_ rooms: some Sequence<String>) -> Self {
        var copy = self
        copy.options.rooms.formUnion(rooms)
        return copy
    }

    /// Excludes sockets in these rooms.
    public func except(_ rooms: String...) -> Self { except(rooms) }

    /// Excludes sockets in these rooms.
    public func except(_ rooms: some Sequence<String>) -> Self {
        var copy = self
        copy.options.except.formUnion(rooms)
        return copy
    }

    /// Not stored for recovery.
    public var volatile: Self {
        var copy = self
        copy.options.volatile = true
        return copy
    }

    /// Only this node's sockets.
    public var local: Self {
        var copy = self
        copy.options.local = true
        return copy
    }

    /// Emits the event to every target (encoded once).
    public func emit(_ event: String, _ arguments: SocketIOValue...) {
        emit(event, arguments: arguments)
    }

    /// Emits the event to every target (encoded once).
    public func emit(_ event: String, arguments: [SocketIOValue]) {
        namespace.adapter.broadcast(
            SocketIOBroadcast(packet: .event(event, arguments, namespace: namespace.name), options: options)
        )
    }

    /// Emits one Codable argument.
    public func emit<T: Encodable>(_ event: String, encoding value: T) throws(SocketIOError) {
        emit(event, arguments: [try SocketIOValue(encoding: value)])
    }

    /// Ids of the targeted sockets (on every node, through the adapter).
    public func socketIDs() async throws -> Set<String> {
        try await namespace.adapter.socketIDs(matching: options)
    }

    /// The targeted sockets on this node.
    public var localSockets: [SocketIOSocket] {
        namespace.adapter.localSocketIDs(matching: options).compactMap { namespace.socket(id: $0) }
    }

    /// Makes the targeted local sockets join rooms.
    public func join(_ rooms: String...) {
        for socket in localSockets { socket.join(rooms) }
    }

    /// Disconnects the targeted local sockets.
    public func disconnectSockets(close: Bool = false) {
        for socket in localSockets { socket.disconnect(close: close) }
    }
}
