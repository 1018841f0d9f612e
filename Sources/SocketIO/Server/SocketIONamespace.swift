import CoreMetrics
import EngineIO
import Logging
import Synchronization

/// A namespace (`/`, `/admin`…): its middlewares, connection handlers, sockets and adapter.
/// Every socket of a client in this namespace is one ``SocketIOSocket``.
public final class SocketIONamespace: Sendable {
    /// A middleware: throw ``SocketIOConnectError`` to refuse the connection with that
    /// message (and data); any other error refuses with its description.
    public typealias Middleware = @Sendable (SocketIOSocket) async throws -> Void
    /// Runs for each connected socket, after the CONNECT reply was queued.
    public typealias ConnectionHandler = @Sendable (SocketIOSocket) async -> Void

    struct State: Sendable {
        var middlewares: [Middleware] = []
        var connectionHandlers: [ConnectionHandler] = []
        var sockets: [String: SocketIOSocket] = [:]
    }

    /// The name, starting with `/`.
    public let name: String
    /// Rooms, broadcasts and recovery storage.
    public let adapter: any SocketIOAdapter
    unowned let core: SocketIOCore
    private let state = Mutex(State())

    init(name: String, core: SocketIOCore) {
        self.name = name
        self.core = core
        let recovery = core.configuration.connectionStateRecovery
        // The adapter delivers through a weak hop so it never keeps the namespace alive.
        let box = WeakNamespace()
        self.adapter = core.configuration.adapter(
            SocketIOAdapterContext(namespace: name, recovery: recovery) { packet, ids in box.value?.deliver(packet, to: ids) }
        )
        box.value = self
    }

    // MARK: Registration

    /// Adds a middleware; middlewares run in order for every new connection.
    public func use(_ middleware: @escaping Middleware) {
        state.withLock { $0.middlewares.append(middleware) }
    }

    /// Adds a handler for new connections (register the socket's event handlers here).
    public func onConnection(_ handler: @escaping ConnectionHandler) {
        state.withLock { $0.connectionHandlers.append(handler) }
    }

    // MARK: Sockets

    /// Sockets connected to this namespace on this server.
    public var sockets: [SocketIOSocket] { state.withLock { Array($0.sockets.values) } }

    /// How many sockets are connected here.
    public var socketCount: Int { state.withLock { $0.sockets.count } }

    /// The local socket with this id.
    public func socket(id: String) -> SocketIOSocket? { state.withLock { $0.sockets[id] } }

    // MARK: Broadcasting

    /// Every socket of the namespace.
    public var broadcast: SocketIOBroadcastOperator { SocketIOBroadcastOperator(namespace: self) }

    /// Sockets in any of these rooms.
    public func to(_ rooms: String...) -> SocketIOBroadcastOperator { broadcast.to(rooms) }

    /// Every socket except those in these rooms.
    public func except(_ rooms: String...) -> SocketIOBroadcastOperator { broadcast.except(rooms) }

    /// Emits to every socket of the namespace.
    public func emit(_ event: String, _ arguments: SocketIOValue...) {
        broadcast.emit(event, arguments: arguments)
    }

    /// Delivers an already targeted packet to local sockets: encoded once, queued on each.
    func deliver(_ packet: SocketIOPacket, to ids: [String]) {
        let frames = packet.encode()
        let targets = state.withLock { state in ids.compactMap { state.sockets[$0] } }
        core.metrics.sent(frames, recipients: targets.count)
        for socket in targets { socket.client.send(frames: frames) }
    }

    // MARK: Connection

    func connect(client: SocketIOClient, auth: SocketIOValue) async {
        var restored: SocketIORestoredSession?
        if let recovery = core.configuration.connectionStateRecovery,
            case .string(let pid) = auth["pid"], case .string(let offset) = auth["offset"]
        {
            _ = recovery
            restored = try? await adapter.restoreSession(pid: pid, offset: offset)
        }
        let socket = SocketIOSocket(namespace: self, client: client, auth: auth, restored: restored?.snapshot)
        let (middlewares, handlers) = state.withLock { ($0.middlewares, $0.connectionHandlers) }
        let skip = restored != nil && core.configuration.connectionStateRecovery?.skipMiddlewares == true
        if !skip {
            for middleware in middlewares {
                do {
                    try await middleware(socket)
                } catch {
                    client.connectFailed(name)
                    let refusal = error as? SocketIOConnectError ?? SocketIOConnectError("\(error)")
                    var fields: [SocketIOValue.Field] = [.init("message", .string(refusal.message))]
                    if let data = refusal.data { fields.append(.init("data", data)) }
                    client.send(SocketIOPacket(.connectError, namespace: name, data: .object(fields)))
                    return
                }
            }
        }
        guard client.attach(socket) else { return }
        state.withLock { $0.sockets[socket.id] = socket }
        adapter.addAll(socket.id, to: Set([socket.id] + (restored?.snapshot.rooms ?? [])))
        client.session.confirmConnected()
        var reply: [SocketIOValue.Field] = [.init("sid", .string(socket.id))]
        if let pid = socket.pid { reply.append(.init("pid", .string(pid))) }
        client.send(SocketIOPacket(.connect, namespace: name, data: .object(reply)))
        if let restored {
            core.metrics.recoveries.increment()
            for data in restored.missedPackets { client.send(SocketIOPacket(.event, namespace: name, data: data)) }
        }
        for handler in handlers { await handler(socket) }
    }

    func remove(_ socket: SocketIOSocket) {
        state.withLock { state in
            if state.sockets[socket.id] === socket { state.sockets[socket.id] = nil }
        }
    }
}

final class WeakNamespace: @unchecked Sendable {
    // Written once during init, before any delivery can happen; read-only afterwards.
    weak var value: SocketIONamespace?
}

/// Thrown by a middleware to refuse a connection: the client gets `connect_error` with
/// this message and data.
public struct SocketIOConnectError: Error, Sendable, Hashable {
    public var message: String
    public var data: SocketIOValue?

    public init(_ message: String, data: SocketIOValue? = nil) {
        self.message = message
        self.data = data
    }
}
