public import NIOCore
import Synchronization

/// An Engine.IO v4 server without HTTP: it owns the sessions, answers polling requests,
/// serves WebSocket connections and runs the heartbeat. An HTTP binding (SocketIOHummingbird)
/// turns requests into calls here; ``run()`` must run for heartbeats to happen.
public final class EngineIOServer: Sendable {
    public let configuration: EngineIOConfiguration
    let handler: any EngineIOHandler
    let tick: Duration
    private let sessions = Mutex<[String: EngineIOSession]>([:])
    private let timers = Mutex(EngineIOTimerQueue())
    let clock = ContinuousClock()
    private let webSocketConnections = Mutex(0)

    /// - Parameters:
    ///   - tick: how often the heartbeat loop looks for due timers; deadlines are also checked
    ///     when a request arrives, so a late tick never lets a dead session answer.
    public init(configuration: EngineIOConfiguration, handler: any EngineIOHandler, tick: Duration = .milliseconds(10)) {
        self.configuration = configuration
        self.handler = handler
        self.tick = tick
    }

    /// Open sessions.
    public var sessionCount: Int { sessions.withLock { $0.count } }

    /// Entries in the heartbeat queue (one per open session, plus closed ones not yet popped).
    public var timerCount: Int { timers.withLock { $0.count } }

    /// WebSocket connections open right now (sessions and upgrade probes).
    public var activeWebSocketConnections: Int { webSocketConnections.withLock { $0 } }

    /// The open session with this id.
    public func session(id: String) -> EngineIOSession? { sessions.withLock { $0[id] } }

    /// A snapshot of the open sessions.
    public var allSessions: [EngineIOSession] { sessions.withLock { Array($0.values) } }

    // MARK: Sessions

    func openSession(request: EngineIORequest, transport: EngineIOTransport) -> EngineIOSession {
        let now = clock.now
        var session: EngineIOSession
        repeat {
            session = EngineIOSession(id: Self.makeSessionID(), request: request, transport: transport, server: self, now: now)
        } while !sessions.withLock { sessions in
            guard sessions[session.id] == nil else { return false }
            sessions[session.id] = session
            return true
        }
        if let deadline = session.locked.withLock({ $0.machine.nextDeadline }) {
            timers.withLock { $0.insert(session, at: deadline) }
        }
        handler.engineIOSessionDidOpen(session)
        return session
    }

    func sessionClosed(_ session: EngineIOSession, reason: EngineIOCloseReason) {
        sessions.withLock { sessions in
            if sessions[session.id] === session { sessions[session.id] = nil }
        }
        handler.engineIOSessionDidClose(session, reason: reason)
    }

    func openPacket(for session: EngineIOSession, upgrades: [String]) -> EngineIOPacket {
        let upgradeList = upgrades.map { "\"\($0)\"" }.joined(separator: ",")
        let json =
            "{\"sid\":\"\(session.id)\",\"upgrades\":[\(upgradeList)],\"pingInterval\":\(configuration.pingInterval.engineIOMilliseconds),\"pingTimeout\":\(configuration.pingTimeout.engineIOMilliseconds),\"maxPayload\":\(configuration.maxPayload)}"
        return EngineIOPacket(.open, .text(json))
    }

    /// A random 20-character URL-safe id (used for Engine.IO sessions and Socket.IO sockets).
    public static func makeSessionID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        for _ in 0..<20 { bytes.append(alphabet[Int(generator.next() & 63)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Closes every session (used at shutdown).
    public func closeAll(_ reason: EngineIOCloseReason = .serverShuttingDown) {
        for session in allSessions { session.close(reason) }
    }

    // MARK: Heartbeat

    /// Runs heartbeats and timeouts until cancelled, then closes every session with
    /// "server shutting down".
    public func run() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: tick) } catch { break }
            fireTimers(now: clock.now)
        }
        closeAll(.serverShuttingDown)
        timers.withLock { $0.removeAll() }
    }

    func fireTimers(now: ContinuousClock.Instant) {
        let due = timers.withLock { $0.popDue(now: now) }
        for session in due {
            if let next = session.fireTimer(now: now) {
                timers.withLock { $0.insert(session, at: next) }
            }
        }
    }

    // MARK: Polling

    /// Answers one long-polling (or malformed) HTTP request.
    public func handleHTTP(method: EngineIOHTTPMethod, request: EngineIORequest, body: ByteBuffer) async -> EngineIOHTTPResponse {
        let route: EngineIORoute
        do {
            route = try EngineIORoute.resolve(method: method, query: request.query, transports: configuration.transports)
        } catch {
            return .error(error)
        }
        switch route {
        case .handshake(.polling):
            let session = openSession(request: request, transport: .polling)
            let open = openPacket(for: session, upgrades: configuration.transports.contains(.websocket) ? ["websocket"] : [])
            return .init(status: 200, body: EngineIOPayload.encode([open.encodeFrame()]))
        case .handshake(.websocket), .session(_, .websocket):
            // A WebSocket route reached as plain HTTP: the upgrade headers were missing.
            return .error(EngineIOError(.badRequest, "expected a WebSocket upgrade"))
        case .session(let sid, .polling):
            guard let session = session(id: sid) else { return .error(EngineIOError(.unknownSession, sid)) }
            switch method {
            case .get: return await poll(session)
            case .post: return post(session, body: body)
            case .other: return .error(EngineIOError(.badRequest, "method"))
            }
        }
    }

    private func poll(_ session: EngineIOSession) async -> EngineIOHTTPResponse {
        let now = clock.now
        let result = await session.pull { $0.pollRequested(now: now) }
        switch result {
        case .frames(let frames), .finish(let frames, _):
            return .init(status: 200, body: EngineIOPayload.encode(frames))
        case .reject(let error, _, _):
            return .error(error)
        case .wait:
            return .error(EngineIOError(.badRequest))
        }
    }

    private func post(_ session: EngineIOSession, body: ByteBuffer) -> EngineIOHTTPResponse {
        guard session.transport == .polling else { return .error(EngineIOError(.badRequest, "session not polling")) }
        let packets: [EngineIOPacket]
        do {
            packets = try EngineIOPayload.decode(body, maxPayload: configuration.maxPayload)
        } catch {
            session.apply { $0.postRejected(error) }
            if error.code == .payloadTooLarge {
                return .init(status: 413, contentType: "application/json", body: ByteBuffer(string: error.protocolBody))
            }
            return .error(error)
        }
        let now = clock.now
        session.apply { $0.postReceived(packets, now: now) }
        return .init(status: 200, body: ByteBuffer(string: "ok"))
    }

    // MARK: WebSocket

    /// Decides whether a WebSocket upgrade request may proceed: a handshake, or a known sid.
    public func validateWebSocket(request: EngineIORequest) -> EngineIOError? {
        do {
            switch try EngineIORoute.resolve(method: .get, query: request.query, transports: configuration.transports) {
            case .handshake(.websocket): return nil
            case .session(let sid, .websocket):
                return session(id: sid) == nil ? EngineIOError(.unknownSession, sid) : nil
            default: return EngineIOError(.badRequest, "not a WebSocket request")
            }
        } catch {
            return error
        }
    }

    /// Accepts an upgraded WebSocket: a new session (`transport=websocket` without `sid`),
    /// or the probe of a polling session (one at a time). Returns the connection and what to
    /// write first (a new session's OPEN packet; nothing for a probe), or `nil` when the
    /// request may not proceed now: the binding then closes the socket.
    public func openWebSocket(
        request: EngineIORequest,
        sink: any EngineIOWebSocketSink
    ) -> (connection: EngineIOWebSocketConnection, greeting: [EngineIOFrame])? {
        guard let route = try? EngineIORoute.resolve(method: .get, query: request.query, transports: configuration.transports) else { return nil }
        let opened: (connection: EngineIOWebSocketConnection, greeting: [EngineIOFrame])
        switch route {
        case .handshake(.websocket):
            let session = openSession(request: request, transport: .websocket)
            _ = session.attach(sink, probing: false)
            let open = openPacket(for: session, upgrades: [])
            opened = (EngineIOWebSocketConnection(session: session, sink: sink, probing: false), [open.encodeFrame()])
        case .session(let sid, .websocket):
            guard let session = session(id: sid), session.attach(sink, probing: true) else { return nil }
            opened = (EngineIOWebSocketConnection(session: session, sink: sink, probing: true), [])
        default:
            return nil
        }
        webSocketConnections.withLock { $0 += 1 }
        return opened
    }

    func webSocketClosed() {
        webSocketConnections.withLock { $0 -= 1 }
    }
}
