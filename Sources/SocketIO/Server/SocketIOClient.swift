import CoreMetrics
import EngineIO
import Logging
import NIOCore
import Synchronization

/// One Engine.IO session seen from Socket.IO: the packet decoder, the sockets of each
/// namespace, and a mailbox that runs this client's application code one job at a time,
/// in arrival order (acks from the client bypass it, so a handler may await one).
final class SocketIOClient: Sendable {
    struct State: Sendable {
        var decoder: SocketIOPacketDecoder
        var sockets: [String: SocketIOSocket] = [:]
        var connecting: Set<String> = []
        /// Jobs not started yet, in arrival order (an array: nothing allocated while idle).
        var mailbox: [SocketIOCore.Job] = []
        var draining = false
        var closed = false
        var transport: EngineIOTransport

        /// A namespace finished connecting (or failed to); frees the set once empty.
        mutating func connectingEnded(_ namespace: String) {
            connecting.remove(namespace)
            if connecting.isEmpty { connecting = [] }
        }
    }

    let session: EngineIOSession
    unowned let core: SocketIOCore
    private let state: Mutex<State>

    init(session: EngineIOSession, core: SocketIOCore) {
        self.session = session
        self.core = core
        self.state = Mutex(
            State(decoder: SocketIOPacketDecoder(maxAttachments: core.configuration.maxAttachments), transport: session.initialTransport)
        )
    }

    var transport: EngineIOTransport { state.withLock { $0.transport } }

    func upgraded() { state.withLock { $0.transport = .websocket } }

    // MARK: Inbound

    func receive(_ message: EngineIOData) {
        switch message {
        case .text(let text): core.metrics.bytesIn.increment(by: text.utf8.count)
        case .binary(let bytes): core.metrics.bytesIn.increment(by: bytes.readableBytes)
        }
        let decoded = state.withLock { state -> Result<SocketIOPacket?, SocketIOError> in
            do throws(SocketIOError) {
                return .success(try state.decoder.decode(message))
            } catch {
                return .failure(error)
            }
        }
        switch decoded {
        case .failure(let error):
            core.logger.info("invalid packet, closing client", metadata: ["sid": "\(session.id)", "error": "\(error)"])
            session.close(.parseError)
        case .success(nil):
            break
        case .success(let packet?):
            core.metrics.packetsIn.increment()
            handle(packet)
        }
    }

    private func handle(_ packet: SocketIOPacket) {
        switch packet.type {
        case .connect:
            let start = state.withLock { state -> Bool in
                guard !state.closed, state.sockets[packet.namespace] == nil, !state.connecting.contains(packet.namespace) else { return false }
                state.connecting.insert(packet.namespace)
                return true
            }
            guard start else { return }
            let auth = packet.data ?? .emptyObject
            enqueue { await self.connect(namespace: packet.namespace, auth: auth) }
        case .disconnect:
            guard let socket = state.withLock({ $0.sockets.removeValue(forKey: packet.namespace) }) else { return }
            if socket.markDisconnected(.clientNamespaceDisconnect) {
                enqueue { await socket.runDisconnectHandlers(.clientNamespaceDisconnect) }
            }
        case .event, .binaryEvent:
            guard let socket = state.withLock({ $0.sockets[packet.namespace] }) else {
                // Ignore events for a namespace still connecting; anything else is a protocol error.
                if state.withLock({ $0.connecting.contains(packet.namespace) }) { return }
                core.logger.info("event for an unconnected namespace, closing client", metadata: ["sid": "\(session.id)"])
                session.close(.parseError)
                return
            }
            enqueue { await socket.dispatch(packet) }
        case .ack, .binaryAck:
            state.withLock { $0.sockets[packet.namespace] }?.resolveAck(packet)
        case .connectError:
            core.logger.info("client sent CONNECT_ERROR, closing", metadata: ["sid": "\(session.id)"])
            session.close(.parseError)
        }
    }

    // MARK: Mailbox

    func enqueue(_ job: @escaping SocketIOCore.Job) {
        let start = state.withLock { state -> Bool in
            state.mailbox.append(job)
            if state.draining { return false }
            state.draining = true
            return true
        }
        if start { core.submit { await self.drain() } }
    }

    private func drain() async {
        while true {
            let jobs = state.withLock { state -> [SocketIOCore.Job] in
                if state.mailbox.isEmpty { state.draining = false }
                defer { state.mailbox = [] }
                return state.mailbox
            }
            if jobs.isEmpty { return }
            for job in jobs { await job() }
        }
    }

    // MARK: Outbound

    func send(_ packet: SocketIOPacket) {
        let frames = packet.encode()
        core.metrics.sent(frames)
        session.send(frames)
    }

    func send(frames: [EngineIOFrame]) {
        session.send(frames)
    }

    // MARK: Namespaces

    private func connect(namespace name: String, auth: SocketIOValue) async {
        guard let namespace = core.existingNamespace(name) else {
            state.withLock { $0.connectingEnded(name) }
            send(SocketIOPacket(.connectError, namespace: name, data: .object(["message": "Invalid namespace"])))
            return
        }
        guard auth.isObject else {
            state.withLock { $0.connectingEnded(name) }
            send(SocketIOPacket(.connectError, namespace: name, data: .object(["message": "Invalid auth payload"])))
            return
        }
        await namespace.connect(client: self, auth: auth)
    }

    /// Called by the namespace once middlewares passed; `false` when the client went away.
    func attach(_ socket: SocketIOSocket) -> Bool {
        state.withLock { state in
            state.connectingEnded(socket.namespace.name)
            guard !state.closed else { return false }
            state.sockets[socket.namespace.name] = socket
            return true
        }
    }

    func connectFailed(_ namespace: String) {
        state.withLock { $0.connectingEnded(namespace) }
    }

    func detach(_ socket: SocketIOSocket) {
        state.withLock { state in
            if state.sockets[socket.namespace.name] === socket { state.sockets[socket.namespace.name] = nil }
        }
    }

    var connectedSockets: [SocketIOSocket] { state.withLock { Array($0.sockets.values) } }

    /// Server-side close: every socket gets DISCONNECT, then the session closes once written.
    func disconnectAll() {
        let sockets = state.withLock { state in
            defer { state.sockets = [:] }
            return Array(state.sockets.values)
        }
        for socket in sockets {
            send(SocketIOPacket(.disconnect, namespace: socket.namespace.name))
            if socket.markDisconnected(.serverNamespaceDisconnect) {
                enqueue { await socket.runDisconnectHandlers(.serverNamespaceDisconnect) }
            }
        }
        session.closeAfterFlush(.forcedClose)
    }

    func closed(reason: SocketIODisconnectReason) {
        let sockets = state.withLock { state in
            state.closed = true
            defer { state.sockets = [:] }
            return Array(state.sockets.values)
        }
        for socket in sockets where socket.markDisconnected(reason) {
            enqueue { await socket.runDisconnectHandlers(reason) }
        }
    }
}
