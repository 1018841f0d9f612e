public import EngineIO
import Logging
import Synchronization

/// What the client presented when it connected.
public struct SocketIOHandshake: Sendable {
    /// The CONNECT packet's `auth` payload (`{}` when none).
    public let auth: SocketIOValue
    /// HTTP headers of the request that opened the Engine.IO session (names lower-cased).
    public let headers: [String: String]
    /// Query parameters of that request.
    public let query: [String: String]
    /// The peer address, when known.
    public let address: String?
}

/// A client connected to one namespace.
///
/// Handlers registered with ``on(_:_:)`` run one at a time per client, in arrival order,
/// as child tasks of ``SocketIOServer/run()``. Emitting is synchronous and may be called
/// from any task.
public final class SocketIOSocket: Sendable {
    /// An event handler; throwing logs the error.
    public typealias EventHandler = @Sendable (SocketIOEvent) async throws -> Void
    /// A disconnect handler.
    public typealias DisconnectHandler = @Sendable (SocketIODisconnectReason) async -> Void

    struct State: Sendable {
        var handlers: [String: EventHandler] = [:]
        var anyHandler: EventHandler?
        var disconnectHandlers: [DisconnectHandler] = []
        var pendingAcks: [Int: CheckedContinuation<[SocketIOValue], any Error>] = [:]
        var nextAckID = 0
        var connected = true
        var data: SocketIOValue
    }

    /// The socket id (also a room containing only this socket).
    public let id: String
    /// The private session id used for recovery (`nil` when recovery is off).
    public let pid: String?
    /// Whether this socket resumed a previous session (recovery).
    public let recovered: Bool
    /// The namespace.
    public let namespace: SocketIONamespace
    /// The handshake.
    public let handshake: SocketIOHandshake
    let client: SocketIOClient
    private let state: Mutex<State>

    init(namespace: SocketIONamespace, client: SocketIOClient, auth: SocketIOValue, restored: SocketIOSessionSnapshot?) {
        self.namespace = namespace
        self.client = client
        let request = client.session.request
        self.handshake = SocketIOHandshake(auth: auth, headers: request.headers, query: request.query, address: request.remoteAddress)
        if let restored {
            self.id = restored.sid
            self.pid = restored.pid
            self.recovered = true
            self.state = Mutex(State(data: restored.data))
        } else {
            self.id = EngineIOServer.makeSessionID()
            self.pid = namespace.core.configuration.connectionStateRecovery == nil ? nil : EngineIOServer.makeSessionID()
            self.recovered = false
            self.state = Mutex(State(data: .null))
        }
    }

    /// Application data kept with the socket (and restored with it on recovery).
    public var data: SocketIOValue {
        get { state.withLock { $0.data } }
        set { state.withLock { $0.data = newValue } }
    }

    /// Whether the socket is still connected.
    public var connected: Bool { state.withLock { $0.connected } }

    /// The id of the Engine.IO session carrying this socket (one per connection).
    public var engineSessionID: String { client.session.id }

    /// The Engine.IO transport in use.
    public var transport: EngineIOTransport? { client.session.transport }

    // MARK: Handlers

    /// Handles an event; the handler gets the raw arguments and the ack, if requested.
    public func on(_ event: String, _ handler: @escaping EventHandler) {
        state.withLock { $0.handlers[event] = handler }
    }

    /// Handles events that have no specific handler.
    public func onAny(_ handler: @escaping EventHandler) {
        state.withLock { $0.anyHandler = handler }
    }

    /// Runs when the socket leaves the namespace, with the reason.
    public func onDisconnect(_ handler: @escaping DisconnectHandler) {
        state.withLock { $0.disconnectHandlers.append(handler) }
    }

    func dispatch(_ packet: SocketIOPacket) async {
        guard case .array(let items) = packet.data, let first = items.first else { return }
        let name: String
        switch first {
        case .string(let string): name = string
        default: name = SocketIOJSON.serialize(first)
        }
        let handler = state.withLock { $0.handlers[name] ?? $0.anyHandler }
        guard let handler else { return }
        let event = SocketIOEvent(
            name: name,
            arguments: Array(items.dropFirst()),
            ack: packet.id.map { SocketIOAck(socket: self, id: $0) },
            socket: self
        )
        do {
            try await handler(event)
        } catch {
            namespace.core.logger.warning(
                "event handler failed",
                metadata: ["event": "\(name)", "socket": "\(id)", "error": "\(error)"]
            )
        }
    }

    // MARK: Emitting

    /// Sends an event to this client.
    public func emit(_ event: String, _ arguments: SocketIOValue...) {
        emit(event, arguments: arguments)
    }

    /// Sends an event to this client.
    public func emit(_ event: String, arguments: [SocketIOValue]) {
        client.send(.event(event, arguments, namespace: namespace.name))
    }

    /// Sends an event with one Codable argument.
    public func emit<T: Encodable>(_ event: String, encoding value: T) throws(SocketIOError) {
        emit(event, arguments: [try SocketIOValue(encoding: value)])
    }

    /// Sends an event and waits for the client's acknowledgement.
    ///
    /// - Throws: ``SocketIOError`` `.ackTimeout` after `timeout`, `.disconnected` when the
    ///   socket goes first, `CancellationError` when the task is cancelled.
    public func emitWithAck(_ event: String, _ arguments: SocketIOValue..., timeout: Duration) async throws -> [SocketIOValue] {
        try await emitWithAck(event, arguments: arguments, timeout: timeout)
    }

    /// Sends an event and waits for the acknowledgement (see the variadic form).
    public func emitWithAck(_ event: String, arguments: [SocketIOValue], timeout: Duration) async throws -> [SocketIOValue] {
        let id = state.withLock { state -> Int? in
            guard state.connected else { return nil }
            defer { state.nextAckID += 1 }
            return state.nextAckID
        }
        guard let id else { throw SocketIOError(.disconnected) }
        return try await withThrowingTaskGroup(of: [SocketIOValue].self) { group in
            group.addTask {
                try await withTaskCancellationHandler {
                    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[SocketIOValue], any Error>) in
                        let registered = self.state.withLock { state -> Bool in
                            guard state.connected, !Task.isCancelled else { return false }
                            state.pendingAcks[id] = continuation
                            return true
                        }
                        if registered {
                            self.client.send(.event(event, arguments, namespace: self.namespace.name, id: id))
                        } else {
                            continuation.resume(throwing: Task.isCancelled ? CancellationError() : SocketIOError(.disconnected))
                        }
                    }
                } onCancel: {
                    self.state.withLock { $0.pendingAcks.removeValue(forKey: id) }?.resume(throwing: CancellationError())
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw SocketIOError(.ackTimeout, "\(event) after \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// Sends an event and decodes the acknowledgement's first argument.
    public func emitWithAck<R: Decodable>(
        _ event: String,
        _ arguments: SocketIOValue...,
        timeout: Duration,
        as type: R.Type
    ) async throws -> R {
        let reply = try await emitWithAck(event, arguments: arguments, timeout: timeout)
        guard let first = reply.first else { throw SocketIOError(.decodingFailed, "empty acknowledgement") }
        return try first.decode(as: R.self)
    }

    func resolveAck(_ packet: SocketIOPacket) {
        guard let id = packet.id else { return }
        state.withLock { $0.pendingAcks.removeValue(forKey: id) }?.resume(returning: packet.arguments)
    }

    // MARK: Rooms

    /// Joins rooms.
    public func join(_ rooms: String...) { namespace.adapter.addAll(id, to: Set(rooms)) }

    /// Joins rooms.
    public func join(_ rooms: some Sequence<String>) { namespace.adapter.addAll(id, to: Set(rooms)) }

    /// Leaves a room.
    public func leave(_ room: String) { namespace.adapter.delete(id, from: room) }

    /// The rooms this socket is in (its own id included).
    public var rooms: Set<String> { namespace.adapter.rooms(of: id) }

    /// Sockets in these rooms, this one excluded (socket.io's `socket.to(room)`).
    public func to(_ rooms: String...) -> SocketIOBroadcastOperator {
        SocketIOBroadcastOperator(namespace: namespace, options: .init(rooms: Set(rooms), except: [id]))
    }

    /// Every socket of the namespace but this one.
    public var broadcast: SocketIOBroadcastOperator {
        SocketIOBroadcastOperator(namespace: namespace, options: .init(except: [id]))
    }

    // MARK: Disconnecting

    /// Leaves the namespace (the client gets DISCONNECT); with `close`, closes the whole
    /// connection after every namespace got DISCONNECT.
    public func disconnect(close: Bool = false) {
        if close {
            client.disconnectAll()
            return
        }
        guard connected else { return }
        client.send(SocketIOPacket(.disconnect, namespace: namespace.name))
        client.detach(self)
        if markDisconnected(.serverNamespaceDisconnect) {
            client.enqueue { await self.runDisconnectHandlers(.serverNamespaceDisconnect) }
        }
    }

    /// Closes the underlying connection without DISCONNECT (like `socket.conn.close()`): the
    /// client reconnects and, with recovery on, gets this session back.
    public func closeTransport() {
        client.session.close(.forcedClose)
    }

    /// Marks the socket gone: rooms left, pending acks failed, session kept for recovery
    /// when the reason allows. Returns `false` if it already was.
    func markDisconnected(_ reason: SocketIODisconnectReason) -> Bool {
        let (wasConnected, acks, data) = state.withLock { state in
            guard state.connected else { return (false, [CheckedContinuation<[SocketIOValue], any Error>](), SocketIOValue.null) }
            state.connected = false
            defer { state.pendingAcks = [:] }
            return (true, Array(state.pendingAcks.values), state.data)
        }
        guard wasConnected else { return false }
        for ack in acks { ack.resume(throwing: SocketIOError(.disconnected)) }
        if let pid, reason.isRecoverable {
            let rooms = namespace.adapter.rooms(of: id)
            namespace.adapter.persistSession(SocketIOSessionSnapshot(sid: id, pid: pid, rooms: Array(rooms), data: data))
        }
        namespace.adapter.deleteAll(id)
        namespace.remove(self)
        return true
    }

    func runDisconnectHandlers(_ reason: SocketIODisconnectReason) async {
        let handlers = state.withLock { state in
            defer {
                state.disconnectHandlers = []
                state.handlers = [:]
                state.anyHandler = nil
            }
            return state.disconnectHandlers
        }
        for handler in handlers { await handler(reason) }
    }
}
