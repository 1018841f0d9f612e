public import NIOCore
import Synchronization

/// Writes frames to one WebSocket; implemented by the HTTP binding.
public protocol EngineIOWebSocketWriter: Sendable {
    /// Writes the frames in order; throws when the connection is gone.
    func write(_ frames: [EngineIOFrame]) async throws
}

/// An Engine.IO v4 server without HTTP: it owns the sessions, answers polling requests,
/// serves WebSocket connections and runs the heartbeat. An HTTP binding (SocketIOHummingbird)
/// turns requests into calls here; ``run()`` must run for heartbeats to happen.
public final class EngineIOServer: Sendable {
    public let configuration: EngineIOConfiguration
    let handler: any EngineIOHandler
    let tick: Duration
    private let sessions = Mutex<[String: EngineIOSession]>([:])
    private let timers = Mutex(EngineIOTimerQueue())
    private let clock = ContinuousClock()
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

    /// WebSocket connections being served right now (each holds a few tasks).
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

    /// Serves one upgraded WebSocket until it or its session ends: a new session, or the
    /// probe-and-upgrade of an existing polling session. Returns when the socket should close.
    public func serveWebSocket<Inbound: AsyncSequence & Sendable, Writer: EngineIOWebSocketWriter>(
        request: EngineIORequest,
        inbound: Inbound,
        writer: Writer
    ) async where Inbound.Element == EngineIOData {
        webSocketConnections.withLock { $0 += 1 }
        defer { webSocketConnections.withLock { $0 -= 1 } }
        guard let route = try? EngineIORoute.resolve(method: .get, query: request.query, transports: configuration.transports) else { return }
        switch route {
        case .handshake(.websocket):
            let session = openSession(request: request, transport: .websocket)
            let open = openPacket(for: session, upgrades: [])
            await runWebSocket(session, probe: false, first: [open.encodeFrame()], inbound: inbound, writer: writer)
        case .session(let sid, .websocket):
            // Only a polling session may be upgraded; a second WebSocket is closed at once.
            guard let session = session(id: sid), session.locked.withLock({ $0.machine.state == .polling }) else { return }
            await runWebSocket(session, probe: true, first: [], inbound: inbound, writer: writer)
        default:
            return
        }
    }

    private func runWebSocket<Inbound: AsyncSequence & Sendable, Writer: EngineIOWebSocketWriter>(
        _ session: EngineIOSession,
        probe: Bool,
        first: [EngineIOFrame],
        inbound: Inbound,
        writer: Writer
    ) async where Inbound.Element == EngineIOData {
        let (activation, activate) = AsyncStream<Void>.makeStream()
        if !probe { activate.finish() }
        // Two child tasks per connection; the handler's own task waits for the first end:
        // either loop finishing, or the session closing (server side: timeout, forced close).
        let end = EngineIOConnectionEnd()
        session.onClose { end.fire() }
        await withTaskGroup(of: EngineIOConnectionRole.self) { group in
            group.addTask {
                await Self.writeLoop(session, probe: probe, first: first, activation: activation, writer: writer)
                end.fire()
                return .writer
            }
            group.addTask {
                await self.readLoop(session, probe: probe, activate: activate, inbound: inbound, writer: writer)
                end.fire()
                return .reader
            }
            await end.wait()
            if session.isClosed {
                // Let the writer flush its last frames (a DISCONNECT, say), but never wait on a
                // slow client for more than a grace period.
                group.addTask {
                    try? await Task.sleep(for: .seconds(2))
                    return .grace
                }
                while let role = await group.next(), role == .reader {}
            }
            group.cancelAll()
        }
    }

    private static func writeLoop<Writer: EngineIOWebSocketWriter>(
        _ session: EngineIOSession,
        probe: Bool,
        first: [EngineIOFrame],
        activation: AsyncStream<Void>,
        writer: Writer
    ) async {
        if probe {
            var upgraded = false
            for await _ in activation {
                upgraded = true
                break
            }
            guard upgraded else { return }
        }
        do {
            if !first.isEmpty { try await writer.write(first) }
            while !Task.isCancelled {
                switch await session.pull({ $0.webSocketPull() }) {
                case .frames(let frames):
                    if !frames.isEmpty { try await writer.write(frames) }
                case .finish(let frames, _):
                    if !frames.isEmpty { try await writer.write(frames) }
                    return
                case .reject, .wait:
                    return
                }
            }
        } catch {
            session.close(.transportError)
        }
    }

    private func readLoop<Inbound: AsyncSequence & Sendable, Writer: EngineIOWebSocketWriter>(
        _ session: EngineIOSession,
        probe: Bool,
        activate: AsyncStream<Void>.Continuation,
        inbound: Inbound,
        writer: Writer
    ) async where Inbound.Element == EngineIOData {
        var upgraded = !probe
        var probed = false
        defer {
            if upgraded { session.close(.transportClose) } else { session.upgradeAborted() }
            activate.finish()
        }
        do {
            for try await message in inbound {
                let packet: EngineIOPacket
                switch message {
                case .text(let text):
                    guard let decoded = try? EngineIOPacket.decode(text: text) else {
                        if upgraded { session.close(.parseError) }
                        return
                    }
                    packet = decoded
                case .binary(let bytes):
                    packet = .message(bytes)
                }
                if upgraded {
                    let now = clock.now
                    session.apply { $0.webSocketReceived(packet, now: now) }
                    if session.isClosed { return }
                    continue
                }
                // Probe phase: `2probe`, answered `3probe`, then `5`.
                if !probed, packet.type == .ping, packet.data == .text("probe") {
                    guard session.probe(now: clock.now) else { return }
                    probed = true
                    try await writer.write([EngineIOPacket(.pong, .text("probe")).encodeFrame()])
                } else if probed, packet.type == .upgrade {
                    guard session.upgrade() else { return }
                    upgraded = true
                    handler.engineIOSessionDidUpgrade(session)
                    activate.yield()
                    activate.finish()
                } else if probed, packet.type == .noop {
                    continue
                } else {
                    return
                }
            }
        } catch {
            // The connection failed; the defer closes or aborts.
        }
    }
}

/// Which child of a WebSocket connection finished.
enum EngineIOConnectionRole: Sendable { case writer, reader, grace }

/// Fires once, waking the one task waiting for it.
final class EngineIOConnectionEnd: Sendable {
    private let state = Mutex<(fired: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.fired else { return nil }
            state.fired = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.fired { return true }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}
